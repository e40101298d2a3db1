package httpsource

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// esDo sends one request and returns the status, headers and body.
func esDo(t *testing.T, method, url, ctype, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func TestESRootAndHealth(t *testing.T) {
	c := &captureEndpoint{settings: Settings{ESVersion: "9.1.3"}}
	url := serveCapture(t, c, routesES)
	code, h, body := esDo(t, "GET", url+"/", "", "")
	require.Equal(t, 200, code)
	assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"))
	var doc struct {
		Version struct{ Number, BuildFlavor string } `json:"version"`
		Tagline string                               `json:"tagline"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	assert.Equal(t, "9.1.3", doc.Version.Number)
	assert.Equal(t, "You Know, for Search", doc.Tagline)
	assert.Contains(t, body, `"build_flavor":"default"`)
	assert.Contains(t, body, `"lucene_version":"10.`)

	code, h, body = esDo(t, "HEAD", url+"/", "", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"))
	assert.Empty(t, body)

	code, _, body = esDo(t, "GET", url+"/_cluster/health", "", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"status":"green"`)

	c.settings.ESVersion = ""
	_, _, body = esDo(t, "GET", url+"/", "", "")
	assert.Contains(t, body, `"number":"`+esDefaultVersion+`"`)
}

func TestESSetupCalls(t *testing.T) {
	url := serveCapture(t, &captureEndpoint{}, routesES)
	for _, p := range []string{"/_index_template/filebeat-8.19.0", "/_template/logstash", "/_ilm/policy/filebeat",
		"/_ingest/pipeline/filebeat-8.19.0-nginx", "/_component_template/x"} {
		code, h, body := esDo(t, "GET", url+p, "", "")
		assert.Equal(t, 404, code, p)
		assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"), p)
		assert.Contains(t, body, `"type":"resource_not_found_exception"`, p)
		code, _, _ = esDo(t, "HEAD", url+p, "", "")
		assert.Equal(t, 404, code, p)
		code, _, body = esDo(t, "PUT", url+p, "application/json", `{"index_patterns":["x-*"]}`)
		assert.Equal(t, 200, code, p)
		assert.JSONEq(t, `{"acknowledged":true}`, body, p)
	}
	for _, p := range []string{"/_license", "/_xpack", "/_nodes", "/_nodes/_local/ingest"} {
		code, _, body := esDo(t, "GET", url+p, "", "")
		assert.Equal(t, 200, code, p)
		assert.True(t, json.Valid([]byte(body)), p)
	}
	_, _, body := esDo(t, "GET", url+"/_xpack", "", "")
	assert.Contains(t, body, `"ilm":{"available":true,"enabled":true}`)
}

func TestESBulkParsesItemsAndEvents(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesES)
	body := `{"create":{"_index":"logs","_type":"_doc"}}
{"@timestamp":"2024-05-01T10:00:00.123Z","message":"one"}
{"index":{"_id":"a1","pipeline":"p1","routing":"r1"}}
{"@timestamp":1714557600000,"message":"two","n":12345678901234567890}

{"delete":{"_index":"logs","_id":"x"}}
{"update":{"_id":"u"}}
{"doc":{"message":"three"}}
{"create":{}}
["not an object"]
{"create":{"_index":"logs"}}
{"message":"no timestamp"}
`
	code, h, resp := esDo(t, "POST", url+"/fallback/_bulk?pipeline=qp", "application/x-ndjson", body)
	require.Equal(t, 200, code, resp)
	assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"))
	assert.Contains(t, resp, `"errors":true`, "compact, as Vector reads it")

	var r struct {
		Errors bool                                    `json:"errors"`
		Items  []map[string]map[string]json.RawMessage `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp), &r))
	require.Len(t, r.Items, 6)
	status := func(i int, action string) string {
		t.Helper()
		it, ok := r.Items[i][action]
		require.True(t, ok, "item %d is %v, want %s", i, r.Items[i], action)
		return string(it["status"])
	}
	assert.Equal(t, "201", status(0, "create"))
	assert.Equal(t, `"created"`, string(r.Items[0]["create"]["result"]))
	assert.Len(t, strings.Trim(string(r.Items[0]["create"]["_id"]), `"`), 20, "a generated _id")
	assert.Equal(t, "201", status(1, "index"))
	assert.Equal(t, `"a1"`, string(r.Items[1]["index"]["_id"]))
	assert.Equal(t, `"fallback"`, string(r.Items[1]["index"]["_index"]))
	assert.Equal(t, "404", status(2, "delete"))
	assert.Equal(t, `"not_found"`, string(r.Items[2]["delete"]["result"]))
	assert.Nil(t, r.Items[2]["delete"]["error"], "a delete of nothing is no error")
	assert.Equal(t, "400", status(3, "update"))
	assert.Contains(t, string(r.Items[3]["update"]["error"]), "not supported")
	assert.Equal(t, "400", status(4, "create"))
	assert.Contains(t, string(r.Items[4]["create"]["error"]), `mapper_parsing_exception`)
	assert.Contains(t, string(r.Items[4]["create"]["error"]), `line [10]`)
	assert.Equal(t, "201", status(5, "create"))

	ev := c.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, "one", object(t, ev[0].Value)["message"])
	assert.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC), ev[0].Time)
	assert.Equal(t, []Field{{"index", "logs"}, {"pipeline", "qp"}, {"action", "create"}}, ev[0].Meta)
	assert.Equal(t, time.UnixMilli(1714557600000).UTC(), ev[1].Time)
	// Numbers as Kafka's JsonConverter reads them: an integer beyond
	// 64 bits wraps, as its longValue does.
	assert.Equal(t, int64(-6101065172474983726), object(t, ev[1].Value)["n"], "numbers as the JsonConverter reads them")
	assert.Equal(t, []Field{{"index", "fallback"}, {"id", "a1"}, {"pipeline", "p1"}, {"routing", "r1"}, {"action", "index"}}, ev[1].Meta)
	assert.True(t, ev[2].Time.IsZero())
	assert.Equal(t, []string{ProtoES, ProtoES, ProtoES}, c.protos)
}

