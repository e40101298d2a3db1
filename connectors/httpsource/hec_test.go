package httpsource

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hecDo sends one HEC request; hdr are header name/value pairs.
func hecDo(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, hecReplyJSON) {
	t.Helper()
	code, h, resp := esDo(t, method, url, "", body, hdr...)
	var r hecReplyJSON
	require.NoError(t, json.Unmarshal([]byte(resp), &r), resp)
	r.raw = resp
	return code, h, r
}

// hecReplyJSON is a decoded HEC answer.
type hecReplyJSON struct {
	Text         string  `json:"text"`
	Code         int     `json:"code"`
	InvalidEvent *int    `json:"invalid-event-number"`
	AckID        *uint64 `json:"ackId"`
	raw          string
}

const testChannel = "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba"

func TestHECEvents(t *testing.T) {
	c := &captureEndpoint{token: "tok"}
	url := serveCapture(t, c, routesHEC)
	body := `{"time":1714557600.25,"host":"web1","source":"nginx","sourcetype":"access","index":"main","event":"GET / 200","fields":{"dc":"eu","tags":["a","b"],"n":3}}` +
		`{"event":{"msg":"structured","n":1}}` + "\n\n" +
		`{"time":"1714557601","event":"string time","host":""}`
	code, _, r := hecDo(t, "POST", url+"/services/collector/event?host=qhost&sourcetype=qst", body,
		"Authorization", "Splunk tok", "X-Splunk-Request-Channel", testChannel)
	require.Equal(t, 200, code, r.raw)
	assert.Equal(t, `{"text":"Success","code":0}`, r.raw, "exactly 200 and Splunk's body; no ackId without hec.ack.enabled")

	ev := c.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, "GET / 200", ev[0].Value)
	assert.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 250e6, time.UTC), ev[0].Time)
	assert.Equal(t, []Field{{"host", "web1"}, {"source", "nginx"}, {"sourcetype", "access"}, {"index", "main"},
		{"fields.dc", "eu"}, {"fields.n", "3"}, {"fields.tags", "a"}, {"fields.tags", "b"}, {"channel", testChannel}}, ev[0].Meta)
	assert.Equal(t, map[string]any{"msg": "structured", "n": json.Number("1")}, ev[1].Value)
	assert.True(t, ev[1].Time.IsZero())
	assert.Equal(t, []Field{{"host", "qhost"}, {"sourcetype", "qst"}, {"channel", testChannel}}, ev[1].Meta, "the query string gives defaults")
	assert.Equal(t, time.Unix(1714557601, 0).UTC(), ev[2].Time)
	h, _ := ev[2].Get("host")
	assert.Equal(t, "qhost", h, "an empty host takes the default")

	for _, p := range []string{"/services/collector", "/services/collector/event/1.0"} {
		code, _, _ := hecDo(t, "POST", url+p, `{"event":"x"}`, "Authorization", "Splunk tok")
		assert.Equal(t, 200, code, p)
	}
	assert.Len(t, c.Events(), 5)
	assert.Equal(t, ProtoHEC, c.protos[0])
}

func TestHECMalformedIsAllOrNothing(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesHEC)
	cases := []struct {
		name, body string
		code       int
		event      int
		text       string
	}{
		{"syntax", `{"event":"ok"}{"event":"bad"`, 6, 1, "event 1 at byte 14"},
		{"no event", `{"event":"ok"}{"host":"h"}`, 12, 1, "Event field is required"},
		{"null event", `{"event":null}`, 12, 0, "Event field is required"},
		{"blank", `{"event":"ok"}{"event":"  "}`, 13, 1, "Event field cannot be blank"},
		{"bad time", `{"event":"ok","time":"yesterday"}`, 6, 0, "Invalid data format"},
		{"object field", `{"event":"ok","fields":{"x":{"y":1}}}`, 15, 0, `field "x"`},
		{"not an object", `["event"]`, 6, 0, "event 0"},
	}
	for _, tc := range cases {
		code, _, r := hecDo(t, "POST", url+"/services/collector/event", tc.body)
		assert.Equal(t, 400, code, tc.name)
		assert.Equal(t, tc.code, r.Code, tc.name+": "+r.raw)
		if assert.NotNil(t, r.InvalidEvent, tc.name) {
			assert.Equal(t, tc.event, *r.InvalidEvent, tc.name)
		}
		assert.Contains(t, r.Text, tc.text, tc.name)
	}
	code, _, r := hecDo(t, "POST", url+"/services/collector/event", " \n")
	assert.Equal(t, 400, code)
	assert.Equal(t, 5, r.Code)
	assert.Empty(t, c.Events(), "nothing of a refused request is written")
}

func TestHECRaw(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesHEC)
	code, _, r := hecDo(t, "POST", url+"/services/collector/raw?host=h1&source=s&sourcetype=syslog&index=ix&time=1714557600&channel="+testChannel,
		"  first line \r\nsecond\n\n")
	require.Equal(t, 200, code, r.raw)
	ev := c.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, "  first line ", ev[0].Value)
	assert.Equal(t, "second", ev[1].Value)
	assert.Equal(t, time.Unix(1714557600, 0).UTC(), ev[0].Time)
	assert.Equal(t, []Field{{"host", "h1"}, {"source", "s"}, {"sourcetype", "syslog"}, {"index", "ix"}, {"channel", testChannel}}, ev[1].Meta)
	code, _, r = hecDo(t, "POST", url+"/services/collector/raw/1.0", "\n")
	assert.Equal(t, 400, code)
	assert.Equal(t, 5, r.Code)
}

