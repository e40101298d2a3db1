package httpsource

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"os"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSONFixtures sends the generic-JSON requests of Fluent Bit's http
// output and Vector's http sink (testdata/json-*, described in
// testdata/json-fixtures.md) with each shipper's headers and encodings:
// each parses to one event per record, timed by the shipper's own
// timestamp field, and is answered 200, which both count as delivered.
func TestJSONFixtures(t *testing.T) {
	fluentTimes := []time.Time{time.UnixMicro(1714979289123456), time.UnixMilli(1714979289500), time.Unix(1714979290, 0)}
	vectorTimes := []time.Time{time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC), time.Date(2024, 5, 6, 7, 8, 10, 500e6, time.UTC)}
	const fluentBit, vector = "Fluent-Bit", "Vector/0.46.1 (x86_64-unknown-linux-gnu)"
	cases := []struct {
		name, file, agent, ctype, encoding, tsField, textField string
		times                                                  []time.Time
	}{
		{"fluent-bit json", "json-fluentbit.json", fluentBit, "application/json", "", "date", "log", fluentTimes},
		{"fluent-bit json gzip", "json-fluentbit.json", fluentBit, "application/json", "gzip", "date", "log", fluentTimes},
		{"fluent-bit json_lines", "json-fluentbit-lines.ndjson", fluentBit, "application/x-ndjson", "", "date", "log", fluentTimes},
		{"vector json zstd", "json-vector.json", vector, "application/json", "zstd", "timestamp", "message", vectorTimes},
		{"vector json zlib", "json-vector.json", vector, "application/json", "deflate", "timestamp", "message", vectorTimes},
		{"vector ndjson", "json-vector.ndjson", vector, "application/x-ndjson", "", "timestamp", "message", vectorTimes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + c.file)
			require.NoError(t, err)
			ep := &captureEndpoint{settings: Settings{JSONPaths: []string{"/"}, TimestampField: c.tsField}}
			url := serveCapture(t, ep, routesJSON)
			headers := []string{"Content-Type", c.ctype, "User-Agent", c.agent}
			body := raw
			if c.encoding != "" {
				body = encodeFixture(t, c.encoding, raw)
				headers = append(headers, "Content-Encoding", c.encoding)
			}
			status, answer, _ := post(t, url+"/", body, headers...)
			require.Equal(t, 200, status, answer)
			events := ep.Events()
			require.Len(t, events, len(c.times))
			for i, e := range events {
				assert.True(t, c.times[i].Equal(e.Time), "event %d: time %v, want %v", i, e.Time, c.times[i])
				obj, ok := objectValue(t, e.Value)
				require.True(t, ok, "event %d is an object: %T", i, e.Value)
				assert.NotEmpty(t, obj[c.textField], "event %d keeps its %s", i, c.textField)
			}
		})
	}
}

// encodeFixture compresses b as a Content-Encoding names it.
func encodeFixture(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch enc {
	case "gzip":
		w := gzip.NewWriter(&buf)
		_, err := w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case "deflate":
		w := zlib.NewWriter(&buf)
		_, err := w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case "zstd":
		w, err := zstd.NewWriter(&buf)
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	default:
		t.Fatalf("no encoder for %s", enc)
	}
	return buf.Bytes()
}
