package s3

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// headersOf reads one record's headers from a headers sidecar value: the
// array<struct{key:string,value:string}> of the Avro format, or in JSON
// and Parquet that array wrapped as Confluent's RecordHeaders
// {"headers": [...]}. The sink wrote each value as Values.convertToString
// rendered it, so each comes back as an optional string.
func headersOf(v any) (connect.Headers, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case *connect.Struct:
		if f := x.Schema().Field("headers"); f != nil {
			return headersOf(x.GetField(f))
		}
		return nil, fmt.Errorf("a headers record of schema %s has no field headers", x.Schema())
	case map[string]any:
		if h, ok := x["headers"]; ok {
			return headersOf(h)
		}
		return nil, fmt.Errorf("a JSON headers line has no field headers")
	case []any:
		out := make(connect.Headers, 0, len(x))
		for i, e := range x {
			k, val, err := headerEntry(e)
			if err != nil {
				return nil, fmt.Errorf("header %d: %w", i, err)
			}
			out = append(out, connect.Header{Key: k, Schema: connect.OptionalStringSchema, Value: val})
		}
		return out, nil
	}
	return nil, fmt.Errorf("headers of type %T are not an array of key and value", v)
}

// headerEntry reads one {key, value} entry.
func headerEntry(e any) (key string, value any, err error) {
	var k any
	switch x := e.(type) {
	case *connect.Struct:
		k, _ = x.Get("key")
		value, _ = x.Get("value")
	case map[string]any:
		k, value = x["key"], x["value"]
	default:
		return "", nil, fmt.Errorf("an entry of type %T is not a struct of key and value", e)
	}
	key, ok := k.(string)
	if !ok {
		return "", nil, fmt.Errorf("the key %v is not a string", k)
	}
	if value != nil {
		if s, ok := value.(string); ok {
			value = s
		} else {
			value = fmt.Sprint(value)
		}
	}
	return key, value, nil
}

// splitTimestamp takes the record timestamp out of restored headers: a
// last header TimestampHeader whose value is non-negative epoch
// milliseconds, as the sink's store.kafka.timestamps appends it. Without
// one (files of Confluent's sink, or of a sink without the key) the
// timestamp is zero, unset, and the headers are returned as they are.
func splitTimestamp(h connect.Headers) (time.Time, connect.Headers) {
	if len(h) == 0 || h[len(h)-1].Key != TimestampHeader {
		return time.Time{}, h
	}
	s, ok := h[len(h)-1].Value.(string)
	if !ok {
		return time.Time{}, h
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, h
	}
	rest := h[:len(h)-1]
	if len(rest) == 0 {
		rest = nil
	}
	return time.UnixMilli(ms), rest
}
