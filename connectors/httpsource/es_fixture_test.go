package httpsource

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bulkAnswer is a _bulk answer as the shippers read it.
type bulkAnswer struct {
	Errors *bool                       `json:"errors"`
	Items  []map[string]bulkAnswerItem `json:"items"`
}

type bulkAnswerItem struct {
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

// TestESFixtures sends each shipper's recorded request (testdata/es-*,
// described in testdata/es-fixtures.md) and checks the events and that
// the shipper counts the answer delivered by its own rule.
func TestESFixtures(t *testing.T) {
	cases := []struct {
		file, path, ctype string
		gzip              bool
		events            int
		index             string
		times             []time.Time
		delivered         func(t *testing.T, status int, body string)
	}{
		{
			file: "es-fluentbit.ndjson", path: "/_bulk", ctype: "application/x-ndjson", events: 3, index: "fluent-bit",
			times: []time.Time{time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC), time.Date(2024, 5, 1, 10, 0, 1, 0, time.UTC),
				time.Date(2024, 5, 1, 10, 0, 2, 500e6, time.UTC)},
			// es.c: 200/201, a non-empty body, and "errors":false or an item 200/201.
			delivered: func(t *testing.T, status int, body string) {
				require.Contains(t, []int{200, 201}, status)
				require.NotEmpty(t, body)
				var a bulkAnswer
				require.NoError(t, json.Unmarshal([]byte(body), &a))
				require.NotNil(t, a.Errors)
				assert.False(t, *a.Errors)
			},
		},
		{
			file: "es-filebeat.ndjson", path: "/_bulk?filter_path=errors,items.*.error,items.*.status",
			ctype: "application/json; charset=UTF-8", gzip: true, events: 2, index: "filebeat-8.19.0",
			times: []time.Time{time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 10, 0, 0, 250e6, time.UTC)},
			// client.go: exactly 200; per item status < 300 or 409 is done;
			// 429/5xx retried; other 4xx dropped. The delete is answered
			// 404 not_found, which Beats does not retry.
			delivered: func(t *testing.T, status int, body string) {
				require.Equal(t, 200, status)
				var a bulkAnswer
				require.NoError(t, json.Unmarshal([]byte(body), &a))
				require.Len(t, a.Items, 3)
				for i, it := range a.Items[:2] {
					st := it["create"].Status
					assert.True(t, st < 300 || st == 409, "item %d: %d", i, st)
				}
				assert.Equal(t, 404, a.Items[2]["delete"].Status)
				assert.Nil(t, a.Items[2]["delete"].Error, "not_found is no error")
				assert.NotContains(t, body, `"_index"`, "filter_path honoured")
			},
		},
		{
			file: "es-vector.ndjson", path: "/_bulk", ctype: "application/x-ndjson", events: 2, index: "vector-2024.05.01",
			times: []time.Time{{}, time.Date(2024, 5, 1, 10, 0, 0, 223456789, time.UTC)},
			// retry.rs: 2xx and no literal "errors":true.
			delivered: func(t *testing.T, status int, body string) {
				require.True(t, status >= 200 && status < 300)
				assert.NotContains(t, body, `"errors":true`)
				assert.Contains(t, body, `"errors":false`)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + tc.file)
			require.NoError(t, err)
			c := &captureEndpoint{settings: Settings{ESVersion: "8.19.0"}}
			url := serveCapture(t, c, routesES)
			body := raw
			if tc.gzip {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				_, _ = zw.Write(raw)
				require.NoError(t, zw.Close())
				body = b.Bytes()
			}
			req, err := http.NewRequest("POST", url+tc.path, bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.ctype)
			if tc.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			out, _ := io.ReadAll(resp.Body)
			tc.delivered(t, resp.StatusCode, string(out))

			ev := c.Events()
			require.Len(t, ev, tc.events)
			for i, e := range ev {
				idx, _ := e.Get("index")
				assert.Equal(t, tc.index, idx)
				assert.True(t, tc.times[i].Equal(e.Time), "event %d time %v, want %v", i, e.Time, tc.times[i])
				_, isObj := objectValue(t, e.Value)
				assert.True(t, isObj)
			}
			if strings.Contains(tc.file, "filebeat") {
				p, _ := ev[1].Get("pipeline")
				assert.Equal(t, "filebeat-8.19.0-nginx-access-pipeline", p)
			}
			if strings.Contains(tc.file, "fluentbit") {
				id, _ := ev[2].Get("id")
				assert.Equal(t, "5b1b9c3e-0c4f-7a7e-2d2b-7c1b1a0e9f11", id)
				_, hasType := object(t, ev[0].Value)["_type"]
				assert.False(t, hasType, "_type is ignored")
			}
		})
	}
}
