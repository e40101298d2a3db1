package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceResult is what one [Produce] run measured.
type ProduceResult struct {
	// Records is the number of records acknowledged.
	Records int
	// Bytes is the value bytes acknowledged (keys are nil).
	Bytes int64
	// Partitions is the partition count of the topic produced to: the
	// requested count if the run created it, its own count if it existed.
	Partitions int
	// Elapsed runs from the first Produce call to the last acknowledgement.
	Elapsed time.Duration
	// P50, P99, P999 and Max are per-record latencies from the Produce call
	// to its promise: the acknowledgement for acks 1 and all, the write to
	// the connection for acks 0. They include time blocked in Produce while
	// kgo's buffer is full, as kafka-producer-perf-test's do.
	P50, P99, P999, Max time.Duration
}

// RecordsPerSec is the acknowledged record rate.
func (r ProduceResult) RecordsPerSec() float64 {
	return perSecond(float64(r.Records), r.Elapsed)
}

// MBPerSec is the acknowledged value throughput in MiB (2^20 bytes) per second.
func (r ProduceResult) MBPerSec() float64 {
	return perSecond(float64(r.Bytes)/(1<<20), r.Elapsed)
}

func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}

// Produce writes o.Records records to o.Topic, creating the topic first if
// it does not exist, and reports throughput and latency. It prints a
// progress line to progress every second (nil prints nothing). The first
// record that fails ends the run with an error naming its topic and
// partition. Produce returns only after every goroutine it started is done.
func Produce(ctx context.Context, o ProduceOptions, progress io.Writer) (ProduceResult, error) {
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return ProduceResult{}, fmt.Errorf("produce options: %w", err)
	}
	partitions, err := ensureTopic(ctx, o.Brokers, o.Topic, o.Partitions)
	if err != nil {
		return ProduceResult{}, err
	}
	clients, err := newProducerClients(ctx, o)
	if err != nil {
		return ProduceResult{}, err
	}
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := &produceRun{cancel: cancel}
	values := newPayload(o.RecordSize)
	lat := make([]time.Duration, o.Records)

	stop := startProgress(progress, progressInterval, "produce", int64(o.Records), &run.done)
	start := time.Now()
	var wg sync.WaitGroup
	for i, cl := range clients {
		lo, hi := i*o.Records/len(clients), (i+1)*o.Records/len(clients)
		p := newProducer(run, cl, o.Topic, values, lo, lat[lo:hi])
		if o.Throughput > 0 {
			p.interval = time.Duration(float64(time.Second) * float64(len(clients)) / o.Throughput)
		}
		wg.Go(func() { p.produceAll(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	if err := run.err(); err != nil {
		return ProduceResult{}, err
	}

	r := ProduceResult{
		Records:    o.Records,
		Bytes:      int64(o.Records) * int64(o.RecordSize),
		Partitions: partitions,
		Elapsed:    elapsed,
	}
	r.P50, r.P99, r.P999, r.Max = percentiles(lat)
	return r, nil
}

// newProducerClients creates o.Producers clients and connects each, so the
// timed run does not include dialing.
func newProducerClients(ctx context.Context, o ProduceOptions) ([]*kgo.Client, error) {
	acks, _ := parseAcks(o.Acks) // validated
	codec, _ := parseCompression(o.Compression)
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID("sluice-bench"),
		kgo.DefaultProduceTopic(o.Topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.Linger),
		kgo.ProducerBatchMaxBytes(int32(o.BatchMaxBytes)),
	}
	if !o.Idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(o.MaxInflight))
	}
	var clients []*kgo.Client
	closeAll := func() {
		for _, cl := range clients {
			cl.Close()
		}
	}
	for i := range o.Producers {
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("create producer client %d: %w", i, err)
		}
		clients = append(clients, cl)
		if err := cl.Ping(ctx); err != nil {
			closeAll()
			return nil, fmt.Errorf("connect producer client %d to %v: %w", i, o.Brokers, err)
		}
	}
	return clients, nil
}

// produceRun is the state all producers of one run share.
type produceRun struct {
	done   counter
	cancel context.CancelFunc

	mu    sync.Mutex
	first error // first failure; later ones are consequences
}

// fail records err if it is the run's first failure and stops the run.
func (r *produceRun) fail(err error) {
	r.mu.Lock()
	if r.first == nil {
		r.first = err
	}
	r.mu.Unlock()
	r.cancel()
}

func (r *produceRun) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// producer drives one client through its share of the run's records.
type producer struct {
	run    *produceRun
	cl     *kgo.Client
	topic  string
	values *payload
	first  int // index of this producer's first record in the run
	// interval paces sends for --throughput; zero sends at once.
	interval time.Duration
	lat      []time.Duration // one slot per record of this producer
	acked    atomic.Int64    // slots of lat filled
	pool     sync.Pool       // of *inflight, so the hot path does not allocate
}

// inflight is a record with its send time. Its promise is bound once when
// the inflight is allocated, so reusing it from the pool costs nothing.
type inflight struct {
	rec     kgo.Record
	start   time.Time
	promise func(*kgo.Record, error)
}

func newProducer(run *produceRun, cl *kgo.Client, topic string, values *payload, first int, lat []time.Duration) *producer {
	p := &producer{run: run, cl: cl, topic: topic, values: values, first: first, lat: lat}
	p.pool.New = func() any {
		in := new(inflight)
		in.promise = func(r *kgo.Record, err error) { p.finish(in, err) }
		return in
	}
	return p
}

// produceAll produces this producer's records and waits for all of them.
func (p *producer) produceAll(ctx context.Context) {
	begin := time.Now()
	for i := range len(p.lat) {
		if ctx.Err() != nil {
			break
		}
		if p.interval > 0 {
			if wait := time.Until(begin.Add(time.Duration(i) * p.interval)); wait > 0 {
				time.Sleep(wait)
			}
		}
		in := p.pool.Get().(*inflight)
		in.rec.Topic = p.topic
		in.rec.Value = p.values.value(p.first + i)
		in.start = time.Now()
		p.cl.Produce(ctx, &in.rec, in.promise)
	}
	// After a failed record the flush ends with the cancelled context; fail
	// keeps the record's error, which came first.
	if err := p.cl.Flush(ctx); err != nil {
		p.run.fail(fmt.Errorf("flush records to topic %s: %w", p.topic, err))
	}
}

// finish is the promise of every record: kgo is done with in.rec when it
// runs, so in goes back to the pool.
func (p *producer) finish(in *inflight, err error) {
	if err != nil {
		p.run.fail(fmt.Errorf("produce to topic %s partition %d: %w", in.rec.Topic, in.rec.Partition, err))
	} else {
		p.lat[p.acked.Add(1)-1] = time.Since(in.start)
		p.run.done.add(1, int64(len(in.rec.Value)))
	}
	promise := in.promise
	*in = inflight{promise: promise}
	p.pool.Put(in)
}
