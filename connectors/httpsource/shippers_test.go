package httpsource

// Real shippers and client libraries against the running connector: each
// sends a known set of lines to a connector on a real worker and
// in-process broker, and the test reads the topic: every line once, with
// its metadata in the headers, the record timestamp from the event's own
// time where the shipper sends one, topic.format routing and auth.tokens
// or basic credentials presented the way the client does.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// shipLines is how many lines each shipper or client sends.
const shipLines = 200

// topicRecord is a record read back from the topic, decoded.
type topicRecord struct {
	topic   string
	value   any            // the value as JSON
	obj     map[string]any // value when it is an object
	headers map[string]string
	ts      time.Time
}

// decodeRecords decodes the records read from a topic.
func decodeRecords(t *testing.T, recs []*kgo.Record) []topicRecord {
	t.Helper()
	out := make([]topicRecord, 0, len(recs))
	for _, r := range recs {
		tr := topicRecord{topic: r.Topic, headers: map[string]string{}, ts: r.Timestamp}
		require.NoError(t, json.Unmarshal(r.Value, &tr.value), "record value %s", r.Value)
		tr.obj, _ = tr.value.(map[string]any)
		for _, h := range r.Headers {
			tr.headers[h.Key] = string(h.Value)
		}
		out = append(out, tr)
	}
	return out
}

// shipConnector creates a connector named after the subtest on w,
// listening on a free port, and returns its URL, its name and its
// (fallback) topic.
func shipConnector(t *testing.T, w *connecttest.Worker, extra map[string]string) (string, string, string) {
	t.Helper()
	name := fmt.Sprintf("ship-%d", connectorSeq.Add(1))
	topic := name + "-logs"
	cfg := map[string]string{"name": name, "connector.class": Plugin.Class,
		"listeners": "127.0.0.1:0", "topic": topic, "request.timeout.ms": "10000"}
	maps.Copy(cfg, extra)
	_, err := w.CreateConnector(context.Background(), name, cfg, worker.TargetStarted)
	require.NoError(t, err)
	return waitAddr(t, name, 0), name, topic
}

// readTopic waits up to a minute for n records in topic; when settle is
// not zero (a shipper that sends in the background) it then waits settle
// for any duplicate to land. It returns every record in the topic.
func readTopic(t *testing.T, w *connecttest.Worker, topic string, n int, settle time.Duration) []topicRecord {
	t.Helper()
	recs := connecttest.Consume(t, w.Broker, topic, n, time.Minute)
	if settle > 0 {
		time.Sleep(settle)
		recs = connecttest.ConsumeAll(t, w.Broker, topic)
	}
	return decodeRecords(t, recs)
}

// exactlyOnce checks that the lines of recs (lineOf) are want, each once,
// and returns the records by line.
func exactlyOnce(t *testing.T, want []string, recs []topicRecord, lineOf func(topicRecord) string) map[string]topicRecord {
	t.Helper()
	byLine := make(map[string]topicRecord, len(recs))
	dups := 0
	for _, r := range recs {
		l := lineOf(r)
		if _, ok := byLine[l]; ok {
			dups++
		}
		byLine[l] = r
	}
	assert.Zero(t, dups, "lines delivered more than once")
	assert.Len(t, recs, len(want), "records in the topic")
	missing := 0
	for _, l := range want {
		if _, ok := byLine[l]; !ok {
			missing++
		}
	}
	assert.Zero(t, missing, "lines missing from the topic (of %d)", len(want))
	return byLine
}

// messageOf is a record's "message" field (or syslog-ng's RFC 5424
// scope's MESSAGE), as a string.
func messageOf(r topicRecord) string {
	if s, ok := r.obj["message"].(string); ok {
		return s
	}
	s, _ := r.obj["MESSAGE"].(string)
	return s
}

// timestampOf is the time of a record's @timestamp field.
func timestampOf(t *testing.T, r topicRecord) time.Time {
	t.Helper()
	s, _ := r.obj["@timestamp"].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err, "@timestamp of %v", r.value)
	return ts.Truncate(time.Millisecond) // a record's timestamp is in milliseconds
}

