package httpsource

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// testConfig parses the minimal config plus extra.
func testConfig(t *testing.T, extra map[string]string) *config {
	t.Helper()
	props := map[string]string{"listeners": "127.0.0.1:0", "topic": "logs"}
	for k, v := range extra {
		props[k] = v
	}
	c, err := parseConfig(props)
	require.NoError(t, err)
	return c
}

func TestSanitizeTopic(t *testing.T) {
	for in, want := range map[string]string{
		"logs":                   "logs",
		"app-1.prod_x":           "app-1.prod_x",
		"my app/errors":          "my_app_errors",
		"é":                      "__",
		".":                      "_",
		"..":                     "__",
		"":                       "_",
		strings.Repeat("a", 300): strings.Repeat("a", 249),
	} {
		assert.Equal(t, want, kit.LegalTopic(in), "kit.LegalTopic(%q)", in)
	}
}

func TestTopicFormat(t *testing.T) {
	c := testConfig(t, map[string]string{"topic.format": "logs-${labels.app}.${tenant}"})
	b := builder{c}
	req := httptest.NewRequest("POST", "/", nil)
	req.Header.Set("X-Scope-OrgID", "team a")
	meta := requestMeta(req, ProtoLoki)

	r := b.record(&Event{Value: "x", Meta: []Field{{"labels.app", "web/1"}}}, meta, nil, time.Now())
	assert.Equal(t, "logs-web_1.team_a", r.Topic, "fields filled, then sanitised")

	r = b.record(&Event{Value: "x"}, meta, nil, time.Now())
	assert.Equal(t, "logs", r.Topic, "a missing field falls back to topic")

	_, err := parseConfig(map[string]string{"listeners": "127.0.0.1:0", "topic": "logs", "topic.format": "a-${index"})
	require.ErrorContains(t, err, "topic.format")
}

func TestMetadataLocations(t *testing.T) {
	ev := func() *Event {
		return &Event{Value: map[string]any{"msg": "hi", "n": json.Number("12345678901234567")}, Meta: []Field{{"index", "web"}}}
	}
	req := httptest.NewRequest("POST", "/", nil)
	req.Header.Set("X-Request-Id", "r1")
	meta := requestMeta(req, ProtoES)

	c := testConfig(t, map[string]string{"headers.keep": "x-request-id"})
	b := builder{c}
	r := b.record(ev(), meta, b.keptHeaders(req), time.Now())
	assert.Equal(t, map[string]any{"msg": "hi", "n": int64(12345678901234567)}, r.Value, "numbers become int64, exactly")
	assert.Nil(t, r.ValueSchema)
	assert.Equal(t, connect.Headers{
		{Key: "protocol", Schema: connect.StringSchema, Value: "elasticsearch"},
		{Key: "index", Schema: connect.StringSchema, Value: "web"},
		{Key: "X-Request-Id", Schema: connect.StringSchema, Value: "r1"},
	}, r.Headers)

	c = testConfig(t, map[string]string{"metadata.location": "value", "metadata.field": "_meta"})
	b = builder{c}
	r = b.record(ev(), meta, nil, time.Now())
	assert.Equal(t, map[string]any{"msg": "hi", "n": int64(12345678901234567),
		"_meta": map[string]any{"protocol": "elasticsearch", "index": "web"}}, r.Value)
	assert.Empty(t, r.Headers)
	r = b.record(&Event{Value: "a line"}, meta, nil, time.Now())
	assert.Equal(t, map[string]any{"message": "a line", "_meta": map[string]any{"protocol": "elasticsearch"}}, r.Value)

	c = testConfig(t, map[string]string{"metadata.location": "none"})
	r = builder{c}.record(ev(), meta, nil, time.Now())
	assert.Empty(t, r.Headers)
	assert.Equal(t, map[string]any{"msg": "hi", "n": int64(12345678901234567)}, r.Value)
}

func TestKeyField(t *testing.T) {
	meta := []Field{{"protocol", "json"}}
	arrived := time.Now()
	cases := []struct {
		field string
		ev    Event
		key   any
	}{
		{"", Event{Value: map[string]any{"host": "a"}}, nil},
		{"host", Event{Value: map[string]any{"host": "a"}}, "a"},
		{"host", Event{Value: map[string]any{"host": "a"}, Meta: []Field{{"host", "m"}}}, "m"}, // metadata first
		{"id", Event{Value: map[string]any{"id": json.Number("42")}}, "42"},
		{"obj", Event{Value: map[string]any{"obj": map[string]any{"a": true}}}, `{"a":true}`},
		{"host", Event{Value: map[string]any{"other": "a"}}, nil},
		{"host", Event{Value: "not an object"}, nil},
		{"protocol", Event{Value: "x"}, "json"},
	}
	for _, tc := range cases {
		r := builder{testConfig(t, map[string]string{"key.field": tc.field})}.record(&tc.ev, meta, nil, arrived)
		assert.Equal(t, tc.key, r.Key, "key.field=%q on %v", tc.field, tc.ev)
		if tc.key == nil {
			assert.Nil(t, r.KeySchema)
		}
	}
}

