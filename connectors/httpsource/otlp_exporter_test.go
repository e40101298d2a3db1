package httpsource

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
)

// otlpGoServer serves routesOTLP over c, counting requests.
func otlpGoServer(t *testing.T, c *captureEndpoint) (string, *atomic.Int64) {
	t.Helper()
	mux := http.NewServeMux()
	routesOTLP(mux, c)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// otlpGoEmit sends n records through the real Go SDK and OTLP/HTTP
// exporter, with resource and scope attributes, and flushes them.
func otlpGoEmit(t *testing.T, url string, n int, opts ...otlploghttp.Option) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts = append([]otlploghttp.Option{otlploghttp.WithEndpointURL(url + "/v1/logs")}, opts...)
	exp, err := otlploghttp.New(ctx, opts...)
	require.NoError(t, err)
	res := sdkresource.NewSchemaless(attribute.String("service.name", "checkout"), attribute.Int("service.instance", 7))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(exp, sdklog.WithExportMaxBatchSize(n+1), sdklog.WithExportInterval(time.Hour))))
	defer func() { _ = lp.Shutdown(context.Background()) }()
	logger := lp.Logger("sluice.test/otlp", otellog.WithInstrumentationVersion("0.1.0"),
		otellog.WithInstrumentationAttributes(attribute.String("team", "ingest")))
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		var r otellog.Record
		r.SetTimestamp(base.Add(time.Duration(i) * time.Millisecond))
		r.SetSeverity(otellog.SeverityInfo)
		r.SetSeverityText("INFO")
		r.SetBody(attribute.StringValue(fmt.Sprintf("line %d", i)))
		r.AddAttributes(attribute.Int("i", i), attribute.String("user", "u1"))
		logger.Emit(ctx, r)
	}
	return lp.ForceFlush(ctx)
}

func checkGoRecords(t *testing.T, ev []Event, n int) {
	t.Helper()
	require.Len(t, ev, n)
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, e := range ev {
		v := e.Value.(map[string]any)
		assert.Equal(t, fmt.Sprintf("line %d", i), v["body"])
		assert.Equal(t, "INFO", v["severityText"])
		assert.Equal(t, map[string]any{"i": jsonNum(i), "user": "u1"}, v["attributes"])
		assert.Equal(t, base.Add(time.Duration(i)*time.Millisecond), e.Time)
		for name, want := range map[string]string{
			"resource.service.name": "checkout", "resource.service.instance": "7",
			"scope.name": "sluice.test/otlp", "scope.version": "0.1.0", "scope.attributes.team": "ingest",
		} {
			got, ok := e.Get(name)
			assert.True(t, ok, name)
			assert.Equal(t, want, got, name)
		}
	}
}

// TestOTLPGoExporter sends through go.opentelemetry.io's own exporter,
// with gzip off and on.
func TestOTLPGoExporter(t *testing.T) {
	for name, comp := range map[string]otlploghttp.Compression{"plain": otlploghttp.NoCompression, "gzip": otlploghttp.GzipCompression} {
		t.Run(name, func(t *testing.T) {
			c := &captureEndpoint{}
			url, _ := otlpGoServer(t, c)
			require.NoError(t, otlpGoEmit(t, url, 50, otlploghttp.WithCompression(comp)))
			checkGoRecords(t, c.Events(), 50)
		})
	}
}

// TestOTLPGoExporterRetries shows the exporter keeps its records through
// a 503 with Retry-After and delivers them once the source takes them.
func TestOTLPGoExporterRetries(t *testing.T) {
	c := &captureEndpoint{Fail: &Error{Status: http.StatusServiceUnavailable, Msg: "busy", RetryAfter: time.Second}}
	url, requests := otlpGoServer(t, c)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for requests.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		c.mu.Lock()
		c.Fail = nil
		c.mu.Unlock()
	}()
	err := otlpGoEmit(t, url, 10, otlploghttp.WithRetry(otlploghttp.RetryConfig{
		Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond, MaxElapsedTime: 20 * time.Second}))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, requests.Load(), int64(3), "two refused attempts, then the one that delivered")
	checkGoRecords(t, c.Events(), 10)
}

func jsonNum(i int) any { return json.Number(strconv.Itoa(i)) }
