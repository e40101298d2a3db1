package httpsource

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/encoding/protowire"
)

// tinyBody repeats item between head and tail, joined by sep, to about
// size bytes.
func tinyBody(head, item, sep, tail string, size int) []byte {
	n := (size - len(head) - len(tail)) / (len(item) + len(sep))
	b := bytes.NewBufferString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(item)
	}
	b.WriteString(tail)
	return b.Bytes()
}

// protoNest wraps the repeated field item (a tag and its bytes) n times
// in the fields of path, outermost first.
func protoNest(item []byte, size int, path ...byte) []byte {
	var b []byte
	for len(b) < size-16 {
		b = append(b, item...)
	}
	for i := len(path) - 1; i >= 0; i-- {
		b = append(protowire.AppendVarint([]byte{path[i]}, uint64(len(b))), b...)
	}
	return b
}

// TestAttackTinyItemAmplification: a body of many more tiny events than
// max.events.per.request is refused (413) before they are decoded, on
// every protocol that counts its own events: 1 MiB of empty OTLP
// LogRecords took ~150 MiB of heap before being refused. Wanted: the
// heap a small multiple of the body.
func TestAttackTinyItemAmplification(t *testing.T) {
	const body = 1 << 20
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": fmt.Sprint(body), "max.events.per.request": "1000"})
	otlpPB := protoNest([]byte{0x12, 0}, body, 0x0a, 0x12) // resource_logs, scope_logs, log_records: empty
	lokiPB := protoNest([]byte{0x12, 0}, body, 0x0a)       // streams, entries: empty
	for _, c := range []struct {
		name, path, ct string
		body           []byte
		headers        []string
	}{
		{"otlp protobuf", "/v1/logs", "application/x-protobuf", otlpPB, nil},
		{"otlp json", "/v1/logs", "application/json", tinyBody(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[`, "{}", ",", "]}]}]}", body), nil},
		{"loki json", "/loki/api/v1/push", "application/json", tinyBody(`{"streams":[{"stream":{"a":"b"},"values":[`, `["1","x"]`, ",", "]}]}", body), nil},
		{"loki protobuf", "/loki/api/v1/push", "application/x-protobuf", s2.EncodeSnappy(nil, lokiPB), nil},
		{"hec event", "/services/collector/event", "application/json", tinyBody("", `{"event":1}`, "", "", body), nil},
		{"hec raw", "/services/collector/raw?channel=" + hecChannel, "text/plain", tinyBody("", "x", "\n", "", body), nil},
		{"es bulk", "/idx/_bulk", "application/x-ndjson", tinyBody("", `{"delete":{"_id":"1"}}`, "\n", "\n", body), nil},
	} {
		base := liveHeap()
		s := sampleHeap()
		status, answer, _ := post(t, url+c.path, c.body, "Content-Type", c.ct, "X-Splunk-Request-Channel", hecChannel)
		peak := s.Stop()
		assert.Equal(t, 413, status, "%s: %.300s", c.name, answer)
		assert.Contains(t, answer, "max.events.per.request (1000)", c.name)
		t.Logf("%s: peak heap %.1f MiB over %.1f MiB for a 1 MiB body", c.name, float64(int64(peak)-int64(base))/(1<<20), float64(base)/(1<<20))
		assert.Less(t, peak, base+8*body, "%s: heap %d MiB over %d MiB for a 1 MiB body", c.name, (peak-base)>>20, base>>20)
	}
}

// TestAttackJSONTinyItems: a generic JSON body (an array, or NDJSON) of
// more tiny events than max.events.per.request is refused (413) before it
// is decoded, its heap a small multiple of the body: decoded first, 1 MiB
// of {} took ~45 MiB, so max.concurrent.requests bodies of
// max.request.bytes (16 × 10 MiB by default) could take ~7 GiB. The other
// protocols: TestAttackTinyItemAmplification.
func TestAttackJSONTinyItems(t *testing.T) {
	const body = 1 << 20
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": fmt.Sprint(body), "max.events.per.request": "1000"})
	for name, b := range map[string][]byte{
		"array":  append(append([]byte("["), bytes.Repeat([]byte("{},"), body/3-1)...), '{', '}', ']'),
		"ndjson": bytes.Repeat([]byte("{}\n"), body/3),
	} {
		base := liveHeap()
		s := sampleHeap()
		status, answer, _ := post(t, url+"/", b, "Content-Type", "application/json")
		peak := s.Stop()
		assert.Equal(t, 413, status, answer)
		assert.Contains(t, answer, "max.events.per.request", name)
		assert.Less(t, peak, base+8*body, "%s: heap %d MiB over %d MiB for a 1 MiB body", name, (peak-base)>>20, base>>20)
	}
}
