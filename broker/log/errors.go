package log

import "errors"

// Sentinel errors of the storage engine. The broker maps each to one Kafka
// error code in one place.
var (
	// ErrOffsetOutOfRange: a read below the log start offset or past the log end.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrStorage: the partition saw a write or sync error earlier and refuses
	// writes (sticky), or the disk failed now.
	ErrStorage = errors.New("storage error")
	// ErrOutOfOrderSequence: an idempotent producer skipped a sequence number.
	ErrOutOfOrderSequence = errors.New("out of order sequence number")
	// ErrInvalidProducerEpoch: an idempotent producer wrote with an epoch older
	// than one already seen.
	ErrInvalidProducerEpoch = errors.New("invalid producer epoch")
	// ErrUnknownTopic: the topic or partition does not exist.
	ErrUnknownTopic = errors.New("unknown topic or partition")
	// ErrTopicExists: CreateTopics for a topic that exists.
	ErrTopicExists = errors.New("topic already exists")
	// ErrInvalidConfig: a topic or broker config key or value is not valid.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidTopic: a topic name breaks Kafka's naming rules.
	ErrInvalidTopic = errors.New("invalid topic name")
	// ErrInvalidPartitions: a partition count is not valid.
	ErrInvalidPartitions = errors.New("invalid partitions")
	// ErrClosed: the store or partition was closed.
	ErrClosed = errors.New("log closed")
)
