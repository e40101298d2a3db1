package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/kafkalog"
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

// kafkaLog is a store's topic: the shared compacted-topic log
// (internal/kafkalog, Kafka's KafkaBasedLog) reading committed records
// only, as Kafka's readers with exactly-once support do, plus what the
// stores add: Kafka's checks and messages for the topic's role, and the
// last write's failure for the worker's health.
type kafkaLog struct {
	*kafkalog.Log
	opts TopicOptions
	role topicRole
	log  *slog.Logger

	mu       sync.Mutex
	writeErr error     // the last write's failure; nil once a write succeeds
	failedAt time.Time // when writeErr happened
}

func newKafkaLog(opts TopicOptions, role topicRole, apply func(*kgo.Record)) *kafkaLog {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &kafkaLog{opts: opts, role: role, log: logger.With("topic", opts.Topic)}
	clientOpts := append(slices.Clone(opts.ClientOpts), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if opts.WriteRetries > 0 {
		// A refused write is retried after a metadata refresh; kgo's
		// default 5 s between refreshes would make each retry wait that
		// long, DefaultWriteRetries 20 s in all.
		clientOpts = append(clientOpts, kgo.RecordRetries(opts.WriteRetries), kgo.MetadataMinAge(retryMetadataAge))
	}
	l.Log = kafkalog.New(kafkalog.Options{
		Topic:         opts.Topic,
		ClientOpts:    clientOpts,
		ReadCommitted: true,
		Apply:         apply,
		Create: &kafkalog.Create{
			Partitions:        opts.Partitions,
			ReplicationFactor: opts.ReplicationFactor,
			Exists:            l.verifyCompact,
		},
		Logger: opts.Logger,
	})
	return l
}

func (l *kafkaLog) start(ctx context.Context) error     { return l.Start(ctx) }
func (l *kafkaLog) run(ctx context.Context) error       { return l.Run(ctx) }
func (l *kafkaLog) readToEnd(ctx context.Context) error { return l.ReadToEnd(ctx) }
func (l *kafkaLog) close()                              { l.Close() }

// produce writes records and waits for all of them to be acknowledged.
func (l *kafkaLog) produce(ctx context.Context, recs ...*kgo.Record) error {
	err := l.Write(ctx, recs...)
	if errors.Is(err, kafkalog.ErrNotStarted) {
		return err
	}
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
