package httpsource

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// builder turns events into records as the config says.
type builder struct{ c *config }

// requestMeta is the metadata the server adds to every event of a
// request: the protocol, and the tenant from X-Scope-OrgID.
func requestMeta(r *http.Request, proto string) []Field {
	meta := []Field{{Name: "protocol", Value: proto}}
	if t := r.Header.Get("X-Scope-OrgID"); t != "" {
		meta = append(meta, Field{Name: "tenant", Value: t})
	}
	return meta
}

// keptHeaders returns the request headers headers.keep names, as record
// headers.
func (b builder) keptHeaders(r *http.Request) connect.Headers {
	var hs connect.Headers
	for _, name := range b.c.keepHeaders {
		if v := r.Header.Get(name); v != "" {
			hs = append(hs, connect.Header{Key: name, Schema: connect.StringSchema, Value: v})
		}
	}
	return hs
}

// record builds the record of one event; reqMeta comes before the
// event's own metadata (which wins for Get), kept are the kept request
// headers, arrived the request's arrival time.
func (b builder) record(e *Event, reqMeta []Field, kept connect.Headers, arrived time.Time) *connect.Record {
	meta := make([]Field, 0, len(reqMeta)+len(e.Meta))
	meta = append(meta, reqMeta...)
	meta = append(meta, e.Meta...)
	ev := Event{Value: normalize(e.Value), Time: e.Time, Meta: meta}

	r := &connect.Record{Topic: b.topic(&ev), Partition: connect.AnyPartition, Timestamp: ev.Time}
	if r.Timestamp.IsZero() {
		r.Timestamp = arrived
	}
	if k, ok := b.key(&ev); ok {
		r.KeySchema, r.Key = connect.OptionalStringSchema, k
	}
	switch b.c.metaLoc {
	case "headers":
		r.Headers = make(connect.Headers, 0, len(meta)+len(kept))
		for _, f := range meta {
			r.Headers = append(r.Headers, connect.Header{Key: f.Name, Schema: connect.StringSchema, Value: f.Value})
		}
	case "value":
		if raw, ok := ev.Value.(connect.RawJSON); ok {
			v, err := convert.DecodeRawJSON(raw)
			if err != nil {
				panic("httpsource: a RawJSON event does not decode: " + err.Error()) // CanonicalJSONObject let it through
			}
			ev.Value = v
		}
		m := make(map[string]any, len(meta))
		for _, f := range meta {
			m[f.Name] = f.Value
		}
		if obj, ok := ev.Value.(map[string]any); ok {
			obj[b.c.metaField] = m
		} else {
			ev.Value = map[string]any{"message": ev.Value, b.c.metaField: m}
		}
	}
	r.Headers = append(r.Headers, kept...)
	r.Value = ev.Value
	return r
}

// topic returns the event's topic: topic.format filled from its metadata,
// sanitised, or topic when a field is missing.
func (b builder) topic(e *Event) string {
	if b.c.format == nil {
		return b.c.topic
	}
	s, ok := b.c.format.expand(e)
	if !ok {
		return b.c.topic
	}
	return kit.LegalTopic(s)
}

// key returns key.field's value: a metadata field, else a top-level field
// of an object event (a string as is, anything else as JSON).
func (b builder) key(e *Event) (string, bool) {
	if b.c.keyField == "" {
		return "", false
	}
	if v, ok := e.Get(b.c.keyField); ok {
		return v, true
	}
	v, ok := member(e.Value, b.c.keyField)
	if !ok || v == nil {
		return "", false
	}
	return stringOf(v), true
}

// stringOf renders a decoded JSON value as a string: a string as is, a
// number as written, anything else as JSON.
func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(out)
}

// normalize replaces the json.Numbers in v (in place inside maps and
// slices) by what the converters know: int64 for an integer that fits,
// else float64. It returns the new v.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		return number(x)
	case map[string]any:
		for k, e := range x {
			switch e.(type) {
			case json.Number, map[string]any, []any:
				x[k] = normalize(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// number converts a JSON number: int64 when it is an integer in range,
// else float64 (an integer beyond int64 loses precision, as in Kafka's
// JsonConverter).
func number(n json.Number) any {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return string(n) // out of float64's range: kept as written
	}
	return f
}

// recordSize estimates a record's bytes for max.queue.size.in.bytes: the value's
// size as JSON is costly to compute, so its decoded size is estimated.
func recordSize(r *connect.Record) int64 {
	n := int64(64 + len(r.Topic))
	for _, h := range r.Headers {
		n += int64(len(h.Key) + 16)
		if s, ok := h.Value.(string); ok {
			n += int64(len(s))
		}
	}
	if k, ok := r.Key.(string); ok {
		n += int64(len(k))
	}
	return n + sizeOf(r.Value)
}

// sizeOf estimates the size of a decoded JSON value in JSON bytes.
func sizeOf(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x)) + 2
	case connect.RawJSON:
		return int64(len(x))
	case map[string]any:
		n := int64(2)
		for k, e := range x {
			n += int64(len(k)) + 4 + sizeOf(e)
		}
		return n
	case []any:
		n := int64(2)
		for _, e := range x {
			n += 1 + sizeOf(e)
		}
		return n
	}
	return 8
}
