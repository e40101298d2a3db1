package connect

import (
	"fmt"
	"time"
)

// AnyPartition lets the producer choose the partition of a source record.
const AnyPartition int32 = -1

// Record is one record on its way through the runtime: a SourceRecord when
// a source task produced it, a SinkRecord when the worker consumed it for a
// sink task (Kafka's ConnectRecord and its two subclasses in one type).
//
// Records are values: a transform that changes one returns a modified copy
// (r2 := *r) and never mutates the input's maps, structs or headers in
// place, since the runtime may still need the original (for the dead letter
// queue, for retries).
type Record struct {
	Topic string
	// Partition is the Kafka partition; AnyPartition on a source record
	// leaves the choice to the producer's partitioner.
	Partition   int32
	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any
	// Timestamp is the record timestamp; the zero time means none.
	Timestamp time.Time
	Headers   Headers

	// SourcePartition and SourceOffset identify a source record's position
	// in its source system; the worker commits SourceOffset to the offsets
	// topic once the broker acknowledged the record. Values must be
	// primitive (string, bool, numbers, nil), as Kafka requires.
	SourcePartition map[string]any
	SourceOffset    map[string]any

	// Offset is a sink record's Kafka offset, and TimestampType its
	// timestamp type ("CreateTime", "LogAppendTime", "NoTimestampType").
	Offset        int64
	TimestampType string
	// OriginalTopic, OriginalPartition and OriginalOffset keep a sink
	// record's position before transforms (KIP-793).
	OriginalTopic     string
	OriginalPartition int32
	OriginalOffset    int64
}

// NewSourceRecord returns a source record with the producer choosing the
// partition (Kafka's SourceRecord constructor without a partition).
func NewSourceRecord(srcPartition, srcOffset map[string]any, topic string,
	keySchema *Schema, key any, valueSchema *Schema, value any) *Record {
	return &Record{
		Topic: topic, Partition: AnyPartition,
		KeySchema: keySchema, Key: key, ValueSchema: valueSchema, Value: value,
		SourcePartition: srcPartition, SourceOffset: srcOffset,
	}
}

// Copy returns a shallow copy with its own header slice, for transforms.
func (r *Record) Copy() *Record {
	c := *r
	c.Headers = r.Headers.Clone()
	return &c
}

// String describes the record's position for logs and error messages,
// without its contents.
func (r *Record) String() string {
	if r.SourcePartition != nil || r.SourceOffset != nil {
		return fmt.Sprintf("SourceRecord{topic=%s, sourcePartition=%v, sourceOffset=%v}", r.Topic, r.SourcePartition, r.SourceOffset)
	}
	return fmt.Sprintf("SinkRecord{topic=%s, partition=%d, offset=%d}", r.Topic, r.Partition, r.Offset)
}

// Header is one record header with its Connect schema and value.
type Header struct {
	Key    string
	Schema *Schema
	Value  any
}

// Headers is a record's ordered header list; keys may repeat.
type Headers []Header

// Clone returns a copy of the slice (values are shared).
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	return append(Headers(nil), h...)
}

// Last returns the last header with key, as Kafka's Headers.lastWithName.
func (h Headers) Last(key string) (Header, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i], true
		}
	}
	return Header{}, false
}

// Without returns the headers minus every one whose key is in keys.
func (h Headers) Without(keys ...string) Headers {
	out := make(Headers, 0, len(h))
next:
	for _, x := range h {
		for _, k := range keys {
			if x.Key == k {
				continue next
			}
		}
		out = append(out, x)
	}
	return out
}

// TopicPartition names a Kafka partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }
