package httpsource

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// lokiPB builds a logproto.PushRequest by hand, with the field numbers
// of push.proto, so the tests depend on no Loki module.
type lokiPBStream struct {
	labels  string
	entries []lokiPBEntry
	hash    uint64 // written when not zero, as protobuf encoders do
}

type lokiPBEntry struct {
	secs, nanos int64
	line        string
	md          [][2]string
}

func lokiPB(streams ...lokiPBStream) []byte {
	var req []byte
	for _, s := range streams {
		var sb []byte
		sb = protowire.AppendTag(sb, 1, protowire.BytesType)
		sb = protowire.AppendString(sb, s.labels)
		for _, e := range s.entries {
			var ts []byte
			if e.secs != 0 { // proto3 leaves zero values out
				ts = protowire.AppendTag(ts, 1, protowire.VarintType)
				ts = protowire.AppendVarint(ts, uint64(e.secs))
			}
			if e.nanos != 0 {
				ts = protowire.AppendTag(ts, 2, protowire.VarintType)
				ts = protowire.AppendVarint(ts, uint64(e.nanos))
			}
			var eb []byte
			eb = protowire.AppendTag(eb, 1, protowire.BytesType)
			eb = protowire.AppendBytes(eb, ts)
			eb = protowire.AppendTag(eb, 2, protowire.BytesType)
			eb = protowire.AppendString(eb, e.line)
			for _, kv := range e.md {
				var p []byte
				p = protowire.AppendTag(p, 1, protowire.BytesType)
				p = protowire.AppendString(p, kv[0])
				p = protowire.AppendTag(p, 2, protowire.BytesType)
				p = protowire.AppendString(p, kv[1])
				eb = protowire.AppendTag(eb, 3, protowire.BytesType)
				eb = protowire.AppendBytes(eb, p)
			}
			sb = protowire.AppendTag(sb, 2, protowire.BytesType)
			sb = protowire.AppendBytes(sb, eb)
		}
		if s.hash != 0 {
			sb = protowire.AppendTag(sb, 3, protowire.VarintType)
			sb = protowire.AppendVarint(sb, s.hash)
		}
		req = protowire.AppendTag(req, 1, protowire.BytesType)
		req = protowire.AppendBytes(req, sb)
	}
	return req
}

func lokiPost(t *testing.T, url string, body []byte, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/loki/api/v1/push", bytes.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestLokiJSONPush(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesLoki)
	body := `{"streams":[
	  {"stream":{"job":"api","env":"prod"},"values":[
	     ["1700000000000000001","first line"],
	     ["1700000000000000002","second line",{"trace_id":"abc","user":"u1"}]]},
	  {"stream":{"job":"db"},"values":[[1700000000000000003,"third"]]}]}`
	code, _, msg := lokiPost(t, url, []byte(body), "Content-Type", "application/json", "X-Scope-OrgID", "team-a")
	require.Equal(t, http.StatusNoContent, code, msg)
	ev := c.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, "first line", ev[0].Value)
	assert.Equal(t, time.Unix(0, 1700000000000000001).UTC(), ev[0].Time)
	assert.Equal(t, []Field{{"labels.env", "prod"}, {"labels.job", "api"}}, ev[0].Meta)
	assert.Equal(t, []Field{{"labels.env", "prod"}, {"labels.job", "api"},
		{"metadata.trace_id", "abc"}, {"metadata.user", "u1"}}, ev[1].Meta)
	assert.Equal(t, "third", ev[2].Value)
	assert.Equal(t, time.Unix(0, 1700000000000000003).UTC(), ev[2].Time)
	assert.Equal(t, []string{ProtoLoki, ProtoLoki, ProtoLoki}, c.protos)
}

func TestLokiJSONGzip(t *testing.T) {
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesLoki)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","zipped"]]}]}`))
	require.NoError(t, zw.Close())
	code, _, msg := lokiPost(t, url, buf.Bytes(), "Content-Type", "application/json; charset=utf-8", "Content-Encoding", "gzip")
	require.Equal(t, http.StatusNoContent, code, msg)
	require.Len(t, c.Events(), 1)
	assert.Equal(t, "zipped", c.Events()[0].Value)
	assert.Equal(t, time.Unix(0, 1).UTC(), c.Events()[0].Time)

	// A zero timestamp is none: the record gets the request's time.
	code, _, msg = lokiPost(t, url, []byte(`{"streams":[{"stream":{"a":"b"},"values":[["0","no time"]]}]}`), "Content-Type", "application/json")
	require.Equal(t, http.StatusNoContent, code, msg)
	assert.True(t, c.Events()[1].Time.IsZero())
}

