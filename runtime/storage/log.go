package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TopicOptions says which topic a store keeps its records in and how to
// reach the brokers.
type TopicOptions struct {
	// Topic is the topic name (config.storage.topic, …).
	Topic string
	// Partitions is the partition count used when the topic is created;
	// 0 means the store's default (Kafka's: 1, 25, 5).
	Partitions int32
	// ReplicationFactor is used when the topic is created; 0 or -1 leave
	// it to the broker's default.
	ReplicationFactor int16
	// ClientOpts configure the Kafka clients (seed brokers, TLS, SASL,
	// client id). The store adds its own producer and consumer options
	// after them.
	ClientOpts []kgo.Opt
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// WriteRetries is how often a write the brokers refuse or cannot take
	// is tried again before it fails with their error: 0 is the store's
	// default (DefaultWriteRetries for configs and offsets; statuses are
	// retried for as long as the client runs, as Kafka re-sends them), -1
	// retries until the caller's context ends.
	WriteRetries int
}

// DefaultWriteRetries bounds the retries of a config or offset write. A
// write the broker keeps refusing (KAFKA_STORAGE_ERROR on a full disk) is
// retried after each metadata refresh, at most every retryMetadataAge, so it
// fails after about 2.5 s with the broker's error instead of at the caller's
// deadline (90 s for a REST request); a broker that cannot be reached is
// retried with franz-go's backoff (up to 5 s apart), about 50 s in all.
// Kafka's producer would retry until delivery.timeout.ms (120 s); failing
// fast tells the operator what is wrong while the request is still open.
const DefaultWriteRetries = 10

// retryMetadataAge is how soon a store's client may refresh metadata
// again, which a retried write waits for.
const retryMetadataAge = 250 * time.Millisecond

func (o TopicOptions) validate(what string) error {
	var errs []error
	if o.Topic == "" {
		errs = append(errs, fmt.Errorf("%s: topic must not be empty", what))
	}
	if o.Partitions < 0 {
		errs = append(errs, fmt.Errorf("%s: partitions %d: want at least 1", what, o.Partitions))
	}
	if o.WriteRetries < -1 {
		errs = append(errs, fmt.Errorf("%s: write retries %d: want at least 0, or -1 for no limit", what, o.WriteRetries))
	}
	if o.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("%s: replication factor %d: want at least 1, or -1 for the broker's default", what, o.ReplicationFactor))
	}
	return errors.Join(errs...)
}

// topicRole names a topic in Kafka's error messages.
type topicRole struct {
	workerConfig string // the worker property naming the topic
	purpose      string // what it keeps, as Kafka words it
	name         string // config, offset or status, for Sluice's messages
}

var (
	configRole = topicRole{"config.storage.topic", "connector configurations", "config"}
	offsetRole = topicRole{"offset.storage.topic", "source connector offsets", "offset"}
	statusRole = topicRole{"status.storage.topic", "connector and task statuses", "status"}
)

// kafkaLog is Kafka's KafkaBasedLog: a compacted topic read from the
// beginning of every partition, records handed to apply in offset order,
// and a producer that waits for all in-sync replicas.
//
// One goroutine at a time polls the consumer: Run's for as long as it
// runs, otherwise one that needs to catch up (readToEnd). Whoever holds
// pollMu polls; apply is called only from that goroutine.
type kafkaLog struct {
	opts  TopicOptions
	role  topicRole
	apply func(*kgo.Record)
	log   *slog.Logger

	client     *kgo.Client
	adm        *kadm.Client
	partitions int

	pollMu sync.Mutex

	mu       sync.Mutex
	next     map[int32]int64 // per partition, the offset after the last record read
	changed  chan struct{}   // closed and replaced when next moves
	closed   bool
	writeErr error     // the last write's failure; nil once a write succeeds
	failedAt time.Time // when writeErr happened
}

func newKafkaLog(opts TopicOptions, role topicRole, apply func(*kgo.Record)) *kafkaLog {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &kafkaLog{
		opts: opts, role: role, apply: apply,
		log:     logger.With("topic", opts.Topic),
		next:    map[int32]int64{},
		changed: make(chan struct{}),
	}
}