func TestESBulkMalformedActionResyncs(t *testing.T) {
	items, events, perr := parseBulk([]byte(`{"index":{"_index":"a"}}
{"m":1}
{"index":{"_index":"a"}
{"m":2}
{"bogus":{}}
{"m":3}
{"index":{"_index":"a"}}
{"m":4}
{"create":{"_index":"a"}}`), bulkDefaults{})
	require.Nil(t, perr)
	require.Len(t, items, 5)
	assert.Equal(t, 201, items[0].status)
	assert.Equal(t, 400, items[1].status)
	assert.Contains(t, items[1].reason, "line [3]")
	assert.Equal(t, 400, items[2].status)
	assert.Contains(t, items[2].reason, "found [bogus]")
	assert.Equal(t, 201, items[3].status)
	assert.Equal(t, 400, items[4].status, "an action without its source line")
	require.Len(t, events, 2)
	assert.Equal(t, int64(4), object(t, events[1].Value)["m"])
}

func TestESBulkWholeRequestErrors(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesES)
	for name, body := range map[string]string{"empty": "", "array": `[{"index":{}}]`, "text": "hello world\n"} {
		code, h, resp := esDo(t, "POST", url+"/_bulk", "application/json", body)
		assert.Equal(t, 400, code, name)
		assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"), name)
		assert.Contains(t, resp, `"status":400`, name)
		assert.Contains(t, resp, `"root_cause":[`, name)
	}
	code, _, resp := esDo(t, "POST", url+"/_bulk", "text/html", "{}\n")
	assert.Equal(t, 406, code)
	assert.Contains(t, resp, "text/html")
	assert.Empty(t, c.Events(), "nothing written")
}

func TestESBulkContentTypes(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesES)
	for _, ct := range []string{"application/x-ndjson", "application/json; charset=UTF-8",
		"application/vnd.elasticsearch+x-ndjson; compatible-with=9", "application/vnd.elasticsearch+json;compatible-with=8", ""} {
		code, h, resp := esDo(t, "POST", url+"/i/_bulk", ct, "{\"index\":{}}\n{\"a\":1}\n",
			"Accept", "application/vnd.elasticsearch+json; compatible-with=9")
		assert.Equal(t, 200, code, ct+": "+resp)
		assert.Equal(t, "application/vnd.elasticsearch+json;compatible-with=9", h.Get("Content-Type"))
	}
	assert.Len(t, c.Events(), 5)
}

