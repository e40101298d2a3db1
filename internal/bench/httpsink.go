package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// HTTPSinkOptions configure [HTTPSink]: one HttpSinkConnector task in an
// in-process worker, posting a topic's records to a local HTTP server.
type HTTPSinkOptions struct {
	Brokers []string
	// Topic is filled with Records JSON records of RecordSize bytes
	// before the connector starts (created with Partitions).
	Topic      string
	Partitions int
	Records    int
	RecordSize int
	// Batch is batch.max.size: records per request.
	Batch int
	// Timeout bounds the run.
	Timeout time.Duration
}

// HTTPSinkResult is what an http-sink run measured.
type HTTPSinkResult struct {
	Records  int64
	Requests int64
	Bytes    int64 // request body bytes
	Batch    int
	// Startup runs from the connector's creation to the first request
	// (task start, consumer group join); Elapsed from there to the last
	// record.
	Startup, Elapsed time.Duration
}

// RecordsPerSec is the rate records reached the server.
func (r HTTPSinkResult) RecordsPerSec() float64 { return perSecond(float64(r.Records), r.Elapsed) }

// Summary renders the result.
func (r HTTPSinkResult) Summary() string {
	return fmt.Sprintf("http-sink: %d records in %d requests (batch.max.size=%d) in %s after %s of startup: %.0f records/s, %.2f MB/s (MiB) of request bodies, 1 task",
		r.Records, r.Requests, r.Batch, seconds(r.Elapsed), seconds(r.Startup), r.RecordsPerSec(), perSecond(float64(r.Bytes)/(1<<20), r.Elapsed))
}

func parseHTTPSinkFlags(args []string, stderr io.Writer) (HTTPSinkOptions, error) {
	o := HTTPSinkOptions{Brokers: []string{DefaultBroker}, Partitions: 1, Records: defaultIngestLines,
		RecordSize: DefaultRecordSize, Batch: 500, Timeout: DefaultTimeout}
	fs := flag.NewFlagSet("sluice bench http-sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*addrList)(&o.Brokers), "brokers", "comma-separated seed `addresses`")
	fs.StringVar(&o.Topic, "topic", "", "`topic` to fill and sink (default: a new one per run)")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions of the topic the run creates")
	fs.IntVar(&o.Records, "records", o.Records, "records to sink")
	fs.IntVar(&o.RecordSize, "record-size", o.RecordSize, "`bytes` per JSON record")
	fs.IntVar(&o.Batch, "batch", o.Batch, "records per request (batch.max.size)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if o.Topic == "" {
		o.Topic = fmt.Sprintf("bench-http-sink-%d", time.Now().UnixNano())
	}
	return o, o.Validate()
}

// Validate reports every problem with o at once.
func (o HTTPSinkOptions) Validate() error {
	errs := validateTarget(o.Brokers, o.Topic)
	if o.Records <= 0 {
		errs = append(errs, fmt.Errorf("--records %d: want more than 0", o.Records))
	}
	if o.RecordSize < minIngestLine {
		errs = append(errs, fmt.Errorf("--record-size %d: want %d or more", o.RecordSize, minIngestLine))
	}
	if o.Batch <= 0 {
		errs = append(errs, fmt.Errorf("--batch %d: want more than 0", o.Batch))
	}
	if o.Partitions <= 0 {
		errs = append(errs, fmt.Errorf("--partitions %d: want more than 0", o.Partitions))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: want more than 0", o.Timeout))
	}
	return errors.Join(errs...)
}

// HTTPSink fills the topic, then times the connector from the first
// request the server gets to the last record (the task's start and its
// consumer group join are reported apart).
func HTTPSink(ctx context.Context, o HTTPSinkOptions, progress io.Writer) (HTTPSinkResult, error) {
	if err := o.Validate(); err != nil {
		return HTTPSinkResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if _, err := ensureTopic(ctx, o.Brokers, o.Topic, o.Partitions); err != nil {
		return HTTPSinkResult{}, err
	}
	if err := fillJSON(ctx, o); err != nil {
		return HTTPSinkResult{}, err
	}

	// The server counts the records of each body, a JSON array.
	var done counter
	var requests atomic.Int64
	var first atomic.Int64 // unix nanos of the first request
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return HTTPSinkResult{}, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 0 {
			first.CompareAndSwap(0, time.Now().UnixNano())
			requests.Add(1)
			done.add(int64(bytes.Count(body, []byte(`"date":`))), int64(len(body))) // once in each record
		}
	})}
	var served sync.WaitGroup
	served.Go(func() { _ = srv.Serve(ln) })
	defer func() { _ = srv.Close(); served.Wait() }()

	w, err := startWorker(ctx, o.Brokers)
	if err != nil {
		return HTTPSinkResult{}, err
	}
	defer w.close()
	stop := startProgress(progress, progressInterval, "http-sink", int64(o.Records), &done)
	defer stop()
	start := time.Now()
	_, err = w.herder.CreateConnector(ctx, "bench-http-sink", map[string]string{
		"connector.class": "io.sluice.connect.http.HttpSinkConnector", "tasks.max": "1", "topics": o.Topic,
		"http.api.url": "http://" + ln.Addr().String() + "/", "batch.max.size": strconv.Itoa(o.Batch),
		"request.body.format": "json",
		"key.converter":       "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":     "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}, "")
	if err != nil {
		return HTTPSinkResult{}, err
	}
	for done.records.Load() < int64(o.Records) {
		if st, err := w.herder.TaskStatus(ctx, "bench-http-sink", 0); err == nil && st.State == "FAILED" {
			return HTTPSinkResult{}, fmt.Errorf("the HTTP sink task failed: %s", st.Trace)
		}
		select {
		case <-ctx.Done():
			return HTTPSinkResult{}, fmt.Errorf("%d of %d records reached the server: %w", done.records.Load(), o.Records, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	end, begin := time.Now(), time.Unix(0, first.Load())
	return HTTPSinkResult{Records: done.records.Load(), Requests: requests.Load(), Bytes: done.bytes.Load(),
		Batch: o.Batch, Startup: begin.Sub(start), Elapsed: end.Sub(begin)}, nil
}

// fillJSON produces o.Records JSON lines (without their newline) to
// o.Topic.
func fillJSON(ctx context.Context, o HTTPSinkOptions) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.DefaultProduceTopic(o.Topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		return err
	}
	defer cl.Close()
	var first error
	var mu sync.Mutex
	for i := range o.Records {
		v := ingestLine(nil, i, o.RecordSize)
		cl.Produce(ctx, &kgo.Record{Value: v[:len(v)-1]}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				first = cmpOr(first, err)
				mu.Unlock()
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return fmt.Errorf("fill topic %s: %w", o.Topic, first)
	}
	return nil
}

// cmpOr returns a unless it is nil, else b.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func mainHTTPSink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "http-sink", args, stdout, stderr, parseHTTPSinkFlags, HTTPSink)
}
