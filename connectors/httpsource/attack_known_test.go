package httpsource

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/encoding/protowire"
)

// The known problems the attack tests found and did not fix, each as a
// test of the behaviour wanted that fails today: they run only with
// SLUICE_ATTACK_KNOWN=1, so a fix can be checked against them (and the
// switch removed with it).

func knownProblem(t *testing.T) {
	t.Helper()
	if os.Getenv("SLUICE_ATTACK_KNOWN") != "1" {
		t.Skip("a known problem; SLUICE_ATTACK_KNOWN=1 runs it")
	}
}

// TestKnownTinyItemAmplification: a body of more tiny events than
// max.events.per.request is refused (413) only after every event was
// decoded: 1 MiB of generic JSON {} takes ~45 MiB of heap, 1 MiB of
// empty OTLP LogRecords ~125 MiB, so max.concurrent.requests bodies of
// max.request.bytes (16 × 10 MiB by default) can take ~20 GiB. Wanted:
// the count checked while decoding, the heap a small multiple of the
// body.
func TestKnownTinyItemAmplification(t *testing.T) {
	knownProblem(t)
	const body = 1 << 20
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": fmt.Sprint(body), "max.events.per.request": "1000"})
	var pb []byte
	for len(pb) < body-16 {
		pb = append(pb, 0x12, 0) // ScopeLogs.log_records: an empty LogRecord
	}
	otlp := protowire.AppendVarint([]byte{0x12}, uint64(len(pb))) // ResourceLogs.scope_logs
	otlp = append(otlp, pb...)
	otlp = append(protowire.AppendVarint([]byte{0x0a}, uint64(len(otlp))), otlp...) // resource_logs
	for _, c := range []struct {
		name, path, ct string
		body           []byte
	}{
		{"json", "/", "application/json", append(append([]byte("["), bytes.Repeat([]byte("{},"), body/3-1)...), '{', '}', ']')},
		{"otlp", "/v1/logs", "application/x-protobuf", otlp},
	} {
		base := liveHeap()
		s := sampleHeap()
		status, answer, _ := post(t, url+c.path, c.body, "Content-Type", c.ct)
		peak := s.Stop()
		assert.Equal(t, 413, status, answer)
		assert.Less(t, peak, base+8*body, "%s: heap %d MiB over %d MiB for a 1 MiB body", c.name, (peak-base)>>20, base>>20)
	}
}

// TestKnownSlowBodyHoldsSlot: a body that never finishes holds its slot
// of max.concurrent.requests until the server's read timeout (60 s), so
// that many slow clients stop all ingestion for a minute, again and
// again. Wanted: the slot back within request.timeout.ms (the body read
// bounded by it, answered 408).
func TestKnownSlowBodyHoldsSlot(t *testing.T) {
	knownProblem(t)
	_, url, _, _ := startConnector(t, map[string]string{"max.concurrent.requests": "1", "request.timeout.ms": "1000"})
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	assert.NoError(t, err)
	defer c.Close()
	_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n[{}"))
	time.Sleep(200 * time.Millisecond) // it holds the slot
	deadline := time.Now().Add(5 * time.Second)
	status := 0
	for time.Now().Before(deadline) && status != 200 {
		status, _, _ = post(t, url+"/", ndjson(0, 1, 10))
	}
	assert.Equal(t, 200, status, "a slot came back within request.timeout.ms and slack")
}

// TestKnownIdleConnectionsWedgeListener: connections that send nothing
// hold places of max.connections until the header timeout (10 s); with
// N of them open, a new client waits about N / max.connections × 10 s in
// the accept queue (100 idle, max.connections 40: 20 s; 1000: minutes).
// Wanted: a legitimate request served within a bound however many idle
// connections there are (idle ones shed when the limit is reached, say).
func TestKnownIdleConnectionsWedgeListener(t *testing.T) {
	knownProblem(t)
	_, url, _, _ := startConnector(t, map[string]string{"max.connections": "40"})
	for range 100 {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			break
		}
		defer c.Close()
	}
	start := time.Now()
	status, answer, _ := post(t, url+"/", ndjson(0, 1, 10))
	assert.Equal(t, 200, status, answer)
	assert.Less(t, time.Since(start), 5*time.Second, "served beside idle connections")
}
