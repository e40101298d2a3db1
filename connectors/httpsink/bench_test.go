package httpsink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// BenchmarkSinkRecords measures records/s sent to a local HTTP server in
// batches of 500, JSON bodies of ~100-byte records.
func BenchmarkSinkRecords(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	config := map[string]string{"name": "bench", "connector.class": Class, "http.api.url": srv.URL,
		"batch.max.size": "500", "request.body.format": "json"}
	task := newSinkTask()
	if err := task.Start(&connecttest.SinkContext{Props: config}, config); err != nil {
		b.Fatal(err)
	}
	defer task.Stop()
	const per = 500
	rs := make([]*connect.Record, per)
	for i := range rs {
		rs[i] = &connect.Record{Topic: "t", Offset: int64(i), Key: fmt.Sprint(i),
			Value: map[string]any{"id": int64(i), "message": "GET /index.html 200 1024 0.003s", "host": "web-01", "level": "info"}}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := task.Put(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := task.Flush(ctx, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "records/s")
}
