package httpsource

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
)

func otlpPost(t *testing.T, url, ct string, body []byte, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/logs", bytes.NewReader(body))
	require.NoError(t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func strAttr(k, v string) *common.KeyValue {
	return &common.KeyValue{Key: k, Value: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: v}}}
}

// otlpSample is a request with two resources, a scope with attributes,
// and records with and without their own time.
func otlpSample() *collogs.ExportLogsServiceRequest {
	return &collogs.ExportLogsServiceRequest{ResourceLogs: []*logs.ResourceLogs{
		{
			Resource: &resource.Resource{Attributes: []*common.KeyValue{strAttr("service.name", "checkout"),
				{Key: "pid", Value: &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: 42}}}}},
			ScopeLogs: []*logs.ScopeLogs{{
				Scope: &common.InstrumentationScope{Name: "app/http", Version: "1.2.3", Attributes: []*common.KeyValue{strAttr("lib", "net/http")}},
				LogRecords: []*logs.LogRecord{
					{TimeUnixNano: 1700000000000000001, ObservedTimeUnixNano: 1700000000000000009, SeverityNumber: logs.SeverityNumber_SEVERITY_NUMBER_WARN,
						SeverityText: "WARN", Body: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "slow request"}},
						Attributes: []*common.KeyValue{strAttr("path", "/cart")},
						TraceId:    []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
						SpanId:     []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}, Flags: 1, EventName: "http.slow", DroppedAttributesCount: 2},
					{ObservedTimeUnixNano: 1700000000000000100, Body: &common.AnyValue{Value: &common.AnyValue_KvlistValue{KvlistValue: &common.KeyValueList{
						Values: []*common.KeyValue{strAttr("msg", "structured")}}}}},
				},
			}},
		},
		{
			Resource: &resource.Resource{Attributes: []*common.KeyValue{strAttr("service.name", "billing")}},
			ScopeLogs: []*logs.ScopeLogs{{LogRecords: []*logs.LogRecord{
				{Body: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "no time"}}},
			}}},
		},
	}}
}

func checkOTLPSample(t *testing.T, ev []Event) {
	t.Helper()
	require.Len(t, ev, 3)
	assert.Equal(t, time.Unix(0, 1700000000000000001).UTC(), ev[0].Time)
	assert.Equal(t, map[string]any{
		"timeUnixNano": "1700000000000000001", "observedTimeUnixNano": "1700000000000000009",
		"severityNumber": json.Number("13"), "severityText": "WARN", "body": "slow request",
		"attributes": map[string]any{"path": "/cart"},
		"traceId":    "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
		"flags": json.Number("1"), "eventName": "http.slow", "droppedAttributesCount": json.Number("2"),
	}, ev[0].Value)
	want := []Field{{"resource.service.name", "checkout"}, {"resource.pid", "42"},
		{"scope.name", "app/http"}, {"scope.version", "1.2.3"}, {"scope.attributes.lib", "net/http"}}
	assert.Equal(t, want, ev[0].Meta)
	assert.Equal(t, want, ev[1].Meta)
	assert.Equal(t, time.Unix(0, 1700000000000000100).UTC(), ev[1].Time, "observedTimeUnixNano when there is no time")
	assert.Equal(t, map[string]any{"observedTimeUnixNano": "1700000000000000100", "body": map[string]any{"msg": "structured"}}, ev[1].Value)
	assert.True(t, ev[2].Time.IsZero())
	assert.Equal(t, []Field{{"resource.service.name", "billing"}}, ev[2].Meta)
	assert.Equal(t, map[string]any{"body": "no time"}, ev[2].Value)
}

func TestOTLPProtobuf(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesOTLP)
	body, err := proto.Marshal(otlpSample())
	require.NoError(t, err)
	code, h, resp := otlpPost(t, url, "application/x-protobuf", body)
	require.Equal(t, http.StatusOK, code, string(resp))
	assert.Equal(t, "application/x-protobuf", h.Get("Content-Type"))
	require.NoError(t, proto.Unmarshal(resp, &collogs.ExportLogsServiceResponse{}))
	checkOTLPSample(t, c.Events())
	assert.Equal(t, ProtoOTLP, c.protos[0])
}

