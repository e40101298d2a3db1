package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPIngestOptions configure [HTTPIngest]: one HttpSourceConnector task
// in an in-process worker, driven by concurrent HTTP clients.
type HTTPIngestOptions struct {
	Brokers []string
	// Topic receives the lines (created with Partitions); the broker's own
	// produce phase writes to Topic+"-produce".
	Topic      string
	Partitions int
	// Format is ndjson (the generic JSON endpoint) or es-bulk
	// (Elasticsearch _bulk, one index action per line).
	Format string
	// Lines are sent in the full-speed phase, LineSize bytes each (the
	// JSON line, newline included), Batch lines per request, from Clients
	// concurrent clients.
	Lines, LineSize, Batch, Clients int
	// LatencyLines are sent in the second phase, paced at half the
	// first phase's rate; 0 skips it.
	LatencyLines int
	// SkipProduce skips the broker's own produce phase.
	SkipProduce bool
}

// HTTPIngestResult is what an http-ingest run measured.
type HTTPIngestResult struct {
	Format  string
	Lines   int
	Bytes   int64 // request body bytes of the full-speed phase
	Elapsed time.Duration
	// CPU is this process's CPU time in the full-speed phase: the HTTP
	// clients, the worker and the connector (a broker elsewhere not).
	CPU          time.Duration
	HalfRate     float64 // lines/s offered in the latency phase
	P50, P99     time.Duration
	LatencyLines int
	// Produce is the broker's own rate for the same count and size of
	// records (acks=all, one client), zero when skipped.
	Produce ProduceResult
}

// LinesPerSec is the full-speed phase's rate.
func (r HTTPIngestResult) LinesPerSec() float64 { return perSecond(float64(r.Lines), r.Elapsed) }

// MBPerSec is the full-speed phase's body throughput in MiB per second.
func (r HTTPIngestResult) MBPerSec() float64 { return perSecond(float64(r.Bytes)/(1<<20), r.Elapsed) }

// Summary renders the result.
func (r HTTPIngestResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http-ingest %s: %d lines in %s: %.0f lines/s, %.2f MB/s (MiB), acks=all, 1 task",
		r.Format, r.Lines, seconds(r.Elapsed), r.LinesPerSec(), r.MBPerSec())
	if r.CPU > 0 {
		fmt.Fprintf(&b, ", %.2f µs CPU per line in this process (clients, worker, connector)", float64(r.CPU.Nanoseconds())/float64(r.Lines)/1e3)
	}
	if r.LatencyLines > 0 {
		fmt.Fprintf(&b, "\nhttp-ingest %s at half rate (%.0f lines/s, %d lines): request latency p50 %s, p99 %s",
			r.Format, r.HalfRate, r.LatencyLines, ms(r.P50), ms(r.P99))
	}
	if r.Produce.Records > 0 {
		ratio := r.Produce.RecordsPerSec() / r.LinesPerSec()
		fmt.Fprintf(&b, "\nbroker produce, same records (%d x %d B, acks=all, 1 client): %.0f records/s, %.2f MB/s (MiB); broker/http-ingest ratio %.2f",
			r.Produce.Records, r.Produce.Bytes/int64(r.Produce.Records), r.Produce.RecordsPerSec(), r.Produce.MBPerSec(), ratio)
	}
	return b.String()
}

// Defaults of the http-ingest flags.
const (
	defaultIngestLines   = 500_000
	defaultIngestBatch   = 1000
	defaultIngestClients = 16
)

