package httpsource

import (
	"bytes"
	"runtime"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func runtimeGC() { runtime.GC() }

func varint(n int) []byte { return protowire.AppendVarint(nil, uint64(n)) }


func TestProbeBulkItems(t *testing.T) {
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": "1048576"})
	base := liveHeap()
	s := sampleHeap()
	body := bytes.Repeat([]byte("{}\n"), 349000)
	status, answer, _ := post(t, url+"/idx/_bulk", body, "Content-Type", "application/x-ndjson")
	peak := s.Stop()
	t.Logf("malformed: %d, answer %d bytes, heap base %d MiB peak %d MiB", status, len(answer), base>>20, peak>>20)
	s = sampleHeap()
	body = bytes.Repeat([]byte(`{"delete":{"_id":"1"}}`+"\n"), 1<<20/23)
	status, answer, _ = post(t, url+"/idx/_bulk", body, "Content-Type", "application/x-ndjson")
	peak = s.Stop()
	t.Logf("delete: %d, answer %d bytes, peak %d MiB", status, len(answer), peak>>20)
}

func TestProbeTinyEvents(t *testing.T) {
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": "1048576", "max.events.per.request": "1000"})
	probe := func(what, path string, body []byte, h ...string) {
		runtimeGC()
		s := sampleHeap()
		status, answer, _ := post(t, url+path, body, h...)
		t.Logf("%s: %d %.100s, body %d KiB, heap peak %d MiB", what, status, answer, len(body)>>10, s.Stop()>>20)
	}
	probe("json", "/", append(append([]byte("["), bytes.Repeat([]byte("{},"), 349000)...), []byte("{}]")...), "Content-Type", "application/json")
	probe("ndjson", "/", bytes.Repeat([]byte("1\n"), 500000), "Content-Type", "application/x-ndjson")
	probe("hec", "/services/collector/event", bytes.Repeat([]byte(`{"event":1}`), 95000))
	var pb []byte
	rl := []byte{0x12, 0} // ScopeLogs.log_records (2): an empty LogRecord
	for len(pb) < 1000000 {
		pb = append(pb, rl...)
	}
	sl := append([]byte{0x12}, varint(len(pb))...) // ResourceLogs.scope_logs (2)
	sl = append(sl, pb...)
	rlb := append([]byte{0x0a}, varint(len(sl))...) // ExportLogsServiceRequest.resource_logs (1)
	rlb = append(rlb, sl...)
	probe("otlp", "/v1/logs", rlb, "Content-Type", "application/x-protobuf")
}