// shipperLines returns n unique lines naming tag.
func shipperLines(tag string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s line %03d", tag, i)
	}
	return out
}

// hostPort splits a listener URL into host and port.
func hostPort(t *testing.T, u string) (string, int) {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	host, portText, err := net.SplitHostPort(p.Host)
	require.NoError(t, err)
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	return host, port
}

// checkHeaders asserts the headers of r hold want.
func checkHeaders(t *testing.T, r topicRecord, want map[string]string) {
	t.Helper()
	for k, v := range want {
		assert.Equal(t, v, r.headers[k], "header %s of %v", k, r.value)
	}
}

// TestShippersThroughConnector runs each real shipper and client library
// against its own connector on one worker and broker, in parallel.
func TestShippersThroughConnector(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)

	t.Run("syslog-ng http ndjson", func(t *testing.T) {
		t.Parallel()
		url, name, topic := shipConnector(t, w, map[string]string{"auth.tokens": "sng-token", "json.timestamp.field": "@timestamp"})
		s := testenv.SyslogNG(t, testenv.SyslogNGHTTPNDJSON(url+"/", "sng-token", 50))
		lines := shipperLines(name, shipLines)
		s.Send(t, lines...)
		got := exactlyOnce(t, lines, readTopic(t, w, topic, len(lines), time.Second), messageOf)
		for _, r := range got {
			checkHeaders(t, r, map[string]string{"protocol": "json"})
			assert.NotEmpty(t, r.obj["host"])
			assert.True(t, timestampOf(t, r).Equal(r.ts), "record time %v is the event's @timestamp", r.ts)
		}
	})

	t.Run("syslog-ng http json array", func(t *testing.T) {
		t.Parallel()
		// Routed by a metadata field of every request: the protocol.
		name := fmt.Sprintf("sng-array-%d", connectorSeq.Add(1))
		url, _, _ := shipConnector(t, w, map[string]string{"json.timestamp.field": "@timestamp", "topic.format": "${protocol}-" + name})
		s := testenv.SyslogNG(t, testenv.SyslogNGHTTPJSONArray(url+"/", "", 50))
		lines := shipperLines(name, shipLines)
		s.Send(t, lines...)
		got := exactlyOnce(t, lines, readTopic(t, w, "json-"+name, len(lines), time.Second), messageOf)
		for _, r := range got {
			assert.True(t, timestampOf(t, r).Equal(r.ts), "record time %v is the event's @timestamp", r.ts)
		}
	})

	t.Run("syslog-ng elasticsearch-http", func(t *testing.T) {
		t.Parallel()
		url, name, _ := shipConnector(t, w, map[string]string{
			"auth.basic.username": "sng", "auth.basic.password": "pw", "topic.format": "logs-${index}"})
		s := testenv.SyslogNG(t, fmt.Sprintf(`elasticsearch-http(
    url(%q) index(%q) type("") user("sng") password("pw")
    batch-lines(50) batch-timeout(200) workers(1)
  );`, url+"/_bulk", name))
		lines := shipperLines(name, shipLines)
		s.Send(t, lines...)
		got := exactlyOnce(t, lines, readTopic(t, w, "logs-"+name, len(lines), time.Second), messageOf)
		for _, r := range got {
			checkHeaders(t, r, map[string]string{"protocol": "elasticsearch", "index": name, "action": "index"})
			assert.True(t, timestampOf(t, r).Equal(r.ts), "record time %v is the event's @timestamp", r.ts)
		}
	})

	t.Run("rsyslog omelasticsearch", func(t *testing.T) {
		t.Parallel()
		url, name, _ := shipConnector(t, w, map[string]string{"topic.format": "logs-${index}"})
		host, port := hostPort(t, url)
		errFile := filepath.Join(t.TempDir(), "errors.json")
		s := testenv.Rsyslog(t, testenv.RsyslogElasticsearch(host, port, name, errFile))
		lines := shipperLines(name, shipLines)
		s.Send(t, lines...)
		got := exactlyOnce(t, lines, readTopic(t, w, "logs-"+name, len(lines), 1500*time.Millisecond), messageOf)
		for _, r := range got {
			checkHeaders(t, r, map[string]string{"protocol": "elasticsearch", "index": name, "action": "index"})
			assert.NotEmpty(t, r.obj["host"])
			assert.True(t, timestampOf(t, r).Equal(r.ts), "record time %v is the event's @timestamp", r.ts)
		}
		b, _ := os.ReadFile(errFile)
		assert.Empty(t, string(b), "rsyslog's errorfile")
	})

	t.Run("go-elasticsearch BulkIndexer", func(t *testing.T) {
		t.Parallel()
		url, name, _ := shipConnector(t, w, map[string]string{"auth.tokens": "es-api-key", "topic.format": "logs-${index}"})
		es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{url}, APIKey: "es-api-key", CompressRequestBody: true})
		require.NoError(t, err)
		info, err := es.Info()
		require.NoError(t, err, "the product check passes")
		info.Body.Close()
		require.False(t, info.IsError(), info.String())
		bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: es, Index: name, NumWorkers: 2, FlushBytes: 8 << 10,
			OnError: func(_ context.Context, err error) { t.Errorf("bulk indexer: %v", err) }})
		require.NoError(t, err)
		base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		lines := shipperLines(name, shipLines)
		for i, l := range lines {
			doc, _ := json.Marshal(map[string]any{"@timestamp": base.Add(time.Duration(i) * time.Millisecond), "message": l})
			require.NoError(t, bi.Add(context.Background(), esutil.BulkIndexerItem{Action: "create", DocumentID: fmt.Sprintf("doc-%d", i),
				Body: strings.NewReader(string(doc)),
				OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
					t.Errorf("item failed: %v %+v", err, res)
				}}))
		}
		require.NoError(t, bi.Close(context.Background()))
		assert.EqualValues(t, shipLines, bi.Stats().NumCreated)
		got := exactlyOnce(t, lines, decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "logs-"+name)), messageOf)
		for i, l := range lines {
			r := got[l]
			checkHeaders(t, r, map[string]string{"protocol": "elasticsearch", "index": name, "action": "create", "id": fmt.Sprintf("doc-%d", i)})
			assert.Equal(t, base.Add(time.Duration(i)*time.Millisecond), r.ts.UTC())
		}
	})

	t.Run("@elastic/elasticsearch helpers.bulk", func(t *testing.T) {
		t.Parallel()
		js := eshecNPM(t)
		url, _, _ := shipConnector(t, w, map[string]string{"auth.tokens": "es-js-token", "topic.format": "es-${index}"})
		var res struct{ Successful, Failed int }
		runNode(t, js, "es-helpers-bulk.mjs", &res, "ES_URL="+url, "ES_TOKEN=es-js-token", fmt.Sprintf("N=%d", shipLines))
		assert.Equal(t, shipLines, res.Successful)
		lines := make([]string, shipLines)
		for i := range lines {
			lines[i] = fmt.Sprintf("js line %d", i)
		}
		got := exactlyOnce(t, lines, decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "es-js-logs")), messageOf)
		for _, r := range got {
			checkHeaders(t, r, map[string]string{"protocol": "elasticsearch", "index": "js-logs", "action": "create"})
			assert.True(t, timestampOf(t, r).Equal(r.ts), "record time %v is the event's @timestamp", r.ts)
		}
	})

	t.Run("otlp go exporter protobuf", func(t *testing.T) {
		t.Parallel()
		url, _, _ := shipConnector(t, w, map[string]string{"auth.tokens": "otlp-token", "topic.format": "otlp-${resource.service.name}"})
		require.NoError(t, otlpGoEmit(t, url, shipLines, otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer otlp-token"})))
		lines := make([]string, shipLines)
		for i := range lines {
			lines[i] = fmt.Sprintf("line %d", i)
		}
		recs := decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "otlp-checkout"))
		got := exactlyOnce(t, lines, recs, func(r topicRecord) string { s, _ := r.obj["body"].(string); return s })
		base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		for i, l := range lines {
			r := got[l]
			checkHeaders(t, r, map[string]string{"protocol": "otlp", "resource.service.name": "checkout", "resource.service.instance": "7",
				"scope.name": "sluice.test/otlp", "scope.version": "0.1.0", "scope.attributes.team": "ingest"})
			assert.Equal(t, base.Add(time.Duration(i)*time.Millisecond), r.ts.UTC())
		}
	})

	for _, kind := range []string{"http", "proto"} {
		t.Run("otlp js exporter "+kind, func(t *testing.T) {
			t.Parallel()
			run := jsLokiOTLP(t)
			url, _, _ := shipConnector(t, w, map[string]string{"auth.tokens": "otlp-js-token", "topic.format": "${resource.service.name}"})
			run(t, "otel.js", url, kind, strconv.Itoa(shipLines), "gzip", "otlp-js-token")
			lines := make([]string, shipLines)
			for i := range lines {
				lines[i] = fmt.Sprintf("js line %d", i)
			}
			recs := decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "js-"+kind))
			got := exactlyOnce(t, lines, recs, func(r topicRecord) string { s, _ := r.obj["body"].(string); return s })
			base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			for i, l := range lines {
				r := got[l]
				checkHeaders(t, r, map[string]string{"protocol": "otlp", "resource.service.name": "js-" + kind,
					"resource.deployment.environment": "test", "scope.name": "sluice.js", "scope.version": "3.0.0", "scope.attributes.team": "ingest"})
				assert.Equal(t, "5b8efff798038103d269b633813fc60c", r.obj["traceId"])
				assert.Equal(t, base.Add(time.Duration(i)*time.Millisecond), r.ts.UTC())
			}
		})
	}

	for _, mode := range []string{"json", "protobuf"} {
		t.Run("winston-loki "+mode, func(t *testing.T) {
			t.Parallel()
			run := jsLokiOTLP(t)
			url, name, _ := shipConnector(t, w, map[string]string{
				"auth.basic.username": "loki", "auth.basic.password": "pw", "topic.format": "logs-${labels.app}-" + mode})
			start := time.Now().Add(-time.Second)
			run(t, "winston_loki.js", url, mode, strconv.Itoa(shipLines), "loki:pw")
			lines := make([]string, shipLines)
			for i := range lines {
				lines[i] = fmt.Sprintf(`winston line %d {"level":"info"}`, i)
			}
			recs := decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "logs-winston-"+mode))
			got := exactlyOnce(t, lines, recs, func(r topicRecord) string { s, _ := r.value.(string); return s })
			for _, r := range got {
				checkHeaders(t, r, map[string]string{"protocol": "loki", "tenant": "tenant-w",
					"labels.app": "winston", "labels.env": "test", "labels.level": "info"})
				assert.WithinRange(t, r.ts, start, time.Now().Add(time.Second))
			}
			assert.Empty(t, connecttest.ConsumeAll(t, w.Broker, name+"-logs"), "nothing to the fallback topic")
		})
	}

	t.Run("splunk-logging", func(t *testing.T) {
		t.Parallel()
		js := eshecNPM(t)
		url, _, _ := shipConnector(t, w, map[string]string{"auth.tokens": "hec-token", "topic.format": "hec-${sourcetype}"})
		start := time.Now().Add(-time.Second)
		var res struct {
			Errors   []string
			Requests int
		}
		// Not a multiple of the script's batches of 10: splunk-logging's
		// last flush() would send an empty batch, which HEC answers 400
		// "No data", as Splunk does.
		const n = shipLines - 5
		runNode(t, js, "hec-splunk-logging.mjs", &res, "HEC_URL="+url, "HEC_TOKEN=hec-token", fmt.Sprintf("N=%d", n))
		assert.Empty(t, res.Errors)
		assert.Equal(t, n/10+1, res.Requests)
		lines := make([]string, n)
		for i := range lines {
			lines[i] = fmt.Sprintf("hec line %d", i)
		}
		recs := decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "hec-js"))
		got := exactlyOnce(t, lines, recs, func(r topicRecord) string {
			m, _ := r.obj["message"].(map[string]any)
			s, _ := m["line"].(string)
			return s
		})
		for _, r := range got {
			checkHeaders(t, r, map[string]string{"protocol": "splunk_hec", "host": "js-host", "source": "splunk-logging",
				"sourcetype": "js", "index": "main"})
			assert.Equal(t, "info", r.obj["severity"])
			assert.WithinRange(t, r.ts, start, time.Now().Add(time.Second))
		}
	})
}

