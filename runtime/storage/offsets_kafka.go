package storage

import (
	"bytes"
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaOffsetStore keeps source offsets on the offsets topic (Kafka's
// KafkaOffsetBackingStore). Records are partitioned by the murmur2 hash of
// the key bytes, as Kafka's producer does, so every write of a key lands
// on the same partition; a key first written by another worker is written
// again with that worker's bytes.
//
// A logical key written with two different field orders by two writers
// can sit on two partitions; which one a reader applies last is then
// undefined, as it is in Kafka.
type KafkaOffsetStore struct {
	log *kafkaLog
	indexedOffsets
}

var _ OffsetStore = (*KafkaOffsetStore)(nil)

// DefaultOffsetPartitions is Kafka's offset.storage.partitions default.
const DefaultOffsetPartitions = 25

// NewKafkaOffsetStore checks the options and returns a store; it does no
// I/O. Partitions 0 means 25.
func NewKafkaOffsetStore(opts TopicOptions) (*KafkaOffsetStore, error) {
	if opts.Partitions == 0 {
		opts.Partitions = DefaultOffsetPartitions
	}
	if opts.WriteRetries == 0 {
		opts.WriteRetries = DefaultWriteRetries
	}
	if err := opts.validate("offset store"); err != nil {
		return nil, err
	}
	s := &KafkaOffsetStore{indexedOffsets: indexedOffsets{ix: newOffsetIndex()}}
	s.log = newKafkaLog(opts, offsetRole, s.apply)
	return s, nil
}

// Start creates the topic if needed and reads it to the end.
func (s *KafkaOffsetStore) Start(ctx context.Context) error { return s.log.start(ctx) }

// Run applies offsets written by any worker until ctx ends.
func (s *KafkaOffsetStore) Run(ctx context.Context) error { return s.log.run(ctx) }

// Close releases the client; it is idempotent.
func (s *KafkaOffsetStore) Close() error {
	s.log.close()
	return nil
}

// WriteError returns why the last write to the topic failed, nil once a
// write succeeded again.
func (s *KafkaOffsetStore) WriteError() error { return s.log.writeError() }

// Refresh reads the topic up to its current end (Kafka reads to the end
// before every offset lookup; callers do it when a task starts).
func (s *KafkaOffsetStore) Refresh(ctx context.Context) error { return s.log.readToEnd(ctx) }

// Set writes offsets (a nil Offset as a tombstone) and returns once the
// broker acknowledged all of them; they are visible to Get at once.
func (s *KafkaOffsetStore) Set(ctx context.Context, connector string, entries []OffsetEntry) error {
	norm, err := normalizeEntries(connector, entries)
	if err != nil {
		return err
	}
	recs := s.records(connector, norm)
	if err := s.log.produce(ctx, recs...); err != nil {
		return fmt.Errorf("write %d offsets of connector %s: %w", len(recs), connector, err)
	}
	s.applyWritten(connector, norm, recs)
	return nil
}

// records renders normalized entries as offsets-topic records.
func (s *KafkaOffsetStore) records(connector string, norm []normalizedEntry) []*kgo.Record {
	recs := make([]*kgo.Record, len(norm))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range norm {
		recs[i] = &kgo.Record{Topic: s.log.opts.Topic, Key: s.ix.key(connector, e.canon, e.partition)}
		if e.offset != nil {
			recs[i].Value = appendJSON(nil, e.offset)
		}
	}
	return recs
}

// applyWritten makes written entries visible to Get.
func (s *KafkaOffsetStore) applyWritten(connector string, norm []normalizedEntry, recs []*kgo.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range norm {
		s.ix.put(connector, e.canon, e.partition, e.offset, recs[i].Key)
	}
}

// apply reads one offsets record; keys in another shape (Kafka keeps them
// but no connector can ask for them) are logged and skipped.
func (s *KafkaOffsetStore) apply(r *kgo.Record) {
	connector, partition, err := parseOffsetKey(r.Key)
	if err != nil {
		s.log.log.Warn("skipping offset record", "key", string(r.Key), "partition", r.Partition, "offset", r.Offset, "error", err)
		return
	}
	var offset map[string]any
	if len(r.Value) > 0 {
		if offset, err = parseOffsetValue(r.Value); err != nil {
			s.log.log.Warn("skipping offset record", "key", string(r.Key), "partition", r.Partition, "offset", r.Offset, "error", err)
			return
		}
	}
	canon := canonicalPartition(partition)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ix.put(connector, canon, partition, offset, bytes.Clone(r.Key))
}

// Topic returns the offsets topic's name.
func (s *KafkaOffsetStore) Topic() string { return s.log.opts.Topic }

// Records renders entries as offsets-topic records without writing them,
// for a transactional producer that writes source offsets in the same
// transaction as the records (exactly-once sources, KIP-618). Once the
// transaction committed, Committed makes them visible to Get.
func (s *KafkaOffsetStore) Records(connector string, entries []OffsetEntry) ([]*kgo.Record, error) {
	norm, err := normalizeEntries(connector, entries)
	if err != nil {
		return nil, err
	}
	return s.records(connector, norm), nil
}

// Committed applies entries whose records (from Records) a transaction
// committed.
func (s *KafkaOffsetStore) Committed(connector string, entries []OffsetEntry, recs []*kgo.Record) {
	norm, err := normalizeEntries(connector, entries)
	if err != nil || len(norm) != len(recs) {
		return
	}
	s.applyWritten(connector, norm, recs)
}
