package httpsource

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/protobuf/proto"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
)

// TestProtoCount: the OTLP path counts the log records of every resource
// and scope, whatever other fields are around them, and stops past the
// limit; a body too short to pass the limit is not counted.
func TestProtoCount(t *testing.T) {
	lr := func(n int) []*logs.LogRecord {
		var out []*logs.LogRecord
		for range n {
			out = append(out, &logs.LogRecord{SeverityText: "INFO"})
		}
		return out
	}
	req := &collogs.ExportLogsServiceRequest{ResourceLogs: []*logs.ResourceLogs{
		{SchemaUrl: "s", ScopeLogs: []*logs.ScopeLogs{{LogRecords: lr(3), SchemaUrl: "x"}, {LogRecords: lr(4)}}},
		{ScopeLogs: []*logs.ScopeLogs{{LogRecords: lr(5)}}},
	}}
	b, err := proto.Marshal(req)
	assert.NoError(t, err)
	n, over := protoCountAll(b, otlpProtoPath, 100)
	assert.Equal(t, 12, n)
	assert.False(t, over)
	_, over = protoCountAll(b, otlpProtoPath, 12)
	assert.False(t, over, "12 is not more than 12")
	n, over = protoCountAll(b, otlpProtoPath, 6)
	assert.True(t, over)
	assert.Equal(t, 7, n, "stops at the first past the limit")
	n, over = protoCount(b, otlpProtoPath, (len(b)+1)/2)
	assert.Equal(t, 0, n, "too short to pass the limit: not counted")
	assert.False(t, over)
	n, over = protoCountAll([]byte{0x0a, 0x7f, 0x12}, otlpProtoPath, 0)
	assert.False(t, over, "malformed: %d", n)
}

// TestJSONCount: the paths count the elements of the innermost arrays,
// under either spelling, skipping other values (nested arrays and
// objects, strings holding brackets, escaped keys are decoded).
func TestJSONCount(t *testing.T) {
	otlp := `{"resourceLogs":[{"resource":{"attributes":[{"key":"logRecords","value":{"arrayValue":{"values":[1,2]}}}]},
		"scopeLogs":[{"scope":{"name":"]}"},"logRecords":[{"body":{"kvlistValue":{"values":[{"key":"a"}]}}},{}]},{"log_records":[1,2,3]}]},
		{"scope_logs":[{"logRecords":[[],"x"]}]}], "extra": [[[{}]]]}`
	c := func(body string, path [][]string, limit int) (int, bool) {
		return jsonCount([]byte(body+strings.Repeat(" ", 2*limit)), path, limit)
	}
	n, over := c(otlp, otlpJSONPath, 100)
	assert.Equal(t, 7, n)
	assert.False(t, over)
	n, over = c(otlp, otlpJSONPath, 4)
	assert.True(t, over)
	assert.Equal(t, 5, n)
	loki := `{"streams":[{"stream":{"values":"x"},"values":[["1","a"],["2","b",{"k":"v"}]]},{"\u0076alues":[["3","c"]]}]}`
	n, _ = c(loki, lokiJSONPath, 100)
	assert.Equal(t, 3, n)
	n, over = c(`{"streams":[{"values":[[1],[2],[3`, lokiJSONPath, 100)
	assert.False(t, over, "malformed: %d", n)
	n, _ = c(`[{"a":[1,2]},[3,4],"5]",6]`, nil, 100)
	assert.Equal(t, 4, n, "no path: the document's elements")
	n, _ = c(`{"a":[1,2]}`, nil, 100)
	assert.Equal(t, 0, n, "no path: not an array")
	n, over = jsonCount([]byte(`{"streams":[{"values":[1,2,3]}]}`), lokiJSONPath, 100)
	assert.Equal(t, 0, n, "too short to pass the limit: not counted")
	assert.False(t, over)
}

// BenchmarkJSONCount: counting the records of a 10 MiB OTLP/JSON body of
// 50k records (the pre-scan cost a full body pays).
func BenchmarkJSONCount(b *testing.B) {
	rec := `{"timeUnixNano":"1700000000000000000","severityText":"INFO","body":{"stringValue":"` + strings.Repeat("x", 120) +
		`"},"attributes":[{"key":"k","value":{"intValue":"1"}}]}`
	body := []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[` + strings.TrimSuffix(strings.Repeat(rec+",", 50_000), ",") + `]}]}]}`)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if n, over := jsonCount(body, otlpJSONPath, 100_000); over || n != 50_000 {
			b.Fatal(n, over)
		}
	}
}

// jsonCountRef is jsonCount the slow way, on the decoded document.
func jsonCountRef(doc any, path [][]string) int {
	if len(path) == 0 {
		arr, _ := doc.([]any)
		return len(arr)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return 0
	}
	n := 0
	for k, v := range m {
		if !slices.Contains(path[0], k) {
			continue
		}
		arr, _ := v.([]any)
		if len(path) == 1 {
			n += len(arr)
			continue
		}
		for _, e := range arr {
			n += jsonCountRef(e, path[1:])
		}
	}
	return n
}

// FuzzJSONCount: on valid JSON, jsonCount agrees with counting the
// decoded document.
func FuzzJSONCount(f *testing.F) {
	for _, s := range []string{
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{},1,"a\\\"]",[[]],null]}]}]}`,
		`{"streams":[{"stream":{"a":"b"},"values":[["1","x"],["2","y"]]},{"values":[]}]}`,
		`{"resource_logs":[{"scope_logs":[{"log_records":[{"body":{"stringValue":"}]"}}]},{"logRecords":{}}]}],"x":[1,{"logRecords":[1]}]}`,
		`[{"streams":[{"values":[1]}]}]`, `"x"`, `{"str\u0065ams":[{"values":[1, 2 , 3 ]}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var doc any
		if json.Unmarshal([]byte(s), &doc) != nil {
			return
		}
		// Keys repeated in an object: the decoder keeps the last, the
		// scan counts both; not a case to compare.
		for _, path := range [][][]string{otlpJSONPath, lokiJSONPath, nil} {
			pad := []byte(s + strings.Repeat(" ", 2*len(s)+2))
			want := jsonCountRef(doc, path)
			got, over := jsonCount(pad, path, len(s)+1)
			if got != want {
				if dupKeys(s) {
					return
				}
				t.Fatalf("%s: counted %d, want %d (over %v)", s, got, want, over)
			}
		}
	})
}

// dupKeys reports whether some object of the JSON text s repeats a key.
func dupKeys(s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	type container struct {
		keys map[string]bool // nil for an array
		key  bool            // an object expects a key next
	}
	var stack []*container
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if tok == json.Delim('}') || tok == json.Delim(']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if len(stack) > 0 {
			if top := stack[len(stack)-1]; top.keys != nil {
				if top.key {
					k, _ := tok.(string)
					if top.keys[k] {
						return true
					}
					top.keys[k], top.key = true, false
					continue
				}
				top.key = true
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &container{keys: map[string]bool{}, key: true})
		case json.Delim('['):
			stack = append(stack, &container{})
		}
	}
}