// TestRsyslogBackpressureThroughConnector: rsyslog's omelasticsearch
// (with RsyslogElasticsearch's retry rule set) against a connector whose
// broker side is stalled (paused, tiny queue). With
// es.busy.response=items every request is answered 200 with each item
// 429, rsyslog resends the items, and once the connector is resumed every
// line arrives once. With the default (request) the whole-request 429 is
// Elasticsearch's error document, which omelasticsearch writes to its
// errorfile and drops: lines are lost, which is why the key exists.
func TestRsyslogBackpressureThroughConnector(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	for _, mode := range []string{esBusyItems, esBusyRequest} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			url, name, topic := stalledConnector(t, w, map[string]string{"es.busy.response": mode, "topic.format": "logs-${index}"})
			// A proxy in front counts the connector's busy answers.
			proxy := newBusyCounter(t, url)
			host, port := hostPort(t, proxy.url)
			errFile := filepath.Join(t.TempDir(), "errors.json")
			s := testenv.Rsyslog(t, testenv.RsyslogElasticsearch(host, port, name, errFile))
			lines := shipperLines(name, 100)
			s.Send(t, lines...)
			if mode == esBusyItems {
				require.Eventually(t, func() bool { return proxy.busy.Load() >= 2 }, 30*time.Second, 20*time.Millisecond,
					"the connector refused rsyslog's requests twice\n%s", s.Log())
				require.NoError(t, w.ResumeConnector(context.Background(), name))
				assert.Len(t, connecttest.Consume(t, w.Broker, topic, 3, 20*time.Second), 3, "the generic requests' records")
				got := exactlyOnce(t, lines, readTopic(t, w, "logs-"+name, len(lines), 1500*time.Millisecond), messageOf)
				assert.Len(t, got, len(lines))
				b, _ := os.ReadFile(errFile)
				assert.Empty(t, string(b), "rsyslog's errorfile")
				t.Logf("items: %d busy answers (200, every item 429), then every line once", proxy.busy.Load())
				return
			}
			// request: omelasticsearch takes the 429 error document for a
			// data failure, writes the batch to its errorfile and drops it.
			require.Eventually(t, func() bool {
				b, _ := os.ReadFile(errFile)
				return strings.Contains(string(b), "es_rejected_execution_exception")
			}, 30*time.Second, 20*time.Millisecond, "the refused batch is in rsyslog's errorfile\n%s", s.Log())
			require.NoError(t, w.ResumeConnector(context.Background(), name))
			// A last line sent after the resume marks the end.
			marker := name + " marker"
			s.Send(t, marker)
			var recs []topicRecord
			require.Eventually(t, func() bool {
				recs = decodeRecords(t, connecttest.ConsumeAll(t, w.Broker, "logs-"+name))
				for _, r := range recs {
					if messageOf(r) == marker {
						return true
					}
				}
				return false
			}, 30*time.Second, 100*time.Millisecond, "the marker line arrives\n%s", s.Log())
			seen := map[string]bool{}
			for _, r := range recs {
				seen[messageOf(r)] = true
			}
			lost := 0
			for _, l := range lines {
				if !seen[l] {
					lost++
				}
			}
			assert.Positive(t, lost, "omelasticsearch drops a batch refused 429 as a whole")
			t.Logf("request: %d busy answers (429 as a whole); %d of %d lines lost to rsyslog's errorfile", proxy.busy.Load(), lost, len(lines))
		})
	}
}