func TestESBulkFilterPath(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesES)
	body := "{\"create\":{\"_index\":\"a\"}}\n{\"x\":1}\n{\"create\":{\"_index\":\"a\"}}\n[]\n"
	_, _, resp := esDo(t, "POST", url+"/_bulk?filter_path=errors,items.*.error,items.*.status", "application/json", body)
	assert.JSONEq(t, `{"errors":true,"items":[{"create":{"status":201}},
		{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse the source on line [4]: the document is a JSON array, not an object"}}}]}`, resp)
	_, _, resp = esDo(t, "POST", url+"/_bulk?filter_path=errors,items.*.error", "application/json", "{\"create\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, `{"errors":false}`, resp, "items left empty are dropped")
	_, _, resp = esDo(t, "POST", url+"/_bulk?filter_path=**.result", "application/json", "{\"create\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, `{"items":[{"create":{"result":"created"}}]}`, resp)
	_, _, resp = esDo(t, "POST", url+"/_bulk?filter_path=nothing", "application/json", "{\"create\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, `{}`, resp)
}

func TestESBulkBusyAndTooLarge(t *testing.T) {
	c := &captureEndpoint{Fail: &Error{Status: http.StatusServiceUnavailable, Msg: "the queue is full", RetryAfter: 1500 * time.Millisecond}}
	url := serveCapture(t, c, routesES)
	code, h, resp := esDo(t, "POST", url+"/_bulk", "application/x-ndjson", "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, 429, code, "busy is a whole-request 429, retried by every ES client")
	assert.Equal(t, "2", h.Get("Retry-After"))
	assert.Contains(t, resp, `"type":"es_rejected_execution_exception"`)
	assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"))

	c.Fail = &Error{Status: http.StatusRequestEntityTooLarge, Msg: "1001 events exceed max.events.per.request (1000)"}
	code, _, resp = esDo(t, "POST", url+"/_bulk", "application/x-ndjson", "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, 413, code, "Beats splits the batch on 413")
	assert.Contains(t, resp, "max.events.per.request")

	c.Fail, c.limit = nil, 10
	code, _, resp = esDo(t, "POST", url+"/_bulk", "application/x-ndjson", "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, 413, code)
	assert.Contains(t, resp, "max.request.bytes")
	assert.Empty(t, c.Events())
}

func TestESAuth(t *testing.T) {
	c := &captureEndpoint{token: "s3cret"}
	url := serveCapture(t, c, routesES)
	code, h, resp := esDo(t, "POST", url+"/_bulk", "application/x-ndjson", "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n")
	assert.Equal(t, 401, code)
	assert.Contains(t, h.Values("WWW-Authenticate"), `Basic realm="security", charset="UTF-8"`)
	assert.Equal(t, "Elasticsearch", h.Get("X-Elastic-Product"))
	assert.Contains(t, resp, `"type":"security_exception"`)
	code, _, _ = esDo(t, "GET", url+"/", "", "", "Authorization", "Bearer wrong")
	assert.Equal(t, 403, code)
	code, _, _ = esDo(t, "POST", url+"/_bulk", "application/x-ndjson", "{\"index\":{\"_index\":\"a\"}}\n{\"x\":1}\n", "Authorization", "Bearer s3cret")
	assert.Equal(t, 200, code)
	assert.Len(t, c.Events(), 1)
}

func TestESTimestamp(t *testing.T) {
	for in, want := range map[any]time.Time{
		"2024-05-01T10:00:00Z":        time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		"2024-05-01T12:00:00.5+02:00": time.Date(2024, 5, 1, 10, 0, 0, 5e8, time.UTC),
		"2024-05-01T10:00:00":         time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		"2024-05-01":                  time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
		"1714557600000":               time.UnixMilli(1714557600000).UTC(),
		json.Number("1714557600001"):  time.UnixMilli(1714557600001).UTC(),
		"yesterday":                   {},
		nil:                           {},
	} {
		assert.True(t, want.Equal(esTimestamp(in)), "%v: got %v, want %v", in, esTimestamp(in), want)
	}
}

func TestESJSONEncoding(t *testing.T) {
	v := esObj{{"a\"b", "x<y>\n\u00e9"}, {"n", 3}, {"l", int64(-4)}, {"t", true}, {"num", json.Number("1.5")},
		{"arr", []any{esObj{}, "s"}}, {"nil", nil}, {"f", 2.5}}
	got, err := json.Marshal(v)
	require.NoError(t, err)
	assert.Equal(t, `{"a\"b":"x\u003cy\u003e\né","n":3,"l":-4,"t":true,"num":1.5,"arr":[{},"s"],"nil":null,"f":2.5}`, string(got))
	assert.True(t, json.Valid(got))
}

// TestBulkAnswerWrittenStraight: the answer written without building its
// tree is byte for byte the tree's, for created, refused and not-found
// items, ids given or not, names that need escaping.
func TestBulkAnswerWrittenStraight(t *testing.T) {
	items := []bulkItem{
		{action: "create", index: "logs", id: "a1", status: 201},
		{action: "index", index: "lo\"gs", status: 201},
		{action: "delete", index: "logs", id: "x", status: 404},
		{action: "update", index: "logs", status: 400, errTyp: "action_request_validation_exception", reason: "update (line [5]) is not supported\n"},
		{action: "create", index: "logs", id: "é", status: 429, errTyp: "es_rejected_execution_exception", reason: "busy"},
		{action: "create", index: "logs", status: 201},
	}
	for _, list := range [][]bulkItem{items, items[:1], items[2:3], nil} {
		want, err := appendESJSON(nil, bulkResponse(list, 7*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(appendBulkAnswer(nil, list, 7*time.Millisecond)))
	}
}
