package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKcat produces and consumes with kcat (librdkafka) under every
// compression codec, checks the stored batches really carry that codec,
// and lists metadata.
func TestKcat(t *testing.T) {
	kcat := testenv.RequireBinary(t, "kcat")
	dir, addr := t.TempDir(), freeAddr(t)
	brokerLog := &procLog{}
	dumpOnFailure(t, "broker", brokerLog)
	b := startBroker(t, brokerLog, dir, addr)

	var input bytes.Buffer
	for i := range 2000 {
		fmt.Fprintf(&input, "key%d:value%d with some text\n", i, i)
	}
	inputFile := filepath.Join(t.TempDir(), "input.txt")
	require.NoError(t, os.WriteFile(inputFile, input.Bytes(), 0o644))

	codecs := []struct {
		name string
		id   int16 // low 3 bits of a RecordBatch's attributes
	}{{"none", 0}, {"gzip", 1}, {"snappy", 2}, {"lz4", 3}, {"zstd", 4}}
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			topic := "topic-" + c.name
			runKcat(t, kcat, "-P", "-b", addr, "-t", topic, "-K:", "-z", c.name,
				"-X", "enable.idempotence=false", "-l", inputFile)

			attrs := batchAttributes(t, filepath.Join(dir, topic+"-0", "00000000000000000000.log"))
			require.NotEmpty(t, attrs, "no batch stored")
			// librdkafka silently sends a codec uncompressed when it
			// believes the broker lacks it (lz4 needs FindCoordinator
			// advertised, its proxy for Kafka 0.8.2; zstd Produce v7 and
			// Fetch v10): then no batch carries the codec. It also sends a
			// batch uncompressed when compressing would not make it smaller
			// (a lone first record), so single batches may say none.
			compressed := 0
			for i, a := range attrs {
				require.Containsf(t, []int16{0, c.id}, a&7, "batch %d of %d: attributes %#04x, want codec %d (%s)", i, len(attrs), a, c.id, c.name)
				if a&7 == c.id {
					compressed++
				}
			}
			require.Positivef(t, compressed, "none of %d batches uses %s: librdkafka dropped the compression", len(attrs), c.name)
			t.Logf("%d batches stored, %d with codec %s", len(attrs), compressed, c.name)

			out := runKcat(t, kcat, "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-f", `%k:%s\n`)
			require.Equal(t, input.String(), out, "consumed lines differ from the produced file")
		})
	}

	out := runKcat(t, kcat, "-L", "-b", addr)
	assert.Contains(t, out, "broker 1 at "+addr)
	for _, c := range codecs {
		assert.Contains(t, out, fmt.Sprintf("topic \"topic-%s\" with 1 partitions", c.name))
	}
	b.terminate(t, 10*time.Second)
}

// kcatTimeout bounds one kcat run; each moves 2000 short lines.
const kcatTimeout = 15 * time.Second

// runKcat runs kcat with args, failing the test on a non-zero exit, and
// returns its stdout.
func runKcat(t *testing.T, kcat string, args ...string) string {
	t.Helper()
	cmd := exec.Command(kcat, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoErrorf(t, err, "kcat %s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
	case <-time.After(kcatTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("kcat %s did not finish within %s\nstdout: %d bytes\nstderr (last lines):\n%s",
			strings.Join(args, " "), kcatTimeout, stdout.Len(), lastLines(stderr.String(), 10))
	}
	return stdout.String()
}

// batchAttributes walks a segment file and returns each RecordBatch's
// attributes field. A batch is a 12-byte prefix (base offset int64, batch
// length int32) and batch length bytes; attributes is the int16 at byte 21.
func batchAttributes(t *testing.T, path string) []int16 {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var attrs []int16
	for pos := 0; pos < len(data); {
		require.GreaterOrEqualf(t, len(data)-pos, 23, "%s: truncated batch header at byte %d", path, pos)
		length := int(binary.BigEndian.Uint32(data[pos+8:]))
		require.LessOrEqualf(t, pos+12+length, len(data), "%s: batch at byte %d runs past the end", path, pos)
		require.Equalf(t, byte(2), data[pos+16], "%s: batch at byte %d: magic", path, pos)
		attrs = append(attrs, int16(binary.BigEndian.Uint16(data[pos+21:])))
		pos += 12 + length
	}
	return attrs
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
