package httpsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sluicehq/sluice/internal/connecttest"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	logs "go.opentelemetry.io/proto/otlp/logs/v1"
)

// attackEndpoint is one protocol endpoint, with the Content-Type its
// bodies carry.
type attackEndpoint struct{ name, path, ct string }

// attackEndpoints are every protocol's ingest endpoints.
var attackEndpoints = []attackEndpoint{
	{"json", "/", "application/json"},
	{"es bulk", "/idx/_bulk", "application/x-ndjson"},
	{"hec event", "/services/collector/event", "application/json"},
	{"hec raw", "/services/collector/raw", "text/plain"},
	{"loki json", "/loki/api/v1/push", "application/json"},
	{"loki protobuf", "/loki/api/v1/push", "application/x-protobuf"},
	{"otlp json", "/v1/logs", "application/json"},
	{"otlp protobuf", "/v1/logs", "application/x-protobuf"},
}

// hecChannel is a channel GUID for the HEC ack endpoint.
const hecChannel = "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba"

// checkOnlyGood posts one good line and checks it is all the topic holds:
// nothing before it was written.
func checkOnlyGood(t *testing.T, w *connecttest.Worker, url, topic string) {
	t.Helper()
	status, answer, _ := post(t, url+"/", []byte(`{"id":"good"}`), "Content-Type", "application/json")
	require.Equal(t, 200, status, answer)
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 1, "only the good request's event was written")
	assert.Contains(t, string(recs[0].Value), `"good"`)
}