func TestOTLPJSONAndGzip(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesOTLP)
	// OTLP/JSON as the specification writes it: hex ids, integer enums,
	// 64-bit integers as strings; protojson alone would refuse the ids.
	js, err := protojson.Marshal(otlpSample())
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(js, &doc))
	lr := doc["resourceLogs"].([]any)[0].(map[string]any)["scopeLogs"].([]any)[0].(map[string]any)["logRecords"].([]any)[0].(map[string]any)
	lr["traceId"] = "5B8EFFF798038103D269B633813FC60C"
	lr["spanId"] = "eee19b7ec3c1b174"
	lr["severityNumber"] = 13
	lr["unknownField"] = "ignored"
	js, _ = json.Marshal(doc)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(js)
	require.NoError(t, zw.Close())
	code, h, resp := otlpPost(t, url, "application/json; charset=utf-8", gz.Bytes(), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, code, string(resp))
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.JSONEq(t, `{}`, string(resp))
	checkOTLPSample(t, c.Events())
}

// TestOTLPSpecExample decodes the example of opentelemetry-proto
// (examples/logs.json), every AnyValue kind included.
func TestOTLPSpecExample(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesOTLP)
	body, err := os.ReadFile("testdata/otlp_logs.json")
	require.NoError(t, err)
	code, _, resp := otlpPost(t, url, "application/json", body)
	require.Equal(t, http.StatusOK, code, string(resp))
	ev := c.Events()
	require.Len(t, ev, 1)
	v := ev[0].Value.(map[string]any)
	assert.Equal(t, "5b8efff798038103d269b633813fc60c", v["traceId"])
	assert.Equal(t, "eee19b7ec3c1b174", v["spanId"])
	assert.Equal(t, "Example log record", v["body"])
	assert.Equal(t, json.Number("10"), v["severityNumber"])
	assert.Equal(t, map[string]any{
		"string.attribute": "some string", "boolean.attribute": true, "int.attribute": json.Number("10"),
		"double.attribute": json.Number("637.704"), "array.attribute": []any{"many", "values"},
		"map.attribute": map[string]any{"some.map.key": "some value"},
	}, v["attributes"])
	assert.Equal(t, []Field{{"resource.service.name", "my.service"}, {"scope.name", "my.library"},
		{"scope.version", "1.0.0"}, {"scope.attributes.my.scope.attribute", "some scope attribute"}}, ev[0].Meta)
	assert.Equal(t, time.Unix(0, 1544712660300000000).UTC(), ev[0].Time)
}