// TestLokiProtobuf covers both ways a protobuf push comes: a snappy
// block without Content-Encoding (Promtail, Alloy, Loki's own clients)
// and with Content-Encoding: snappy (Vector), plus no Content-Type.
func TestLokiProtobuf(t *testing.T) {
	pb := lokiPB(lokiPBStream{labels: `{app="web", path="C:\\logs\\a \"b\"", "dotted.name"="x"}`, hash: 12345, entries: []lokiPBEntry{
		{secs: 1700000000, nanos: 5, line: "GET /", md: [][2]string{{"trace_id", "t1"}}},
		{secs: 1700000001, line: "POST /"},
	}})
	snappy := s2.EncodeSnappy(nil, pb)
	for name, headers := range map[string][]string{
		"x-protobuf, no Content-Encoding":   {"Content-Type", "application/x-protobuf"},
		"no Content-Type":                   nil,
		"Content-Encoding: snappy (Vector)": {"Content-Type", "application/x-protobuf", "Content-Encoding", "snappy"},
	} {
		t.Run(name, func(t *testing.T) {
			c := &captureEndpoint{}
			url := serveCapture(t, c, routesLoki)
			code, _, msg := lokiPost(t, url, snappy, headers...)
			require.Equal(t, http.StatusNoContent, code, msg)
			ev := c.Events()
			require.Len(t, ev, 2)
			assert.Equal(t, "GET /", ev[0].Value)
			assert.Equal(t, time.Unix(1700000000, 5).UTC(), ev[0].Time)
			assert.Equal(t, []Field{{"labels.app", "web"}, {"labels.dotted.name", "x"}, {"labels.path", `C:\logs\a "b"`},
				{"metadata.trace_id", "t1"}}, ev[0].Meta)
			assert.Equal(t, "POST /", ev[1].Value)
		})
	}
}

func TestLokiBadInput(t *testing.T) {
	pbNoLabels := s2.EncodeSnappy(nil, lokiPB(lokiPBStream{labels: "{}", entries: []lokiPBEntry{{secs: 1, line: "x"}}}))
	pbBadLabels := s2.EncodeSnappy(nil, lokiPB(lokiPBStream{labels: `{app="x`, entries: []lokiPBEntry{{secs: 1, line: "x"}}}))
	for _, tc := range []struct {
		name, ct string
		body     []byte
		want     string
	}{
		{"malformed JSON", "application/json", []byte(`{"streams":[`), "the JSON push body"},
		{"JSON no labels", "application/json", []byte(`{"streams":[{"stream":{},"values":[["1","x"]]}]}`),
			"stream 0: error at least one label pair is required per stream"},
		{"JSON missing stream", "application/json", []byte(`{"streams":[{"values":[["1","x"]]}]}`),
			"at least one label pair is required"},
		{"JSON label not a string", "application/json", []byte(`{"streams":[{"stream":{"a":1},"values":[["1","x"]]}]}`),
			`stream 0: label "a" is not a string`},
		{"JSON bad timestamp", "application/json", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x"],["soon","y"]]}]}`),
			`stream 0 {a="b"}, entry 1: the timestamp "soon"`},
		{"JSON negative timestamp", "application/json", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["-5","x"]]}]}`),
			`entry 0: the timestamp "-5" is not a non-negative integer`},
		{"JSON short entry", "application/json", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1"]]}]}`),
			"entry 0: has 1 elements"},
		{"JSON line not a string", "application/json", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1",{"x":1}]]}]}`),
			"entry 0: the line is not a string"},
		{"JSON metadata not strings", "application/json", []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":true}]]}]}`),
			`structured metadata "k" is not a string`},
		{"protobuf no labels", "application/x-protobuf", pbNoLabels, "stream 0: error at least one label pair is required per stream"},
		{"protobuf bad labels", "application/x-protobuf", pbBadLabels, "stream 0: error parsing labels"},
		{"protobuf not snappy", "application/x-protobuf", []byte("\x0a\xff\xff\xff\xff\x0fgarbage"), "not a snappy block"},
		{"protobuf truncated", "application/x-protobuf", s2.EncodeSnappy(nil, []byte("\x0a\x10abc")), "the protobuf push body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &captureEndpoint{}
			url := serveCapture(t, c, routesLoki)
			code, h, msg := lokiPost(t, url, tc.body, "Content-Type", tc.ct)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.Contains(t, msg, tc.want)
			assert.True(t, strings.HasPrefix(h.Get("Content-Type"), "text/plain"))
			assert.Empty(t, c.Events(), "nothing is delivered from a bad request")
		})
	}
}

func TestLokiLimits(t *testing.T) {
	c := &captureEndpoint{limit: 1000}
	url := serveCapture(t, c, routesLoki)
	// The snappy block's decoded size is checked against the same limit.
	big := s2.EncodeSnappy(nil, lokiPB(lokiPBStream{labels: `{a="b"}`, entries: []lokiPBEntry{{secs: 1, line: strings.Repeat("x", 5000)}}}))
	require.Less(t, len(big), 1000)
	code, _, msg := lokiPost(t, url, big, "Content-Type", "application/x-protobuf")
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, msg, "max.request.bytes")
	code, _, msg = lokiPost(t, url, bytes.Repeat([]byte(" "), 2000), "Content-Type", "application/json")
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	assert.Contains(t, msg, "max.request.bytes")
	assert.Empty(t, c.Events())
}

