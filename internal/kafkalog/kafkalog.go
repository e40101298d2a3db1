// Package kafkalog keeps a compacted topic as a log that a process reads
// into memory and writes through, after Kafka's KafkaBasedLog: Start
// creates the topic if needed and reads every partition from its
// beginning to its current end; Run then follows it, handing each record
// to Apply in offset order; writes wait for all in-sync replicas, and
// ReadToEnd or WaitFor make a writer see its own write.
//
// The Connect worker's config, offset and status stores (runtime/storage)
// and the schema registry's _schemas store both sit on it, which is why it
// lives under internal/: the registry may import no runtime package.
//
// Concurrency: one goroutine at a time polls the consumer — Run's for as
// long as it runs, otherwise one that needs to catch up (ReadToEnd,
// WaitFor). Apply is only called from the polling goroutine, so never
// concurrently with itself.
package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNotStarted is returned by reads and writes before Start succeeded.
var ErrNotStarted = errors.New("Start has not succeeded")

// ErrClosed is returned by Start when Close came first.
var ErrClosed = errors.New("log is closed")

// Options configure a Log.
type Options struct {
	// Topic is the compacted topic the log keeps.
	Topic string
	// ClientOpts configure the Kafka client (seed brokers, TLS, SASL,
	// client id, partitioner, retries). The log adds its own producer and
	// consumer options after them.
	ClientOpts []kgo.Opt
	// ReadCommitted skips the records of aborted transactions, as Kafka's
	// readers with exactly-once support do; the end ReadToEnd waits for is
	// then the last stable offset rather than the high watermark.
	ReadCommitted bool
	// Apply receives every data record read, in offset order within a
	// partition. It must not block on the log.
	Apply func(*kgo.Record)
	// Create, when not nil, has Start create the topic compacted if it is
	// missing.
	Create *Create
	// Logger receives the log's logs; nil discards them.
	Logger *slog.Logger
}

// Create says how Start creates the topic.
type Create struct {
	// Partitions is the partition count of a topic created.
	Partitions int32
	// ReplicationFactor of a topic created; 0 or -1 leave it to the
	// broker's default.
	ReplicationFactor int16
	// Exists, when not nil, is called when the topic exists already, with
	// an admin client, to check it (Connect verifies the cleanup policy);
	// its error fails Start.
	Exists func(ctx context.Context, adm *kadm.Client) error
}

// Log is one compacted topic, read to its end and followed.
type Log struct {
	opts Options
	log  *slog.Logger

	pollMu sync.Mutex // held by whoever polls the consumer

	mu         sync.Mutex
	client     *kgo.Client
	adm        *kadm.Client
	partitions int
	next       map[int32]int64 // per partition, the offset after the last record read
	pending    int             // records produced whose outcome is not known yet
	changed    chan struct{}   // closed and replaced when next or pending moves
	closed     bool
}

// New returns a log; it connects in Start.
func New(opts Options) *Log {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Log{
		opts:    opts,
		log:     logger.With("topic", opts.Topic),
		next:    map[int32]int64{},
		changed: make(chan struct{}),
	}
}

// Topic returns the topic's name.
func (l *Log) Topic() string { return l.opts.Topic }

// Client returns the log's Kafka client, nil before Start. Callers may
// send their own requests on it; they must not poll it.
func (l *Log) Client() *kgo.Client {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.client
}

// Partitions returns the topic's partition count as Start found it.
func (l *Log) Partitions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.partitions
}

