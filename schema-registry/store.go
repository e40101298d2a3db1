package registry

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/internal/kafkalog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// store is the _schemas topic: one compacted partition read from the
// start into state (the shared compacted-topic log, internal/kafkalog),
// and writes that return once read back (so a write is visible to the
// writer's next read, as in Confluent's KafkaStore).
type store struct {
	log    *kafkalog.Log
	topic  string
	state  *state
	logger *slog.Logger

	// timeout bounds each step of a write (kafkastore.timeout.ms).
	timeout time.Duration
}

// errNotStarted is returned by store operations before Run connected.
var errNotStarted = errors.New("schema registry is not running: the _schemas topic has not been read")

func newStore(topic string, clientOpts []kgo.Opt, timeout time.Duration, st *state, log *slog.Logger) *store {
	return &store{
		log: kafkalog.New(kafkalog.Options{
			Topic:      topic,
			ClientOpts: clientOpts,
			Apply:      func(r *kgo.Record) { st.apply(r.Key, r.Value) },
			Create:     &kafkalog.Create{Partitions: 1, ReplicationFactor: -1},
			Logger:     log,
		}),
		topic: topic, timeout: timeout, state: st, logger: log.With("topic", topic),
	}
}

// client returns the store's Kafka client, nil before start.
func (s *store) client() *kgo.Client { return s.log.Client() }

// start creates the topic if missing, connects, reads to the end and
// readies the producer.
func (s *store) start(ctx context.Context) error {
	if err := s.log.Start(ctx); err != nil {
		return err
	}
	s.warmUp(ctx)
	return nil
}

// warmUpTimeout bounds the start-up NOOP write.
const warmUpTimeout = 10 * time.Second

// warmUp writes a NOOP record, as Confluent's KafkaStore does at start:
// it readies the producer (connection, producer id), so the first real
// write does not pay for that within the store timeout. A broker that
// cannot write does not stop the start: reads work, and writes wait for
// the NOOP's outcome like for any earlier write's.
func (s *store) warmUp(ctx context.Context) {
	noop, err := record(recordKey{KeyType: keyNoop}, nil)
	if err == nil {
		err = s.writeWithin(ctx, warmUpTimeout, noop)
	}
	if err != nil {
		s.logger.Warn("start-up NOOP write failed; writes fail until the broker can write", "error", err)
	}
}

// run applies records until ctx ends.
func (s *store) run(ctx context.Context) error { return s.log.Run(ctx) }

// readToEnd returns once every record up to the current end of the topic
// has been applied.
func (s *store) readToEnd(ctx context.Context) error {
	if s.client() == nil {
		return errNotStarted
	}
	return s.log.ReadToEnd(ctx)
}

func (s *store) close() { s.log.Close() }

// record builds a _schemas record (nil value = tombstone).
func record(key recordKey, value any) (*kgo.Record, error) {
	k, v, err := encodeRecord(key, value)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Key: k, Value: v}, nil
}