// stalledConnector creates a connector with extra whose broker side is
// stalled as TestBackpressure does it, with a queue of two records and
// request.timeout.ms of 2 s: paused (a first request wakes the paused
// task and is written), then the queue filled by a request that stays
// unacknowledged (503). Every request then waits 2 s for room and is
// answered busy until the connector is resumed; the two requests' three
// records are in topic once it is. It returns the connector's URL, name
// and topic.
func stalledConnector(t *testing.T, w *connecttest.Worker, extra map[string]string) (string, string, string) {
	t.Helper()
	cfg := map[string]string{"max.queue.size": "2", "request.timeout.ms": "2000", "retry.after.seconds": "1"}
	maps.Copy(cfg, extra)
	url, name, topic := shipConnector(t, w, cfg)
	require.NoError(t, w.PauseConnector(context.Background(), name))
	status, answer, _ := post(t, url+"/", ndjson(-1, 1, 10))
	require.Equal(t, 200, status, answer)
	waitPaused(t, w, name)
	status, answer, _ = post(t, url+"/", ndjson(-3, 2, 10))
	require.Equal(t, http.StatusServiceUnavailable, status, answer)
	return url, name, topic
}

// TestSyslogNGBackpressureThroughConnector: syslog-ng's http() retries
// every answer that is not 2xx (after time-reopen(), 1 s here), so the
// connector's whole-request 429 with a stalled broker side loses nothing:
// once resumed, every line arrives once.
func TestSyslogNGBackpressureThroughConnector(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	url, name, topic := stalledConnector(t, w, map[string]string{"json.timestamp.field": "@timestamp"})
	proxy := newBusyCounter(t, url)
	s := testenv.SyslogNG(t, testenv.SyslogNGHTTPNDJSON(proxy.url+"/", "", 50))
	lines := shipperLines(name, 100)
	s.Send(t, lines...)
	require.Eventually(t, func() bool { return proxy.busy.Load() >= 2 }, 30*time.Second, 20*time.Millisecond,
		"the connector refused syslog-ng's requests twice\n%s", s.Log())
	require.NoError(t, w.ResumeConnector(context.Background(), name))
	recs := readTopic(t, w, topic, len(lines)+3, 1500*time.Millisecond)
	var shipped []topicRecord
	for _, r := range recs {
		if _, generic := r.obj["id"]; !generic {
			shipped = append(shipped, r)
		}
	}
	exactlyOnce(t, lines, shipped, messageOf)
	t.Logf("syslog-ng: %d busy answers (429 as a whole), then every line once", proxy.busy.Load())
}

// waitPaused waits for connector name's task to be paused, failing the
// test it is given (not the worker's).
func waitPaused(t *testing.T, w *connecttest.Worker, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		st, err := w.ConnectorStatus(context.Background(), name)
		return err == nil && len(st.Tasks) == 1 && st.Tasks[0].State == worker.StatePaused
	}, 20*time.Second, 20*time.Millisecond, "connector %s pauses", name)
}

// busyCounter is a reverse proxy in front of a connector that counts its
// busy answers: a 429 or 503, or a 200 _bulk answer with items refused
// es_rejected_execution_exception.
type busyCounter struct {
	url  string
	busy atomic.Int64
}

// newBusyCounter serves a busyCounter proxying to target.
func newBusyCounter(t *testing.T, target string) *busyCounter {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	c := &busyCounter{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable ||
			bytes.Contains(body, []byte("es_rejected_execution_exception")) {
			c.busy.Add(1)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}