// Start creates the topic if asked to, connects and reads every partition
// to its end. The producer is idempotent (franz-go's default), waits for
// all in-sync replicas and does not linger.
func (l *Log) Start(ctx context.Context) error {
	if l.Client() != nil {
		return fmt.Errorf("start reading topic %s: already started", l.opts.Topic)
	}
	if l.opts.Create != nil {
		if err := l.ensureTopic(ctx); err != nil {
			return err
		}
	}
	opts := append(slices.Clone(l.opts.ClientOpts),
		kgo.DefaultProduceTopic(l.opts.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.ConsumeTopics(l.opts.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	if l.opts.ReadCommitted {
		// Control records are kept so the position passes transaction
		// markers; Apply never sees them.
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("connect to read topic %s: %w", l.opts.Topic, err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		client.Close()
		return fmt.Errorf("read topic %s: %w", l.opts.Topic, ErrClosed)
	}
	l.client, l.adm = client, kadm.NewClient(client)
	l.mu.Unlock()
	// A topic just created may not be known to every broker yet.
	for {
		err := l.describe(ctx)
		if err == nil {
			err = l.ReadToEnd(ctx)
		}
		if err == nil || !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return err
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// describe counts the topic's partitions.
func (l *Log) describe(ctx context.Context) error {
	details, err := l.adm.ListTopics(ctx, l.opts.Topic)
	if err == nil {
		err = details.Error()
	}
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", l.opts.Topic, err)
	}
	l.mu.Lock()
	l.partitions = len(details[l.opts.Topic].Partitions)
	l.mu.Unlock()
	l.log.Debug("reading topic", "partitions", len(details[l.opts.Topic].Partitions))
	return nil
}

// ensureTopic creates the topic compacted, or hands an existing one to
// Create.Exists (Kafka's TopicAdmin.createTopics). It uses a client of its
// own so the reading client is only made once the topic exists.
func (l *Log) ensureTopic(ctx context.Context) error {
	client, err := kgo.NewClient(l.opts.ClientOpts...)
	if err != nil {
		return fmt.Errorf("connect to create topic %s: %w", l.opts.Topic, err)
	}
	defer client.Close()
	adm := kadm.NewClient(client)

	c := l.opts.Create
	rf := c.ReplicationFactor
	if rf == 0 {
		rf = -1
	}
	compact := "compact"
	_, err = adm.CreateTopic(ctx, c.Partitions, rf, map[string]*string{"cleanup.policy": &compact}, l.opts.Topic)
	switch {
	case err == nil:
		// Debug: the broker logs the creation, and the log's owner says
		// when it is ready.
		l.log.Debug("created topic", "partitions", c.Partitions, "replication_factor", rf)
		return nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		if c.Exists != nil {
			return c.Exists(ctx, adm)
		}
		return nil
	default:
		return fmt.Errorf("create topic %s with %d partitions: %w", l.opts.Topic, c.Partitions, err)
	}
}

// Run applies records until ctx ends or the log is closed; it returns nil
// then. Fetch errors are logged and retried.
func (l *Log) Run(ctx context.Context) error {
	if l.Client() == nil {
		return fmt.Errorf("read topic %s: %w", l.opts.Topic, ErrNotStarted)
	}
	l.pollMu.Lock()
	defer func() {
		l.pollMu.Unlock()
		l.signal() // a ReadToEnd waiting on us may now poll itself
	}()
	for {
		if err := l.pollOnce(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, kgo.ErrClientClosed) {
				return nil
			}
			return err
		}
	}
}

// pollOnce fetches and applies one batch of records; the caller holds
// pollMu. Fetch errors are logged (the client retries what can be
// retried) and slow the loop down; only closing and ctx end it.
func (l *Log) pollOnce(ctx context.Context) error {
	fetches := l.client.PollFetches(ctx)
	if fetches.IsClientClosed() {
		return kgo.ErrClientClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	failed := false
	fetches.EachError(func(_ string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		failed = true
		l.log.Warn("fetch failed", "partition", p, "error", err)
	})
	l.applyFetches(fetches)
	if failed && fetches.NumRecords() == 0 {
		select {
		case <-time.After(fetchErrorBackoff):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// fetchErrorBackoff paces polling while fetches fail without records.
const fetchErrorBackoff = 200 * time.Millisecond

func (l *Log) applyFetches(fetches kgo.Fetches) {
	moved := map[int32]int64{}
	fetches.EachRecord(func(r *kgo.Record) {
		if !r.Attrs.IsControl() {
			l.opts.Apply(r)
		}
		moved[r.Partition] = r.Offset + 1
	})
	if len(moved) == 0 {
		return
	}
	l.mu.Lock()
	for p, off := range moved {
		l.next[p] = off
	}
	l.mu.Unlock()
	l.signal()
}

func (l *Log) signal() {
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// ReadToEnd returns once every record up to the current end of every
// partition has been applied (KafkaBasedLog.readToEnd).
func (l *Log) ReadToEnd(ctx context.Context) error {
	if l.Client() == nil {
		return fmt.Errorf("read topic %s to its end: %w", l.opts.Topic, ErrNotStarted)
	}
	list := l.adm.ListEndOffsets
	if l.opts.ReadCommitted {
		list = l.adm.ListCommittedOffsets // the last stable offset
	}
	listed, err := list(ctx, l.opts.Topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets of topic %s: %w", l.opts.Topic, err)
	}
	end := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	return l.WaitFor(ctx, end)
}

// WaitFor returns once, in every partition named, the records before its
// offset have been applied, polling itself when Run is not polling.
func (l *Log) WaitFor(ctx context.Context, end map[int32]int64) error {
	if l.Client() == nil {
		return fmt.Errorf("read topic %s: %w", l.opts.Topic, ErrNotStarted)
	}
	for {
		done, changed := l.reached(end)
		if done {
			return nil
		}
		if l.pollMu.TryLock() {
			err := l.pollOnce(ctx)
			l.pollMu.Unlock()
			if err != nil {
				return fmt.Errorf("read topic %s to its end: %w", l.opts.Topic, err)
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("read topic %s to its end: %w", l.opts.Topic, ctx.Err())
		}
	}
}

// reached reports whether every partition was read up to end, and
// otherwise returns a channel closed at the next progress.
func (l *Log) reached(end map[int32]int64) (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, off := range end {
		if l.next[p] < off {
			return false, l.changed
		}
	}
	return true, nil
}

// Write produces records and waits for every one of them to be
// acknowledged or failed, like a synchronous Kafka send: ctx fails the
// records not yet sent, but one in flight is waited for. It returns the
// first failure.
func (l *Log) Write(ctx context.Context, recs ...*kgo.Record) error {
	var wg sync.WaitGroup
	errs := make([]error, len(recs))
	for i, r := range recs {
		wg.Add(1)
		if err := l.Produce(ctx, r, func(_ *kgo.Record, err error) {
			errs[i] = err
			wg.Done()
		}); err != nil {
			wg.Done()
			wg.Wait()
			return err
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Produce hands one record to the producer without waiting; done, if not
// nil, receives its outcome, with the record's partition and offset set.
// The record counts as pending (see Settled) until then.
func (l *Log) Produce(ctx context.Context, r *kgo.Record, done func(*kgo.Record, error)) error {
	client := l.Client()
	if client == nil {
		return fmt.Errorf("write to topic %s: %w", l.opts.Topic, ErrNotStarted)
	}
	l.mu.Lock()
	l.pending++
	l.mu.Unlock()
	client.Produce(ctx, r, func(r *kgo.Record, err error) {
		if done != nil {
			done(r, err)
		}
		l.mu.Lock()
		l.pending--
		l.mu.Unlock()
		l.signal()
	})
	return nil
}

// Pending returns how many records produced have no known outcome yet. A
// record whose writer gave up waiting may still land.
func (l *Log) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending
}

// Settled returns once no record produced is pending, or with ctx's error.
func (l *Log) Settled(ctx context.Context) error {
	for {
		l.mu.Lock()
		pending, changed := l.pending, l.changed
		l.mu.Unlock()
		if pending == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close releases the client; it is idempotent.
func (l *Log) Close() {
	l.mu.Lock()
	client := l.client
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if client != nil && !already {
		client.Close()
	}
}