// compressed returns data through an encoder writing to a buffer.
func compressed(t *testing.T, data []byte, enc func(*bytes.Buffer) interface {
	Write([]byte) (int, error)
	Close() error
}) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := enc(&b)
	for off := 0; off < len(data); off += 1 << 20 {
		_, err := zw.Write(data[off:min(off+1<<20, len(data))])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// TestAttackCompressionBombs: on every endpoint, each encoding's bomb (a
// body within max.request.bytes that decodes far beyond it) gets 413
// naming max.request.bytes, a corrupt or lying one 400 (413 for a snappy
// header claiming more than the limit, a zstd window beyond it); Loki's
// inner snappy (a protobuf push without Content-Encoding) too. The heap
// stays within a few limits and nothing is written.
func TestAttackCompressionBombs(t *testing.T) {
	const limit = 256 << 10
	w, url, _, topic := startConnector(t, map[string]string{"max.request.bytes": fmt.Sprint(limit)})
	zeros := make([]byte, 16<<20)
	gz := compressed(t, zeros, func(b *bytes.Buffer) interface {
		Write([]byte) (int, error)
		Close() error
	} {
		return gzip.NewWriter(b)
	})
	zl := compressed(t, zeros, func(b *bytes.Buffer) interface {
		Write([]byte) (int, error)
		Close() error
	} {
		return zlib.NewWriter(b)
	})
	gzSmall := compressed(t, []byte(`{"id":"truncated"}`), func(b *bytes.Buffer) interface {
		Write([]byte) (int, error)
		Close() error
	} {
		return gzip.NewWriter(b)
	})
	// A zstd frame stating its size, and a stream that does not.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	require.NoError(t, err)
	zsSized := enc.EncodeAll(zeros, nil)
	require.NoError(t, enc.Close())
	zsStream := compressed(t, zeros, func(b *bytes.Buffer) interface {
		Write([]byte) (int, error)
		Close() error
	} {
		zw, err := zstd.NewWriter(b, zstd.WithEncoderConcurrency(1))
		require.NoError(t, err)
		return zw
	})
	// A frame asking for a 2 TiB window: no content size, window
	// descriptor exponent 31, then one raw last block of 10 bytes.
	zsWindow := append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 10<<3 | 1, 0, 0}, bytes.Repeat([]byte("a"), 10)...)
	// Snappy blocks: a real bomb (4 MiB of zeros in ~190 KiB), the same
	// with a header claiming 10 bytes, and a header claiming 2 GiB.
	sn := s2.EncodeSnappy(nil, zeros[:4<<20])
	require.Less(t, len(sn), limit)
	_, hdr := protowire.ConsumeVarint(sn)
	snShort := append(protowire.AppendVarint(nil, 10), sn[hdr:]...)
	snHuge := append(protowire.AppendVarint(nil, 2<<30), bytes.Repeat([]byte{0}, 100)...)

	type bomb struct {
		name, encoding string
		body           []byte
		status         int
		msg            string
	}
	bombs := []bomb{
		{"gzip", "gzip", gz, 413, "max.request.bytes"},
		{"deflate", "deflate", zl, 413, "max.request.bytes"},
		{"zstd sized", "zstd", zsSized, 413, "max.request.bytes"},
		{"zstd stream", "zstd", zsStream, 413, "max.request.bytes"},
		{"zstd window", "zstd", zsWindow, 413, "max.request.bytes"},
		{"snappy", "snappy", sn, 413, "max.request.bytes"},
		{"snappy short header", "snappy", snShort, 400, "snappy"},
		{"snappy huge header", "snappy", snHuge, 413, "max.request.bytes"},
		{"gzip truncated", "gzip", gzSmall[:len(gzSmall)/2], 400, "gzip"},
	}
	base := liveHeap()
	sampler := sampleHeap()
	for _, e := range attackEndpoints {
		for _, b := range bombs {
			status, answer, _ := post(t, url+e.path, b.body, "Content-Type", e.ct, "Content-Encoding", b.encoding,
				"X-Splunk-Request-Channel", hecChannel)
			assert.Equal(t, b.status, status, "%s, %s: %s", e.name, b.name, answer)
			assert.Contains(t, answer, b.msg, "%s, %s", e.name, b.name)
		}
	}
	// Loki's protobuf push is a snappy block even without
	// Content-Encoding, decoded within the same limit.
	for _, b := range bombs {
		if b.encoding != "snappy" {
			continue
		}
		status, answer, _ := post(t, url+"/loki/api/v1/push", b.body, "Content-Type", "application/x-protobuf")
		assert.Equal(t, b.status, status, "loki inner, %s: %s", b.name, answer)
		assert.Contains(t, answer, b.msg, "loki inner, %s", b.name)
	}
	peak := sampler.Stop()
	t.Logf("live heap %d MiB before, peak %d MiB", base>>20, peak>>20)
	// The limit a few times over, and the decoders' own state (zstd's
	// window, up to 8 MiB; gzip's dictionary): below the 16 MiB, 32 MiB
	// with its buffer's doubling, a decoded bomb would take.
	assert.Less(t, peak, base+24<<20, "no bomb decoded beyond the limit")
	checkOnlyGood(t, w, url, topic)

	// A small body from a streaming zstd encoder declares its 8 MiB
	// window whatever its size: not refused for it.
	small := compressed(t, []byte(`{"id":"zstd"}`), func(b *bytes.Buffer) interface {
		Write([]byte) (int, error)
		Close() error
	} {
		zw, err := zstd.NewWriter(b, zstd.WithEncoderConcurrency(1))
		require.NoError(t, err)
		return zw
	})
	status, answer, _ := post(t, url+"/", small, "Content-Type", "application/json", "Content-Encoding", "zstd")
	assert.Equal(t, 200, status, answer)
}