func TestTimestamps(t *testing.T) {
	want := time.Date(2024, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	for _, in := range []any{
		json.Number("1714979289.5"),        // Fluent Bit's date: float seconds
		json.Number("1714979289500"),       // milliseconds
		json.Number("1714979289500000"),    // microseconds
		json.Number("1714979289500000000"), // nanoseconds
		"2024-05-06T07:08:09.5Z",
		"2024-05-06T09:08:09.5+02:00",
		"1714979289500",
	} {
		got, err := parseTime(in)
		require.NoError(t, err, "%v", in)
		assert.True(t, want.Equal(got), "%v: got %s", in, got.UTC())
	}
	got, err := parseTime(json.Number("1714979289"))
	require.NoError(t, err)
	assert.True(t, want.Truncate(time.Second).Equal(got))
	for _, bad := range []any{"yesterday", true, json.Number("-5"), nil} {
		_, err := parseTime(bad)
		assert.Error(t, err, "%v", bad)
	}

	// The event time is the record time; without one, the arrival.
	arrived := time.Now()
	b := builder{testConfig(t, nil)}
	events, err := parseJSONEvents([]byte(`{"date":1714979289.5,"log":"a"}`+"\n"+`{"log":"b"}`), "date")
	require.NoError(t, err)
	assert.True(t, want.Equal(b.record(&events[0], nil, nil, arrived).Timestamp))
	assert.True(t, arrived.Equal(b.record(&events[1], nil, nil, arrived).Timestamp))

	events, err = parseJSONEvents([]byte(`{"date":"soon"}`), "date")
	require.NoError(t, err, "a date field that is no time is no error")
	assert.True(t, events[0].Time.IsZero(), "the event gets the arrival time")
}

func TestParseJSONEvents(t *testing.T) {
	count := func(body string) int {
		t.Helper()
		evs, err := parseJSONEvents([]byte(body), "")
		require.NoError(t, err, body)
		return len(evs)
	}
	assert.Equal(t, 1, count(`{"a":1}`))
	assert.Equal(t, 1, count("{\n  \"a\": 1\n}\n"), "a pretty-printed object is one event")
	assert.Equal(t, 3, count(`[{"a":1},{"a":2},"three"]`), "Fluent Bit's and Vector's JSON array")
	assert.Equal(t, 2, count("{\"a\":1}\n\n\r\n{\"a\":2}\n"), "NDJSON, blank lines skipped")
	assert.Equal(t, 2, count("[1]\n[2]\n"), "NDJSON of arrays: one event per line")
	assert.Equal(t, 0, count(" \n"))

	evs, err := parseJSONEvents([]byte(`{"big":123456789012345678901234567890,"n":9007199254740993}`), "")
	require.NoError(t, err)
	raw, ok := evs[0].Value.(connect.RawJSON)
	require.True(t, ok, "an object is kept as JSON text")
	v, err := convert.DecodeRawJSON(raw)
	require.NoError(t, err)
	assert.Equal(t, int64(9007199254740993), v.(map[string]any)["n"], "integers beyond 2^53 survive")

	_, err = parseJSONEvents([]byte("{\"a\":1}\n{\"a\":2}\n{\"a\":\n"), "")
	require.ErrorContains(t, err, "line 3")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 400, e.Status)
	_, err = parseJSONEvents([]byte("{\"a\":1}\n{oops}\n{\"a\":3}\n"), "")
	require.ErrorContains(t, err, "line 2 is not valid JSON")
}

func TestListenersValidation(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:0", "http://localhost:8080", "https://0.0.0.0:443", ":9200", "[::1]:80"} {
		_, err := listenerSyntax.Parse(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"localhost", "ftp://a:1", "http://a:1/path", "a:port", "a:70000"} {
		_, err := listenerSyntax.Parse(bad)
		assert.Error(t, err, bad)
	}
	_, err := parseConfig(map[string]string{"listeners": "https://127.0.0.1:0", "topic": "logs"})
	require.ErrorContains(t, err, "ssl.keystore.certificate.chain")
	_, err = parseConfig(map[string]string{"listeners": "127.0.0.1:0", "topic": "logs", "protocols": "json,graylog"})
	require.ErrorContains(t, err, `unknown protocol "graylog"`)
	_, err = parseConfig(map[string]string{"listeners": "127.0.0.1:0", "topic": "no/slash"})
	require.ErrorContains(t, err, "legal topic")
}

func TestTaskConfigsSplitListeners(t *testing.T) {
	c := &connector{}
	require.NoError(t, c.Start(nil, map[string]string{"name": "h", "listeners": "a:1,b:2,c:3", "topic": "logs"}))
	cfgs, err := c.TaskConfigs(2)
	require.NoError(t, err)
	require.Len(t, cfgs, 2)
	assert.Equal(t, "a:1,c:3", cfgs[0]["listeners"])
	assert.Equal(t, "b:2", cfgs[1]["listeners"])
	assert.Equal(t, "1", cfgs[1][taskIDKey])
	cfgs, err = c.TaskConfigs(10)
	require.NoError(t, err)
	assert.Len(t, cfgs, 3, "no more tasks than listeners")
}