func TestOTLPEmptyRequest(t *testing.T) {
	c := &captureEndpoint{Fail: &Error{Status: http.StatusServiceUnavailable, Msg: "busy"}}
	url := serveCapture(t, c, routesOTLP)
	code, _, _ := otlpPost(t, url, "application/x-protobuf", nil)
	assert.Equal(t, http.StatusOK, code)
	code, _, resp := otlpPost(t, url, "application/json", []byte(`{}`))
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{}`, string(resp))
	assert.Empty(t, c.Events())
}

// otlpStatus decodes an error body in the encoding of its Content-Type.
func otlpStatus(t *testing.T, h http.Header, body []byte) *status.Status {
	t.Helper()
	st := &status.Status{}
	switch h.Get("Content-Type") {
	case "application/json":
		require.NoError(t, protojson.Unmarshal(body, st), string(body))
	case "application/x-protobuf":
		require.NoError(t, proto.Unmarshal(body, st))
	default:
		t.Fatalf("error body has Content-Type %q", h.Get("Content-Type"))
	}
	return st
}

func TestOTLPBadInput(t *testing.T) {
	c := &captureEndpoint{limit: 4096}
	url := serveCapture(t, c, routesOTLP)
	for _, tc := range []struct {
		name, ct string
		body     []byte
		code     int
		want     string
	}{
		{"truncated protobuf", "application/x-protobuf", []byte{0x0a, 0x20, 0x01}, 400, "does not decode"},
		{"malformed JSON", "application/json", []byte(`{"resourceLogs":[`), 400, "does not decode"},
		{"JSON wrong type", "application/json", []byte(`{"resourceLogs":{"x":1}}`), 400, "does not decode"},
		{"JSON trailing data", "application/json", []byte(`{} {}`), 400, "unexpected data after"},
		{"JSON bad traceId", "application/json", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}`), 400,
			`resourceLogs[0].scopeLogs[0].logRecords[0].traceId "xyz" is not 16 bytes in hex`},
		{"JSON short spanId", "application/json", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"spanId":"abcd"}]}]}]}`), 400,
			"spanId \"abcd\" is not 8 bytes"},
		{"too large", "application/x-protobuf", make([]byte, 5000), 413, "max.request.bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, h, resp := otlpPost(t, url, tc.ct, tc.body)
			assert.Equal(t, tc.code, code)
			st := otlpStatus(t, h, resp)
			assert.Contains(t, st.GetMessage(), tc.want)
			assert.Equal(t, int32(3), st.GetCode(), "INVALID_ARGUMENT")
		})
	}
	code, _, resp := otlpPost(t, url, "text/plain", []byte("hello"))
	assert.Equal(t, http.StatusUnsupportedMediaType, code)
	assert.Contains(t, string(resp), "application/x-protobuf or application/json")
	assert.Empty(t, c.Events())
}

func TestOTLPBusyAndAuth(t *testing.T) {
	c := &captureEndpoint{token: "tok", Fail: &Error{Status: http.StatusServiceUnavailable, Msg: "acknowledgement timed out", RetryAfter: 3 * time.Second}}
	url := serveCapture(t, c, routesOTLP)
	body, _ := proto.Marshal(otlpSample())
	code, h, resp := otlpPost(t, url, "application/x-protobuf", body)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, int32(16), otlpStatus(t, h, resp).GetCode(), "UNAUTHENTICATED")
	code, h, resp = otlpPost(t, url, "application/json", []byte(`{}`), "Authorization", "Bearer nope")
	assert.Equal(t, http.StatusForbidden, code)
	assert.Equal(t, int32(7), otlpStatus(t, h, resp).GetCode(), "PERMISSION_DENIED")

	code, h, resp = otlpPost(t, url, "application/x-protobuf", body, "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "3", h.Get("Retry-After"))
	st := otlpStatus(t, h, resp)
	assert.Equal(t, int32(14), st.GetCode(), "UNAVAILABLE")
	assert.Equal(t, "acknowledgement timed out", st.GetMessage())

	c.mu.Lock()
	c.Fail = &Error{Status: http.StatusTooManyRequests, Msg: "queue full"}
	c.mu.Unlock()
	code, h, _ = otlpPost(t, url, "application/json", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}`), "Authorization", "Bearer tok")
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, "1", h.Get("Retry-After"))
	assert.Empty(t, c.Events())
}

func TestOTLPPlainValues(t *testing.T) {
	d := func(f float64) *common.AnyValue {
		return &common.AnyValue{Value: &common.AnyValue_DoubleValue{DoubleValue: f}}
	}
	for _, tc := range []struct {
		in    *common.AnyValue
		plain any
		str   string
	}{
		{nil, nil, ""},
		{&common.AnyValue{}, nil, ""},
		{d(1.5), json.Number("1.5"), "1.5"},
		{d(math.NaN()), "NaN", "NaN"},
		{d(math.Inf(-1)), "-Inf", "-Inf"},
		{&common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: -9007199254740993}}, json.Number("-9007199254740993"), "-9007199254740993"},
		{&common.AnyValue{Value: &common.AnyValue_BoolValue{BoolValue: true}}, true, "true"},
		{&common.AnyValue{Value: &common.AnyValue_BytesValue{BytesValue: []byte{0xff, 0x00}}}, "/wA=", "/wA="},
		{&common.AnyValue{Value: &common.AnyValue_ArrayValue{ArrayValue: &common.ArrayValue{Values: []*common.AnyValue{d(1), {}}}}},
			[]any{json.Number("1"), nil}, `[1,null]`},
		{&common.AnyValue{Value: &common.AnyValue_KvlistValue{KvlistValue: &common.KeyValueList{Values: []*common.KeyValue{strAttr("a", "b")}}}},
			map[string]any{"a": "b"}, `{"a":"b"}`},
	} {
		assert.Equal(t, tc.plain, otlpPlain(tc.in))
		assert.Equal(t, tc.str, otlpString(tc.in))
	}
}

// FuzzOTLPJSON checks that no JSON body crashes the decoder.
func FuzzOTLPJSON(f *testing.F) {
	b, _ := os.ReadFile("testdata/otlp_logs.json")
	f.Add(b)
	f.Fuzz(func(_ *testing.T, b []byte) {
		req := &collogs.ExportLogsServiceRequest{}
		if otlpUnmarshalJSON(b, req) == nil {
			_ = otlpEvents(req)
		}
	})
}