func parseHTTPIngestFlags(args []string, stderr io.Writer) (HTTPIngestOptions, error) {
	o := HTTPIngestOptions{Brokers: []string{DefaultBroker}, Partitions: 1, Format: "ndjson",
		Lines: defaultIngestLines, LineSize: DefaultRecordSize, Batch: defaultIngestBatch, Clients: defaultIngestClients}
	fs := flag.NewFlagSet("sluice bench http-ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*addrList)(&o.Brokers), "brokers", "comma-separated seed `addresses`")
	fs.StringVar(&o.Topic, "topic", "", "`topic` to ingest into (default: a new one per run)")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions of the topics the run creates")
	fs.StringVar(&o.Format, "format", o.Format, "request format: ndjson or es-bulk")
	fs.IntVar(&o.Lines, "lines", o.Lines, "lines to send at full speed")
	fs.IntVar(&o.LineSize, "line-size", o.LineSize, "`bytes` per JSON line, newline included")
	fs.IntVar(&o.Batch, "batch", o.Batch, "lines per request")
	fs.IntVar(&o.Clients, "clients", o.Clients, "concurrent HTTP clients")
	fs.IntVar(&o.LatencyLines, "latency-lines", 0, "lines to send at half the full-speed rate for request latency (default: --lines/2; 0 skips)")
	fs.BoolVar(&o.SkipProduce, "skip-produce", false, "skip the broker's own produce rate for the same records")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if !givenFlags(fs)["latency-lines"] {
		o.LatencyLines = o.Lines / 2
	}
	if o.Topic == "" {
		o.Topic = fmt.Sprintf("bench-http-ingest-%d", time.Now().UnixNano())
	}
	return o, o.Validate()
}

// minIngestLine is the shortest line the generators can write.
const minIngestLine = 64

// Validate reports every problem with o at once.
func (o HTTPIngestOptions) Validate() error {
	errs := validateTarget(o.Brokers, o.Topic)
	if o.Format != "ndjson" && o.Format != "es-bulk" {
		errs = append(errs, fmt.Errorf("--format %q: want ndjson or es-bulk", o.Format))
	}
	if o.Lines <= 0 {
		errs = append(errs, fmt.Errorf("--lines %d: want more than 0", o.Lines))
	}
	if o.LineSize < minIngestLine {
		errs = append(errs, fmt.Errorf("--line-size %d: want %d or more", o.LineSize, minIngestLine))
	}
	if o.Batch <= 0 {
		errs = append(errs, fmt.Errorf("--batch %d: want more than 0", o.Batch))
	}
	if o.Clients <= 0 {
		errs = append(errs, fmt.Errorf("--clients %d: want more than 0", o.Clients))
	}
	if o.LatencyLines < 0 {
		errs = append(errs, fmt.Errorf("--latency-lines %d: want 0 or more", o.LatencyLines))
	}
	if o.Partitions <= 0 {
		errs = append(errs, fmt.Errorf("--partitions %d: want more than 0", o.Partitions))
	}
	return errors.Join(errs...)
}

// ingestLine appends line i: a JSON object of size bytes with the
// newline, as a log shipper sends it ({"date":…,"host":…,"log":"…"}).
func ingestLine(b []byte, i, size int) []byte {
	start := len(b)
	b = fmt.Appendf(b, `{"date":%d.%03d,"host":"bench-%d","log":"`, 1_700_000_000+i/1000, i%1000, i%16)
	pad := size - (len(b) - start) - len(`"}`+"\n")
	for j := range max(pad, 0) {
		b = append(b, payloadText[(i+j)%len(payloadText)])
	}
	return append(b, "\"}\n"...)
}

// ingestBody returns request r's body of n lines in format: NDJSON, or
// an Elasticsearch bulk body (an index action before each line).
func ingestBody(format string, r, n, size int) []byte {
	var b []byte
	for i := range n {
		if format == "es-bulk" {
			b = append(b, `{"index":{"_index":"bench"}}`+"\n"...)
		}
		b = ingestLine(b, r*n+i, size)
	}
	return b
}

// ingestRequest is what each format posts where.
func ingestRequest(format, base string) (url, contentType string) {
	if format == "es-bulk" {
		return base + "/_bulk", "application/x-ndjson"
	}
	return base + "/", "application/x-ndjson"
}

// HTTPIngest runs the connector and the phases o asks for.
func HTTPIngest(ctx context.Context, o HTTPIngestOptions, progress io.Writer) (HTTPIngestResult, error) {
	if err := o.Validate(); err != nil {
		return HTTPIngestResult{}, err
	}
	if _, err := ensureTopic(ctx, o.Brokers, o.Topic, o.Partitions); err != nil {
		return HTTPIngestResult{}, err
	}
	w, err := startWorker(ctx, o.Brokers)
	if err != nil {
		return HTTPIngestResult{}, err
	}
	closeWorker := sync.OnceFunc(w.close)
	defer closeWorker()
	const name = "bench-http-ingest"
	_, err = w.herder.CreateConnector(ctx, name, map[string]string{
		"connector.class": "io.sluice.connect.http.HttpSourceConnector", "tasks.max": "1",
		"listeners": "127.0.0.1:0", "topic": o.Topic, "metadata.location": "none",
		"max.events.per.request":  strconv.Itoa(max(o.Batch, 100000)),
		"max.request.bytes":       strconv.Itoa(max(2*o.Batch*(o.LineSize+64), 10<<20)),
		"max.concurrent.requests": strconv.Itoa(o.Clients),
		"value.converter":         "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}, "")
	if err != nil {
		return HTTPIngestResult{}, err
	}
	base, err := waitListener(ctx, w, name)
	if err != nil {
		return HTTPIngestResult{}, err
	}
	url, ctype := ingestRequest(o.Format, base)
	bodies := make([][]byte, 16) // distinct bodies, reused round robin
	for i := range bodies {
		bodies[i] = ingestBody(o.Format, i, o.Batch, o.LineSize)
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients, DisableCompression: true}}
	defer client.CloseIdleConnections()
	post := func(i int) error {
		resp, err := client.Post(url, ctype, bytes.NewReader(bodies[i%len(bodies)]))
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %s: %s", url, resp.Status, answer)
		}
		if o.Format == "es-bulk" && bytes.Contains(answer, []byte(`"errors":true`)) {
			return fmt.Errorf("POST %s: the bulk answer has errors: %.200s", url, answer)
		}
		return nil
	}
	if err := post(0); err != nil { // warm up, and check the format is served
		if o.Format == "es-bulk" && strings.Contains(err.Error(), "404") {
			return HTTPIngestResult{}, errors.New("--format es-bulk: this build's HTTP source does not serve the Elasticsearch protocol")
		}
		return HTTPIngestResult{}, err
	}

	requests := (o.Lines + o.Batch - 1) / o.Batch
	r := HTTPIngestResult{Format: o.Format, Lines: requests * o.Batch}
	var done counter
	stop := startProgress(progress, progressInterval, "http-ingest", int64(r.Lines), &done)
	start, cpu := time.Now(), processCPU()
	err = runRequests(ctx, o.Clients, requests, func(i int) error {
		if err := post(i); err != nil {
			return err
		}
		done.add(int64(o.Batch), int64(len(bodies[i%len(bodies)])))
		return nil
	})
	r.Elapsed, r.CPU = time.Since(start), processCPU()-cpu
	stop()
	if err != nil {
		return r, err
	}
	r.Bytes = done.bytes.Load()

	if o.LatencyLines > 0 {
		r.HalfRate = r.LinesPerSec() / 2
		n := (o.LatencyLines + o.Batch - 1) / o.Batch
		r.LatencyLines = n * o.Batch
		interval := time.Duration(float64(time.Second) * float64(o.Batch) / r.HalfRate)
		lat := make([]time.Duration, n)
		begin := time.Now()
		err = runRequests(ctx, o.Clients, n, func(i int) error {
			// Latency counts from when the request was due, so a request
			// that waited for a free client counts its wait.
			due := begin.Add(time.Duration(i) * interval)
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := post(i); err != nil {
				return err
			}
			lat[i] = time.Since(due)
			return nil
		})
		if err != nil {
			return r, err
		}
		r.P50, r.P99, _, _ = percentiles(lat)
	}
	closeWorker() // the broker's phase runs alone

	if !o.SkipProduce {
		lineBytes := int64(r.Bytes) / int64(r.Lines) // per line, the action line of es-bulk included
		if o.Format == "es-bulk" {
			lineBytes = int64(o.LineSize)
		}
		r.Produce, err = Produce(ctx, ProduceOptions{Brokers: o.Brokers, Topic: o.Topic + "-produce", Records: r.Lines,
			RecordSize: int(lineBytes), Acks: "all", Partitions: o.Partitions, Idempotent: true}, progress)
		if err != nil {
			return r, fmt.Errorf("broker produce phase: %w", err)
		}
	}
	return r, nil
}

// runRequests calls do(0)…do(n-1) from clients goroutines; the first
// error stops the run.
func runRequests(ctx context.Context, clients, n int, do func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(clients, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// waitListener waits until task 0 of connector name reports its
// listener, or failed.
func waitListener(ctx context.Context, w *inProcessWorker, name string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := w.herder.TaskStatus(ctx, name, 0)
		if err == nil {
			if st.State == "FAILED" {
				return "", fmt.Errorf("the HTTP source task failed: %s", st.Trace)
			}
			if l := st.Info["listeners"]; l != "" {
				return strings.Split(l, ",")[0], nil
			}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return "", errors.New("the HTTP source task does not listen after 30s")
}

func mainHTTPIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "http-ingest", args, stdout, stderr, parseHTTPIngestFlags, HTTPIngest)
}
