package registry

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

// store is the _schemas topic: one compacted partition read from the
// start into state, and a producer whose writes return once read back
// (so a write is visible to the writer's next read, as in Confluent's
// KafkaStore).
//
// One goroutine at a time polls: Run's while it runs, otherwise a caller
// of readToEnd. Whoever holds pollMu polls.
type store struct {
	topic      string
	clientOpts []kgo.Opt
	state      *state
	log        *slog.Logger

	client *kgo.Client
	adm    *kadm.Client
	pollMu sync.Mutex

	// timeout bounds each step of a write (kafkastore.timeout.ms).
	timeout time.Duration

	mu      sync.Mutex
	next    int64         // offset after the last record read
	pending int           // records produced whose outcome is not known yet
	changed chan struct{} // closed and replaced when next or pending moves
}

// errNotStarted is returned by store operations before Run connected.
var errNotStarted = errors.New("schema registry is not running: the _schemas topic has not been read")

func newStore(topic string, clientOpts []kgo.Opt, timeout time.Duration, st *state, log *slog.Logger) *store {
	return &store{topic: topic, clientOpts: clientOpts, timeout: timeout, state: st, log: log.With("topic", topic),
		changed: make(chan struct{})}
}

// start creates the topic if missing, connects and reads to the end.
func (s *store) start(ctx context.Context) error {
	client, err := kgo.NewClient(append(slices.Clone(s.clientOpts),
		kgo.DefaultProduceTopic(s.topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.ConsumeTopics(s.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return fmt.Errorf("connect to read topic %s: %w", s.topic, err)
	}
	s.client, s.adm = client, kadm.NewClient(client)
	if err := s.ensureTopic(ctx); err != nil {
		return err
	}
	// A topic just created may not be known to every broker yet.
	for {
		err := s.readToEnd(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) {
			return err
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
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
		s.log.Warn("start-up NOOP write failed; writes fail until the broker can write", "error", err)
	}
}

// ensureTopic creates the topic with one partition and
// cleanup.policy=compact unless it exists.
func (s *store) ensureTopic(ctx context.Context) error {
	compact := "compact"
	_, err := s.adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, s.topic)
	switch {
	case err == nil:
		// Debug: the broker logs the creation too, and "schema registry
		// ready" names the topic.
		s.log.Debug("created topic")
		return nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		return nil
	default:
		return fmt.Errorf("create topic %s: %w", s.topic, err)
	}
}

// run applies records until ctx ends.
func (s *store) run(ctx context.Context) error {
	s.pollMu.Lock()
	defer func() {
		s.pollMu.Unlock()
		s.signal()
	}()
	for ctx.Err() == nil {
		if err := s.pollOnce(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

func (s *store) pollOnce(ctx context.Context) error {
	fetches := s.client.PollFetches(ctx)
	if fetches.IsClientClosed() {
		return kgo.ErrClientClosed
	}
	failed := false
	fetches.EachError(func(_ string, _ int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			failed = true
			s.log.Warn("fetch failed", "error", err)
		}
	})
	moved := int64(-1)
	fetches.EachRecord(func(r *kgo.Record) {
		s.state.apply(r.Key, r.Value)
		moved = r.Offset + 1
	})
	if moved >= 0 {
		s.mu.Lock()
		s.next = moved
		s.mu.Unlock()
		s.signal()
	} else if failed {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return nil
}

func (s *store) signal() {
	s.mu.Lock()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// readToEnd returns once every record up to the current end of the topic
// has been applied.
func (s *store) readToEnd(ctx context.Context) error {
	if s.adm == nil {
		return errNotStarted
	}
	listed, err := s.adm.ListEndOffsets(ctx, s.topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offset of topic %s: %w", s.topic, err)
	}
	end := int64(0)
	listed.Each(func(o kadm.ListedOffset) { end = max(end, o.Offset) })
	return s.waitFor(ctx, end)
}

// waitFor returns once the records before offset end are applied.
func (s *store) waitFor(ctx context.Context, end int64) error {
	for {
		s.mu.Lock()
		done, changed := s.next >= end, s.changed
		s.mu.Unlock()
		if done {
			return nil
		}
		if s.pollMu.TryLock() {
			err := s.pollOnce(ctx)
			s.pollMu.Unlock()
			if err != nil {
				return fmt.Errorf("read topic %s to its end: %w", s.topic, err)
			}
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("read topic %s to its end: %w", s.topic, ctx.Err())
		}
	}
}

func (s *store) close() {
	if s.client != nil {
		s.client.Close()
	}
}

// record builds a _schemas record (nil value = tombstone).
func record(key recordKey, value any) (*kgo.Record, error) {
	k, v, err := encodeRecord(key, value)
	if err != nil {
		return nil, err
	}
	return &kgo.Record{Key: k, Value: v}, nil
}
