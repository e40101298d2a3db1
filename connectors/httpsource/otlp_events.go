package httpsource

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
)

// otlpEvents makes one event per log record. The value is the record as
// OTLP/JSON writes it, with the body and the attributes as plain JSON
// (see otlpRecordValue); the time is timeUnixNano, else
// observedTimeUnixNano; the metadata are resource.<attribute> for each
// resource attribute, scope.name, scope.version and
// scope.attributes.<attribute>, as strings.
func otlpEvents(req *collogs.ExportLogsServiceRequest) []Event {
	var events []Event
	for _, rl := range req.GetResourceLogs() {
		var resMeta []Field
		for _, kv := range rl.GetResource().GetAttributes() {
			resMeta = append(resMeta, Field{Name: "resource." + kv.GetKey(), Value: otlpString(kv.GetValue())})
		}
		for _, sl := range rl.GetScopeLogs() {
			meta := append([]Field(nil), resMeta...)
			sc := sl.GetScope()
			if sc.GetName() != "" {
				meta = append(meta, Field{Name: "scope.name", Value: sc.GetName()})
			}
			if sc.GetVersion() != "" {
				meta = append(meta, Field{Name: "scope.version", Value: sc.GetVersion()})
			}
			for _, kv := range sc.GetAttributes() {
				meta = append(meta, Field{Name: "scope.attributes." + kv.GetKey(), Value: otlpString(kv.GetValue())})
			}
			for _, lr := range sl.GetLogRecords() {
				ts := lr.GetTimeUnixNano()
				if ts == 0 {
					ts = lr.GetObservedTimeUnixNano()
				}
				ev := Event{Value: otlpRecordValue(lr), Meta: meta[:len(meta):len(meta)]}
				if ts != 0 {
					ev.Time = time.Unix(int64(ts/1e9), int64(ts%1e9)).UTC()
				}
				events = append(events, ev)
			}
		}
	}
	return events
}

// otlpRecordValue is a log record as a JSON object, with OTLP/JSON's
// names and conventions (64-bit times as decimal strings, hex ids,
// severityNumber as an integer) and fields left out when empty; the
// body and the attribute values are plain JSON values rather than
// AnyValue wrappers, so {"stringValue":"x"} reads "x".
func otlpRecordValue(lr *logs.LogRecord) map[string]any {
	v := map[string]any{}
	if t := lr.GetTimeUnixNano(); t != 0 {
		v["timeUnixNano"] = strconv.FormatUint(t, 10)
	}
	if t := lr.GetObservedTimeUnixNano(); t != 0 {
		v["observedTimeUnixNano"] = strconv.FormatUint(t, 10)
	}
	if n := lr.GetSeverityNumber(); n != 0 {
		v["severityNumber"] = json.Number(strconv.Itoa(int(n)))
	}
	if s := lr.GetSeverityText(); s != "" {
		v["severityText"] = s
	}
	if lr.GetBody() != nil {
		v["body"] = otlpPlain(lr.GetBody())
	}
	if attrs := lr.GetAttributes(); len(attrs) > 0 {
		v["attributes"] = otlpKVs(attrs)
	}
	if id := lr.GetTraceId(); len(id) > 0 {
		v["traceId"] = hex.EncodeToString(id)
	}
	if id := lr.GetSpanId(); len(id) > 0 {
		v["spanId"] = hex.EncodeToString(id)
	}
	if f := lr.GetFlags(); f != 0 {
		v["flags"] = json.Number(strconv.FormatUint(uint64(f), 10))
	}
	if s := lr.GetEventName(); s != "" {
		v["eventName"] = s
	}
	if n := lr.GetDroppedAttributesCount(); n != 0 {
		v["droppedAttributesCount"] = json.Number(strconv.FormatUint(uint64(n), 10))
	}
	return v
}

// otlpKVs turns key-values into a JSON object; a repeated key keeps its
// last value.
func otlpKVs(kvs []*common.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = otlpPlain(kv.GetValue())
	}
	return m
}

// otlpPlain turns an AnyValue into a plain JSON value: a string, a
// number (json.Number; NaN and infinities as the strings "NaN", "+Inf",
// "-Inf", which JSON has no numbers for), a bool, an array, an object,
// bytes as base64; an empty AnyValue is null.
func otlpPlain(a *common.AnyValue) any {
	switch x := a.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_BoolValue:
		return x.BoolValue
	case *common.AnyValue_IntValue:
		return json.Number(strconv.FormatInt(x.IntValue, 10))
	case *common.AnyValue_DoubleValue:
		f := x.DoubleValue
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case *common.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, v := range vals {
			out[i] = otlpPlain(v)
		}
		return out
	case *common.AnyValue_KvlistValue:
		return otlpKVs(x.KvlistValue.GetValues())
	case *common.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	}
	return nil
}

// otlpString is an attribute's value as a metadata string: strings as
// they are, numbers and bools as text, bytes as base64, arrays and maps
// as compact JSON.
func otlpString(a *common.AnyValue) string {
	switch v := otlpPlain(a).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// otlpUnmarshalJSON decodes an OTLP/JSON request. OTLP/JSON is protobuf
// JSON except that traceId and spanId are hex rather than base64, so,
// as the collector does, those are rewritten before protojson decodes;
// unknown fields are ignored, as the specification requires.
func otlpUnmarshalJSON(body []byte, req *collogs.ExportLogsServiceRequest) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON object")
	}
	if err := otlpHexIDs(doc); err != nil {
		return err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, req)
}

// otlpHexIDs rewrites every log record's hex traceId and spanId (either
// spelling) as base64, checking their lengths (16 and 8 bytes).
func otlpHexIDs(doc any) error {
	for i, rl := range otlpList(doc, "resourceLogs", "resource_logs") {
		for j, sl := range otlpList(rl, "scopeLogs", "scope_logs") {
			for k, lr := range otlpList(sl, "logRecords", "log_records") {
				m, ok := lr.(map[string]any)
				if !ok {
					continue // protojson reports the wrong type
				}
				for _, f := range []struct {
					name string
					size int
				}{{"traceId", 16}, {"trace_id", 16}, {"spanId", 8}, {"span_id", 8}} {
					s, ok := m[f.name].(string)
					if !ok || s == "" {
						continue
					}
					id, err := hex.DecodeString(s)
					if err != nil || len(id) != f.size {
						return fmt.Errorf("resourceLogs[%d].scopeLogs[%d].logRecords[%d].%s %q is not %d bytes in hex", i, j, k, f.name, s, f.size)
					}
					m[f.name] = base64.StdEncoding.EncodeToString(id)
				}
			}
		}
	}
	return nil
}

// otlpList returns the array under either name of the object v, or nil.
func otlpList(v any, names ...string) []any {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	for _, n := range names {
		if l, ok := m[n].([]any); ok {
			return l
		}
	}
	return nil
}