func TestLokiBusyAndAuth(t *testing.T) {
	c := &captureEndpoint{token: "s3cret", Fail: &Error{Status: http.StatusTooManyRequests, Msg: "the queue is full", RetryAfter: 1500 * time.Millisecond}}
	url := serveCapture(t, c, routesLoki)
	body := []byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x"]]}]}`)
	code, _, _ := lokiPost(t, url, body, "Content-Type", "application/json")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = lokiPost(t, url, body, "Content-Type", "application/json", "Authorization", "Bearer wrong")
	assert.Equal(t, http.StatusForbidden, code)
	code, h, msg := lokiPost(t, url, body, "Content-Type", "application/json", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusTooManyRequests, code)
	assert.Equal(t, "2", h.Get("Retry-After"))
	assert.Contains(t, msg, "the queue is full")

	c.mu.Lock()
	c.Fail = io.ErrUnexpectedEOF // not an *Error: still never a 500
	c.mu.Unlock()
	code, h, _ = lokiPost(t, url, body, "Content-Type", "application/json", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "1", h.Get("Retry-After"))

	c.mu.Lock()
	c.Fail = nil
	c.mu.Unlock()
	code, _, _ = lokiPost(t, url, body, "Content-Type", "application/json", "Authorization", "Bearer s3cret")
	assert.Equal(t, http.StatusNoContent, code)
	assert.Len(t, c.Events(), 1)
}

func TestLokiEmptyPushAndReady(t *testing.T) {
	c := &captureEndpoint{Fail: &Error{Status: http.StatusServiceUnavailable, Msg: "busy"}}
	url := serveCapture(t, c, routesLoki)
	code, _, _ := lokiPost(t, url, []byte(`{"streams":[]}`), "Content-Type", "application/json")
	assert.Equal(t, http.StatusNoContent, code, "an empty push delivers nothing, so it cannot be busy")
	code, _, _ = lokiPost(t, url, nil, "Content-Type", "application/x-protobuf")
	assert.Equal(t, http.StatusNoContent, code)
	// As Loki's distributor, a stream without entries is skipped before
	// its labels are checked.
	code, _, _ = lokiPost(t, url, []byte(`{"streams":[{"stream":{},"values":[]}]}`), "Content-Type", "application/json")
	assert.Equal(t, http.StatusNoContent, code)
	code, _, _ = lokiPost(t, url, s2.EncodeSnappy(nil, lokiPB(lokiPBStream{labels: "{bad"})), "Content-Type", "application/x-protobuf")
	assert.Equal(t, http.StatusNoContent, code)

	resp, err := http.Get(url + "/ready")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ready\n", string(b))
}

func TestParseLokiLabels(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Field
		err  string
	}{
		{in: `{a="b"}`, want: []Field{{"a", "b"}}},
		{in: ` { job = "x" , app="y", } `, want: []Field{{"app", "y"}, {"job", "x"}}},
		{in: `{msg="tab\there \"q\" back\\slash \u00e9"}`, want: []Field{{"msg", "tab\there \"q\" back\\slash é"}}},
		{in: "{raw=`no \\escape`}", want: []Field{{"raw", `no \escape`}}},
		{in: `{"service.name"="checkout", _x1="2"}`, want: []Field{{"_x1", "2"}, {"service.name", "checkout"}}},
		{in: `{}`, want: nil},
		{in: `a="b"`, err: "must start with '{'"},
		{in: `{a="b"`, err: "expected ',' or '}'"},
		{in: `{a="b" c="d"}`, err: "expected ',' or '}'"},
		{in: `{1a="b"}`, err: "expected a label name"},
		{in: `{a=b}`, err: "expected a quoted value"},
		{in: `{a="b}`, err: "unterminated quoted string"},
		{in: `{a="\q"}`, err: "invalid quoted string"},
		{in: `{a="1", a="2"}`, err: `duplicate label name "a"`},
		{in: `{a="b"} x`, err: "unexpected text after '}'"},
		{in: `{""="b"}`, err: "empty label name"},
	} {
		got, err := parseLokiLabels(tc.in)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
}

// FuzzLokiDecode checks that no body crashes the decoders.
func FuzzLokiDecode(f *testing.F) {
	f.Add(lokiPB(lokiPBStream{labels: `{a="b"}`, entries: []lokiPBEntry{{secs: 1, line: "x", md: [][2]string{{"k", "v"}}}}}))
	f.Add([]byte(`{"streams":[{"stream":{"a":"b"},"values":[["1","x",{"k":"v"}]]}]}`))
	f.Fuzz(func(_ *testing.T, b []byte) {
		if s, err := decodeLokiProto(b); err == nil {
			_, _ = lokiEvents(s)
		}
		if s, err := decodeLokiJSON(b); err == nil {
			_, _ = lokiEvents(s)
		}
		_, _ = parseLokiLabels(string(b))
	})
}
