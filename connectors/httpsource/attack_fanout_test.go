package httpsource

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"
)

// TestAttackMetadataFanout: metadata shared by many events — a Loki
// stream's labels, an OTLP resource's attributes, a request's tenant or
// kept headers — is repeated in each record, so n labels on n entries
// make n² fields from a body of n: 2000 of each took 300 MiB of heap from
// a 75 KiB push (20000, a 750 KiB one, would take 30 GiB). Such a request
// is refused with 413 naming max.queue.size.in.bytes (the larger of it
// and 8 × max.request.bytes) before its records are built: the heap
// bounded, nothing written.
func TestAttackMetadataFanout(t *testing.T) {
	const queueBytes = 16 << 20
	w, url, _, topic := startConnector(t, map[string]string{"max.queue.size.in.bytes": fmt.Sprint(queueBytes), "max.request.bytes": fmt.Sprint(1 << 20), "headers.keep": "X-Big"})
	const n = 2000
	var labels, values []string
	for i := range n {
		labels = append(labels, fmt.Sprintf(`"l%d":"v"`, i))
		values = append(values, `["1700000000000000000",""]`)
	}
	loki := `{"streams":[{"stream":{` + strings.Join(labels, ",") + `},"values":[` + strings.Join(values, ",") + `]}]}`
	res := &resource.Resource{}
	for i := range n {
		res.Attributes = append(res.Attributes, &common.KeyValue{Key: fmt.Sprint("a", i), Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "v"}}})
	}
	sl := &logs.ScopeLogs{}
	for range n {
		sl.LogRecords = append(sl.LogRecords, &logs.LogRecord{})
	}
	otlp, err := proto.Marshal(&collogs.ExportLogsServiceRequest{ResourceLogs: []*logs.ResourceLogs{{Resource: res, ScopeLogs: []*logs.ScopeLogs{sl}}}})
	assert.NoError(t, err)
	// A request's tenant and kept headers go on each of its records too.
	tiny := bytes.Repeat([]byte("{}\n"), n)
	big := strings.Repeat("t", 60<<10)
	for _, c := range []struct {
		name, path, ct string
		body           []byte
		header         []string
	}{
		{"loki", "/loki/api/v1/push", "application/json", []byte(loki), nil},
		{"otlp", "/v1/logs", "application/x-protobuf", otlp, nil},
		{"tenant", "/", "application/x-ndjson", tiny, []string{"X-Scope-OrgID", big}},
		{"kept header", "/", "application/x-ndjson", tiny, []string{"X-Big", big}},
	} {
		base := liveHeap()
		s := sampleHeap()
		status, answer, _ := post(t, url+c.path, c.body, append([]string{"Content-Type", c.ct}, c.header...)...)
		peak := s.Stop()
		assert.Equal(t, 413, status, "%s: %.300s", c.name, answer)
		assert.Contains(t, answer, "max.queue.size.in.bytes", c.name)
		t.Logf("%s, %d KiB: heap +%d MiB", c.name, len(c.body)>>10, (peak-base)>>20)
		assert.Less(t, peak, base+64<<20, "%s: the records were not built", c.name)
	}
	checkOnlyGood(t, w, url, topic)
}