func TestHECAuth(t *testing.T) {
	c := &captureEndpoint{token: "tok"}
	url := serveCapture(t, c, routesHEC)
	ev := `{"event":"x"}`
	for _, tc := range []struct {
		name   string
		status int
		code   int
		hdr    []string
		query  string
	}{
		{"none", 401, 2, nil, ""},
		{"wrong token", 403, 4, []string{"Authorization", "Splunk nope"}, ""},
		{"unknown scheme", 401, 3, []string{"Authorization", "Token tok"}, ""},
		{"query string", 400, 16, nil, "?token=tok"},
	} {
		code, _, r := hecDo(t, "POST", url+"/services/collector/event"+tc.query, ev, tc.hdr...)
		assert.Equal(t, tc.status, code, tc.name)
		assert.Equal(t, tc.code, r.Code, tc.name)
	}
	assert.Empty(t, c.Events())
	code, _, r := hecDo(t, "GET", url+"/services/collector/health/1.0", "")
	assert.Equal(t, 200, code, "health needs no token")
	assert.Equal(t, `{"text":"HEC is healthy","code":17}`, r.raw)
	code, _, _ = hecDo(t, "GET", url+"/services/collector/health", "")
	assert.Equal(t, 200, code)
}

func TestHECBusyAndTooLarge(t *testing.T) {
	c := &captureEndpoint{Fail: &Error{Status: http.StatusTooManyRequests, Msg: "the queue is full", RetryAfter: 3 * time.Second}}
	url := serveCapture(t, c, routesHEC)
	code, h, r := hecDo(t, "POST", url+"/services/collector/event", `{"event":"x"}`)
	assert.Equal(t, 503, code)
	assert.Equal(t, 9, r.Code)
	assert.Equal(t, "3", h.Get("Retry-After"))
	c.Fail, c.limit = nil, 5
	code, _, r = hecDo(t, "POST", url+"/services/collector/event", `{"event":"x"}`)
	assert.Equal(t, 413, code)
	assert.Contains(t, r.Text, "max.request.bytes")
}

func TestHECAcks(t *testing.T) {
	c := &captureEndpoint{settings: Settings{HECAck: true}}
	url := serveCapture(t, c, routesHEC)
	code, _, r := hecDo(t, "POST", url+"/services/collector/event", `{"event":"x"}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, 10, r.Code, "a channel is required with acks")
	code, _, r = hecDo(t, "POST", url+"/services/collector/event", `{"event":"x"}`, "X-Splunk-Request-Channel", "not-a-guid")
	assert.Equal(t, 400, code)
	assert.Equal(t, 11, r.Code)

	var ids []uint64
	for i := 0; i < 3; i++ {
		code, _, r = hecDo(t, "POST", url+"/services/collector/event", `{"event":"x"}`, "X-Splunk-Request-Channel", testChannel)
		require.Equal(t, 200, code, r.raw)
		require.NotNil(t, r.AckID, r.raw)
		ids = append(ids, *r.AckID)
	}
	assert.Equal(t, []uint64{ids[0], ids[0] + 1, ids[0] + 2}, ids)
	code, _, r = hecDo(t, "POST", url+"/services/collector/raw?channel="+testChannel, "line")
	require.Equal(t, 200, code)
	require.NotNil(t, r.AckID)

	code, _, resp := esDo(t, "POST", url+"/services/collector/ack?channel="+testChannel, "",
		`{"acks":[0,1,2,3]}`)
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"acks":{"0":true,"1":true,"2":true,"3":true}}`, resp)
	code, _, r = hecDo(t, "POST", url+"/services/collector/ack", `{"acks":[0]}`)
	assert.Equal(t, 400, code)
	assert.Equal(t, 10, r.Code)
	code, _, r = hecDo(t, "POST", url+"/services/collector/ack", `{"acks":"x"}`, "X-Splunk-Request-Channel", testChannel)
	assert.Equal(t, 400, code)
	assert.Equal(t, 6, r.Code)
	big := `{"acks":[` + strings.Repeat("1,", hecMaxAckIDs) + `1]}`
	code, _, r = hecDo(t, "POST", url+"/services/collector/ack", big, "X-Splunk-Request-Channel", testChannel)
	assert.Equal(t, 400, code, "an ack query is bounded")
	assert.Contains(t, r.Text, "acks asked at once")

	c.settings.HECAck = false
	code, _, r = hecDo(t, "POST", url+"/services/collector/ack", `{"acks":[0]}`, "X-Splunk-Request-Channel", testChannel)
	assert.Equal(t, 400, code)
	assert.Equal(t, 14, r.Code)
}

// TestAllRoutesOneMux registers ES and HEC next to a catch-all POST /
// (where the core may put the generic JSON endpoint) and the other
// protocols' paths: no pattern conflicts.
func TestAllRoutesOneMux(t *testing.T) {
	mux := http.NewServeMux()
	c := &captureEndpoint{}
	routesES(mux, c)
	routesHEC(mux, c)
	nop := func(http.ResponseWriter, *http.Request) {}
	for _, p := range []string{"POST /", "POST /loki/api/v1/push", "GET /ready", "POST /v1/logs"} {
		mux.HandleFunc(p, nop)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/", "GET /{$}"},
		{"POST", "/logs/_bulk", "POST /{index}/_bulk"},
		{"PUT", "/_index_template/x", "PUT /{first}/{second}"},
		{"POST", "/v1/logs", "POST /v1/logs"},
		{"POST", "/anything", "POST /"},
		{"POST", "/services/collector/event", "POST /services/collector/event"},
	} {
		r, _ := http.NewRequest(tc.method, tc.path, nil)
		_, pat := mux.Handler(r)
		assert.Equal(t, tc.want, pat, tc.path)
	}
}
