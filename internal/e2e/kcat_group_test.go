package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKcatGroup reads a topic through kcat's balanced consumer (-G, that
// is librdkafka's consumer group), then reads again with the same group
// after more lines were produced and gets only the new ones: the first run's
// offsets were committed.
func TestKcatGroup(t *testing.T) {
	kcat := testenv.RequireBinary(t, "kcat")
	dir, addr := t.TempDir(), freeAddr(t)
	brokerLog := &procLog{}
	dumpOnFailure(t, "broker", brokerLog)
	startBroker(t, brokerLog, dir, addr)
	const topic, group = "kcat-group", "kcat-readers"
	createTopic(t, addr, topic, 3)

	produce := func(from, to int) []string {
		var input bytes.Buffer
		var lines []string
		for i := from; i < to; i++ {
			line := fmt.Sprintf("line %d", i)
			lines = append(lines, line)
			fmt.Fprintln(&input, line)
		}
		file := filepath.Join(t.TempDir(), "input.txt")
		require.NoError(t, os.WriteFile(file, input.Bytes(), 0o644))
		runKcat(t, kcat, "-P", "-b", addr, "-t", topic, "-l", file)
		return lines
	}
	consume := func() []string {
		out := runKcat(t, kcat, "-b", addr, "-G", group, "-X", "auto.offset.reset=earliest", "-e", "-f", `%s\n`, topic)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if out == "" {
			lines = nil
		}
		slices.Sort(lines)
		return lines
	}

	want := produce(0, 1000)
	slices.Sort(want)
	got := consume()
	require.Equal(t, len(want), len(got), "kcat -G read %d of %d lines", len(got), len(want))
	assert.Equal(t, want, got)

	more := produce(1000, 1100)
	slices.Sort(more)
	assert.Equal(t, more, consume(), "the second run must start after the first run's commits")
}
