package httpsource

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

// FuzzParseBulk: any body is answered, never a panic; every event is
// an object from a 201 item, and the answer is valid JSON.
func FuzzParseBulk(f *testing.F) {
	for _, name := range []string{"es-fluentbit.ndjson", "es-filebeat.ndjson", "es-vector.ndjson"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("{\"index\":{}}\n{\"a\":1}\n{\"delete\":{\"_id\":\"1\"}}\n{\"update\":{}}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, events, perr := parseBulk(body, bulkDefaults{index: "d"})
		if perr != nil {
			return
		}
		created := 0
		for _, it := range items {
			if it.status == 201 {
				created++
			}
		}
		if created != len(events) {
			t.Fatalf("%d items created, %d events", created, len(events))
		}
		for _, e := range events {
			if _, ok := objectValue(t, e.Value); !ok {
				t.Fatalf("event %T is not an object", e.Value)
			}
		}
		out, err := json.Marshal(bulkResponse(items, time.Millisecond))
		if err != nil || !json.Valid(out) {
			t.Fatalf("answer %s: %v", out, err)
		}
	})
}

// FuzzParseHECEvents: any body gives events or one refusal, never both
// and never a panic.
func FuzzParseHECEvents(f *testing.F) {
	for _, name := range []string{"hec-vector.json", "hec-fluentbit.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"event":"x","time":"1.5","fields":{"a":["b"]}}{"event":""}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, reply := parseHECEvents(body, hecDefaults{})
		if (reply == nil) == (len(events) == 0) {
			t.Fatalf("events %d, reply %+v", len(events), reply)
		}
		if reply != nil && hecStatus[reply.Code] != 400 {
			t.Fatalf("a body is refused with code %d", reply.Code)
		}
	})
}

// BenchmarkESBulk parses a 1000-item bulk body of ~1 KiB documents and
// encodes its answer.
func BenchmarkESBulk(b *testing.B) {
	doc := `{"@timestamp":"2024-05-01T10:00:00.123Z","message":"` +
		`GET /index.html 200 ` + string(repeat('x', 900)) + `","host":{"name":"web-1"},"n":42}`
	var body []byte
	for i := 0; i < 1000; i++ {
		body = append(body, "{\"create\":{\"_index\":\"logs\"}}\n"...)
		body = append(body, doc...)
		body = append(body, '\n')
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		items, _, _ := parseBulk(body, bulkDefaults{})
		if _, err := appendESJSON(nil, bulkResponse(items, time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
}

func repeat(c byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = c
	}
	return out
}
