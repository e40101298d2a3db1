package httpsource

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
	resource "go.opentelemetry.io/proto/otlp/resource/v1"
)

// Requests as shippers we cannot run here send them, built from their
// sources (fluent/fluent-bit@d55459d, vectordotdev/vector).

// TestLokiVectorFixture: Vector's loki sink with its default
// compression=snappy sends a protobuf PushRequest, snappy block, with
// Content-Type: application/x-protobuf, Content-Encoding: snappy and
// X-Scope-OrgID from tenant_id [src: vector src/sinks/loki/service.rs
// LokiService::call; config.rs]. Labels are printed sorted, `k="v"`
// joined by ", ", hash 0 (left out), timestamps split as ns/1e9 and
// ns%1e9 [src: vector lib/loki-logproto/src/lib.rs
// encode_labels_map_to_string, From<Entry> for EntryAdapter]; with the
// json codec the line is the event as JSON.
func TestLokiVectorFixture(t *testing.T) {
	const ns = int64(1764583200123456789)
	pb := lokiPB(lokiPBStream{
		labels: `{agent="vector", file="/var/log/app.log", host="web-1"}`,
		entries: []lokiPBEntry{
			{secs: ns / 1e9, nanos: ns % 1e9, line: `{"host":"web-1","message":"GET /health 200","source_type":"file"}`},
			{secs: ns/1e9 + 1, line: `{"host":"web-1","message":"POST /cart 201","source_type":"file"}`,
				md: [][2]string{{"trace_id", "5b8efff798038103d269b633813fc60c"}}},
		},
	})
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesLoki)
	code, _, msg := lokiPost(t, url, s2.EncodeSnappy(nil, pb), "Content-Type", "application/x-protobuf",
		"Content-Encoding", "snappy", "X-Scope-OrgID", "tenant1", "User-Agent", "Vector/0.49.0")
	require.Equal(t, http.StatusNoContent, code, msg)
	ev := c.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, `{"host":"web-1","message":"GET /health 200","source_type":"file"}`, ev[0].Value)
	assert.Equal(t, time.Unix(0, ns).UTC(), ev[0].Time)
	assert.Equal(t, []Field{{"labels.agent", "vector"}, {"labels.file", "/var/log/app.log"},
		{"labels.host", "web-1"}}, ev[0].Meta)
	v, _ := ev[1].Get("metadata.trace_id")
	assert.Equal(t, "5b8efff798038103d269b633813fc60c", v)
	assert.Equal(t, time.Unix(ns/1e9+1, 0).UTC(), ev[1].Time)
}

// TestLokiFluentBitFixture: Fluent Bit's loki output sends JSON only
// (Content-Type: application/json, plugins/out_loki/loki.h:29-31),
// User-Agent Fluent-Bit, X-Scope-OrgID from tenant_id, gzip with
// compress gzip (loki.c:1923-1997); the default label is
// job="fluent-bit" (loki.c:597-604), timestamps are decimal ns strings
// (pack_timestamp, loki.c:1256-1266), the line is the record as JSON
// with line_format json (the default), and a third element carries
// structured_metadata when configured (loki.c:1650-1745).
func TestLokiFluentBitFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/loki_fluentbit.json")
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(body)
	require.NoError(t, zw.Close())
	c := &captureEndpoint{}
	url := serveCapture(t, c, routesLoki)
	code, _, msg := lokiPost(t, url, gz.Bytes(), "Content-Type", "application/json", "Content-Encoding", "gzip",
		"User-Agent", "Fluent-Bit", "X-Scope-OrgID", "shop")
	require.Equal(t, http.StatusNoContent, code, msg)
	ev := c.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, `{"log":"GET /health 200","stream":"stdout"}`, ev[0].Value)
	assert.Equal(t, time.Unix(0, 1764583200123456789).UTC(), ev[0].Time)
	assert.Equal(t, []Field{{"labels.job", "fluent-bit"}, {"metadata.trace_id", "5b8efff798038103d269b633813fc60c"}}, ev[0].Meta)
	assert.Equal(t, []Field{{"labels.job", "fluent-bit"}, {"labels.namespace", "shop"}, {"labels.pod", "cart-7d9f"},
		{"metadata.trace_id", ""}}, ev[2].Meta)
}

// TestOTLPFluentBitFixture: Fluent Bit's opentelemetry output POSTs a
// protobuf ExportLogsServiceRequest to /v1/logs with Content-Type
// application/x-protobuf and User-Agent Fluent-Bit
// (plugins/out_opentelemetry/opentelemetry.c:284-296), gzip or zstd with
// compress (opentelemetry.c:225-244, 332-336). A record from a non-OTLP
// input has an empty resource and scope, time_unix_nano from the event
// time and the body from $log or $message (opentelemetry_logs.c:293-330,
// 597; opentelemetry_conf.c:75-88); records that came in over OTLP keep
// their resource and scope (opentelemetry_logs.c:966, 1099, 1455-1458).
func TestOTLPFluentBitFixture(t *testing.T) {
	const ns = uint64(1764583200123456789)
	req := &collogs.ExportLogsServiceRequest{ResourceLogs: []*logs.ResourceLogs{
		{Resource: &resource.Resource{}, ScopeLogs: []*logs.ScopeLogs{{Scope: &common.InstrumentationScope{}, LogRecords: []*logs.LogRecord{
			{TimeUnixNano: ns, Body: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "tail line 1"}}},
			{TimeUnixNano: ns + 1, Body: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "tail line 2"}}},
		}}}},
		{Resource: &resource.Resource{Attributes: []*common.KeyValue{strAttr("service.name", "cart")}},
			ScopeLogs: []*logs.ScopeLogs{{Scope: &common.InstrumentationScope{Name: "cart.logger", Version: "2.1"},
				LogRecords: []*logs.LogRecord{{TimeUnixNano: ns + 2, ObservedTimeUnixNano: ns + 3, SeverityNumber: 9, SeverityText: "INFO",
					Body:       &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "forwarded"}},
					Attributes: []*common.KeyValue{strAttr("http.route", "/cart")}}}}}},
	}}
	pb, err := proto.Marshal(req)
	require.NoError(t, err)
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	body := enc.EncodeAll(pb, nil)
	require.NoError(t, enc.Close())

	c := &captureEndpoint{}
	url := serveCapture(t, c, routesOTLP)
	code, h, resp := otlpPost(t, url, "application/x-protobuf", body, "Content-Encoding", "zstd", "User-Agent", "Fluent-Bit")
	require.Equal(t, http.StatusOK, code, string(resp))
	assert.Equal(t, "application/x-protobuf", h.Get("Content-Type"))
	ev := c.Events()
	require.Len(t, ev, 3)
	assert.Equal(t, map[string]any{"timeUnixNano": "1764583200123456789", "body": "tail line 1"}, ev[0].Value)
	assert.Empty(t, ev[0].Meta)
	assert.Equal(t, time.Unix(0, int64(ns)+2).UTC(), ev[2].Time)
	assert.Equal(t, []Field{{"resource.service.name", "cart"}, {"scope.name", "cart.logger"}, {"scope.version", "2.1"}}, ev[2].Meta)
	assert.Equal(t, map[string]any{"http.route": "/cart"}, ev[2].Value.(map[string]any)["attributes"])
}