// TestAttackDeepNesting: a million [ (or {"a": levels) on every JSON
// endpoint is a 400 — no stack overflow, no crash — and nesting the JSON
// decoder accepts (up to 1000 levels) is written whole through the
// worker's converter.
func TestAttackDeepNesting(t *testing.T) {
	w, url, _, topic := startConnector(t, map[string]string{"max.request.bytes": fmt.Sprint(8 << 20), "hec.ack.enabled": "true"})
	arrays := bytes.Repeat([]byte("["), 1_000_000)
	objects := bytes.Repeat([]byte(`{"a":`), 500_000)
	for _, e := range attackEndpoints {
		if !strings.Contains(e.ct, "json") {
			continue
		}
		for what, deep := range map[string][]byte{"arrays": arrays, "objects": objects} {
			bodies := [][]byte{deep}
			if e.name == "es bulk" { // as the action line, and as the source of a valid one
				bodies = append(bodies, append([]byte("{\"index\":{}}\n"), deep...))
			}
			for i, body := range bodies {
				status, answer, _ := post(t, url+e.path, body, "Content-Type", e.ct, "X-Splunk-Request-Channel", hecChannel)
				if status == 200 && e.name == "es bulk" {
					assert.Contains(t, answer, `"errors":true`, "es bulk, %s %d: a per-item error", what, i)
					assert.Contains(t, answer, "mapper_parsing_exception", "es bulk, %s %d", what, i)
					continue
				}
				assert.Equal(t, 400, status, "%s, %s %d: %.300s", e.name, what, i, answer)
			}
		}
	}
	status, answer, _ := post(t, url+"/services/collector/ack", append([]byte(`{"acks":`), arrays...),
		"X-Splunk-Request-Channel", hecChannel)
	assert.Equal(t, 400, status, "hec ack: %.300s", answer)

	// Deep but within what the JSON decoder takes (1000 levels):
	// accepted, and the converter writes it; one level more is a 400.
	const depth = 998
	ok := []byte(`{"id":"deep","v":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + "}")
	status, answer, _ = post(t, url+"/", ok, "Content-Type", "application/json")
	require.Equal(t, 200, status, answer)
	recs := connecttest.Consume(t, w.Broker, topic, 1, 20*1e9)
	require.Len(t, recs, 1)
	assert.Equal(t, depth, bytes.Count(recs[0].Value, []byte("[")), "written whole")
	tooDeep := []byte(`{"id":"deep","v":` + strings.Repeat("[", depth+2) + strings.Repeat("]", depth+2) + "}")
	status, answer, _ = post(t, url+"/", tooDeep, "Content-Type", "application/json")
	assert.Equal(t, 400, status, answer)
	assert.Contains(t, answer, "nesting depth")
}

// TestAttackManyItems: bodies of many tiny items get 413 naming
// max.events.per.request on every protocol, an Elasticsearch _bulk of
// deletes or malformed lines included (each is an item of the answer);
// a HEC /ack with more ids than it answers is a 400; a record with 30k
// attributes is one event; malformed protobuf on Loki and OTLP is a 400.
// Nothing refused is written.
func TestAttackManyItems(t *testing.T) {
	const maxEvents = 1000
	w, url, _, topic := startConnector(t, map[string]string{
		"max.events.per.request": fmt.Sprint(maxEvents), "max.request.bytes": fmt.Sprint(4 << 20), "hec.ack.enabled": "true",
	})
	n := maxEvents + 1
	var otlpMany collogs.ExportLogsServiceRequest
	sl := &logs.ScopeLogs{}
	for range n {
		sl.LogRecords = append(sl.LogRecords, &logs.LogRecord{})
	}
	otlpMany.ResourceLogs = []*logs.ResourceLogs{{ScopeLogs: []*logs.ScopeLogs{sl}}}
	otlpManyPB, err := proto.Marshal(&otlpMany)
	require.NoError(t, err)
	lokiEntries := `{"streams":[{"stream":{"app":"a"},"values":[` + strings.TrimSuffix(strings.Repeat(`["1700000000000000000","x"],`, n), ",") + `]}]}`
	for _, c := range []struct {
		name, path, ct string
		body           []byte
		msg            string
	}{
		{"json array", "/", "application/json", []byte("[" + strings.TrimSuffix(strings.Repeat("{},", n), ",") + "]"), "max.events.per.request (1000)"},
		{"ndjson", "/", "application/x-ndjson", bytes.Repeat([]byte("1\n"), n), "max.events.per.request (1000)"},
		{"es deletes", "/idx/_bulk", "application/x-ndjson", bytes.Repeat([]byte(`{"delete":{"_id":"1"}}`+"\n"), n), "max.events.per.request (1000)"},
		{"es malformed lines", "/idx/_bulk", "application/x-ndjson", bytes.Repeat([]byte("{}\n"), 3*n), "max.events.per.request (1000)"},
		{"es index", "/idx/_bulk", "application/x-ndjson", bytes.Repeat([]byte("{\"index\":{}}\n{}\n"), n), "max.events.per.request (1000)"},
		{"hec", "/services/collector/event", "application/json", bytes.Repeat([]byte(`{"event":1}`), n), "max.events.per.request (1000)"},
		{"hec raw", "/services/collector/raw?channel=" + hecChannel, "text/plain", bytes.Repeat([]byte("x\n"), n), "max.events.per.request (1000)"},
		{"loki", "/loki/api/v1/push", "application/json", []byte(lokiEntries), "max.events.per.request (1000)"},
		{"otlp", "/v1/logs", "application/x-protobuf", otlpManyPB, "max.events.per.request (1000)"},
	} {
		status, answer, _ := post(t, url+c.path, c.body, "Content-Type", c.ct, "X-Splunk-Request-Channel", hecChannel)
		assert.Equal(t, 413, status, "%s: %.300s", c.name, answer)
		assert.Contains(t, answer, c.msg, c.name)
	}

	// A million-ish ack ids: refused as a whole, in bounded time.
	acks := []byte(`{"acks":[` + strings.TrimSuffix(strings.Repeat("1,", 400_000), ",") + "]}")
	status, answer, _ := post(t, url+"/services/collector/ack", acks, "X-Splunk-Request-Channel", hecChannel)
	assert.Equal(t, 400, status, "hec ack: %.300s", answer)
	assert.Contains(t, answer, "more than 100000 acks")

	// Malformed protobuf: a truncated varint, a wrong wire type, a length
	// past the end.
	for _, body := range [][]byte{{0x0a, 0xff}, {0x0b, 0x01}, {0x0a, 0x7f, 0x01}} {
		sn := s2.EncodeSnappy(nil, body)
		status, answer, _ := post(t, url+"/loki/api/v1/push", sn, "Content-Type", "application/x-protobuf")
		assert.Equal(t, 400, status, "loki %x: %s", body, answer)
		status, answer, _ = post(t, url+"/v1/logs", body, "Content-Type", "application/x-protobuf")
		assert.Equal(t, 400, status, "otlp %x: %s", body, answer)
	}

	// Nothing so far was written. One record of 30k attributes (a record
	// under the broker's 1 MB message.max.bytes) is one event, written
	// whole.
	lr := &logs.LogRecord{Body: &common.AnyValue{Value: &common.AnyValue_StringValue{StringValue: "wide"}}}
	for i := range 30_000 {
		lr.Attributes = append(lr.Attributes, &common.KeyValue{Key: fmt.Sprint("k", i), Value: &common.AnyValue{Value: &common.AnyValue_IntValue{IntValue: int64(i)}}})
	}
	wide, err := proto.Marshal(&collogs.ExportLogsServiceRequest{ResourceLogs: []*logs.ResourceLogs{{ScopeLogs: []*logs.ScopeLogs{{LogRecords: []*logs.LogRecord{lr}}}}}})
	require.NoError(t, err)
	status, answer, _ = post(t, url+"/v1/logs", wide, "Content-Type", "application/x-protobuf")
	require.Equal(t, 200, status, answer)
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 1, "only the wide record")
	var v map[string]any
	require.NoError(t, json.Unmarshal(recs[0].Value, &v))
	attrs, _ := v["attributes"].(map[string]any)
	assert.Len(t, attrs, 30_000, "value %.200s", recs[0].Value)
}

// TestAttackDuplicates documents delivery: the same body sent N times is
// written N times — at-least-once, no deduplication is claimed.
func TestAttackDuplicates(t *testing.T) {
	w, url, _, topic := startConnector(t, nil)
	for range 3 {
		status, answer, _ := post(t, url+"/", []byte(`{"id":"same"}`), "Content-Type", "application/json")
		require.Equal(t, 200, status, answer)
	}
	assert.Len(t, connecttest.ConsumeAll(t, w.Broker, topic), 3)
}