// start creates the topic if needed, connects and reads to the end. The
// producer is idempotent (franz-go's default) and waits for all in-sync
// replicas.
func (l *kafkaLog) start(ctx context.Context) error {
	l.mu.Lock()
	started := l.client != nil
	l.mu.Unlock()
	if started {
		return fmt.Errorf("start reading topic %s: already started", l.opts.Topic)
	}
	if err := l.ensureTopic(ctx); err != nil {
		return err
	}
	opts := append(slices.Clone(l.opts.ClientOpts),
		kgo.DefaultProduceTopic(l.opts.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(0),
		kgo.ConsumeTopics(l.opts.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Like Kafka's readers with exactly-once support: records of
		// aborted transactions are never applied. Control records are
		// kept so the position passes transaction markers.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)
	if l.opts.WriteRetries > 0 {
		// A refused write is retried after a metadata refresh; kgo's
		// default 5 s between refreshes would make each retry wait that
		// long, DefaultWriteRetries 20 s in all.
		opts = append(opts, kgo.RecordRetries(l.opts.WriteRetries), kgo.MetadataMinAge(retryMetadataAge))
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("connect to read topic %s: %w", l.opts.Topic, err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		client.Close()
		return fmt.Errorf("read topic %s: %w", l.opts.Topic, errClosed)
	}
	l.client, l.adm = client, kadm.NewClient(client)
	l.mu.Unlock()
	details, err := l.adm.ListTopics(ctx, l.opts.Topic)
	if err == nil {
		err = details.Error()
	}
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", l.opts.Topic, err)
	}
	l.partitions = len(details[l.opts.Topic].Partitions)
	l.log.Debug("reading topic", "partitions", l.partitions)
	return l.readToEnd(ctx)
}

// run applies records until ctx ends or the log is closed.
func (l *kafkaLog) run(ctx context.Context) error {
	if l.client == nil {
		return fmt.Errorf("read topic %s: Start has not succeeded", l.opts.Topic)
	}
	l.pollMu.Lock()
	defer func() {
		l.pollMu.Unlock()
		l.signal() // a readToEnd waiting on us may now poll itself
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
func (l *kafkaLog) pollOnce(ctx context.Context) error {
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

func (l *kafkaLog) applyFetches(fetches kgo.Fetches) {
	moved := map[int32]int64{}
	fetches.EachRecord(func(r *kgo.Record) {
		if !r.Attrs.IsControl() {
			l.apply(r)
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

func (l *kafkaLog) signal() {
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// readToEnd returns once every record up to the current end of every
// partition has been applied (Kafka's KafkaBasedLog.readToEnd). The end is
// the last stable offset, which without open transactions is the high
// watermark.
func (l *kafkaLog) readToEnd(ctx context.Context) error {
	if l.client == nil {
		return fmt.Errorf("read topic %s to its end: Start has not succeeded", l.opts.Topic)
	}
	listed, err := l.adm.ListCommittedOffsets(ctx, l.opts.Topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets of topic %s: %w", l.opts.Topic, err)
	}
	end := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
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
func (l *kafkaLog) reached(end map[int32]int64) (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, off := range end {
		if l.next[p] < off {
			return false, l.changed
		}
	}
	return true, nil
}

// produce writes records and waits for all of them to be acknowledged.
func (l *kafkaLog) produce(ctx context.Context, recs ...*kgo.Record) error {
	if l.client == nil {
		return fmt.Errorf("write to topic %s: Start has not succeeded", l.opts.Topic)
	}
	err := l.client.ProduceSync(ctx, recs...).FirstErr()
	if err != nil {
		err = fmt.Errorf("write to %s topic %s: %w", l.role.name, l.opts.Topic, err)
	}
	l.wrote(err)
	return err
}

// wrote records the outcome of a write for writeError. A write its caller
// gave up on says nothing about the brokers, and is not recorded.
func (l *kafkaLog) wrote(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.writeErr, l.failedAt = err, time.Now()
	} else if l.writeErr != nil {
		l.log.Info("writes succeed again", "failed_since", l.failedAt)
		l.writeErr = nil
	}
}

// writeError returns the last write's failure and how long ago it was, or
// nil when the last write succeeded (or there was none).
func (l *kafkaLog) writeError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.writeErr == nil {
		return nil
	}
	return fmt.Errorf("%w (last write, %s ago)", l.writeErr, time.Since(l.failedAt).Round(time.Second))
}

// close releases the client; it is idempotent.
func (l *kafkaLog) close() {
	l.mu.Lock()
	client := l.client
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if client != nil && !already {
		client.Close()
	}
}
