package bench

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults shared by the flags and by zero-valued option fields.
const (
	DefaultBroker        = "127.0.0.1:9092"
	DefaultTopic         = "sluice-bench"
	DefaultRecords       = 1_000_000
	DefaultRecordSize    = 1024
	DefaultPartitions    = 8
	DefaultBatchMaxBytes = 1_000_000
	DefaultMaxInflight   = 5
	DefaultTimeout       = 5 * time.Minute

	// maxBatchMaxBytes is the largest --batch-max-bytes accepted: kgo's
	// default per-broker write limit is 100 MiB and a batch must fit in one.
	maxBatchMaxBytes = 100 << 20
)

// ProduceOptions configures [Produce]. A zero field means its default
// (the flag default of `sluice bench produce`) except Records and RecordSize,
// which must be set, and Idempotent and Linger, whose zero values are real
// choices. Produce never modifies the caller's value.
type ProduceOptions struct {
	// Brokers are the seed addresses, host:port.
	Brokers []string
	// Topic is produced to; it is created with Partitions partitions and
	// replication factor 1 if it does not exist.
	Topic string
	// Records is the total number of records, shared by all producers.
	Records int
	// RecordSize is the value size in bytes; keys are nil.
	RecordSize int
	// Acks is "all" (same as "-1"), "1" or "0".
	Acks string
	// Compression is "none", "gzip", "snappy", "lz4" or "zstd".
	Compression string
	// Partitions is used only when the topic has to be created.
	Partitions int
	// Linger is how long kgo waits for a batch to fill (kgo ProducerLinger).
	Linger time.Duration
	// BatchMaxBytes caps a record batch (kgo ProducerBatchMaxBytes).
	BatchMaxBytes int
	// Producers is the number of independent clients producing in parallel.
	Producers int
	// Idempotent enables idempotent producing, which needs Acks "all".
	Idempotent bool
	// MaxInflight caps produce requests in flight per broker when Idempotent
	// is false; with idempotency kgo fixes it at 5 and this is ignored.
	MaxInflight int
	// Throughput caps the send rate in records per second across all
	// producers, like kafka-producer-perf-test's --throughput; zero or less
	// means as fast as possible. Latency below saturation is measured this way.
	Throughput float64
}

// ConsumeOptions configures [Consume]. A zero field means its default, except
// Records (zero means no limit) and Group (empty means no group).
type ConsumeOptions struct {
	// Brokers are the seed addresses, host:port.
	Brokers []string
	// Topic is consumed from; it must exist.
	Topic string
	// Records stops the run after this many records; zero means read up to
	// the end offsets captured when the run starts.
	Records int
	// Group consumes as a member of this consumer group; empty consumes all
	// partitions directly from the start.
	Group string
	// Timeout bounds the whole run.
	Timeout time.Duration
}

func (o ProduceOptions) withDefaults() ProduceOptions {
	if len(o.Brokers) == 0 {
		o.Brokers = []string{DefaultBroker}
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Acks == "" {
		o.Acks = "all"
	}
	if o.Compression == "" {
		o.Compression = "none"
	}
	if o.Partitions == 0 {
		o.Partitions = DefaultPartitions
	}
	if o.BatchMaxBytes == 0 {
		o.BatchMaxBytes = DefaultBatchMaxBytes
	}
	if o.Producers == 0 {
		o.Producers = 1
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = DefaultMaxInflight
	}
	return o
}

// Validate reports every problem with o at once, as given: it does not apply
// defaults, so a zero count is an error here. [Produce] applies defaults
// first and then validates.
func (o ProduceOptions) Validate() error {
	var errs []error
	errs = append(errs, validateTarget(o.Brokers, o.Topic)...)
	if o.Records <= 0 {
		errs = append(errs, fmt.Errorf("--records %d: want more than 0", o.Records))
	}
	if o.RecordSize <= 0 {
		errs = append(errs, fmt.Errorf("--record-size %d: want more than 0", o.RecordSize))
	} else if o.BatchMaxBytes > 0 && o.RecordSize > o.BatchMaxBytes {
		errs = append(errs, fmt.Errorf("--record-size %d: larger than --batch-max-bytes %d", o.RecordSize, o.BatchMaxBytes))
	}
	_, err := parseAcks(o.Acks)
	if err != nil {
		errs = append(errs, err)
	}
	if _, err := parseCompression(o.Compression); err != nil {
		errs = append(errs, err)
	}
	if o.Partitions <= 0 || o.Partitions > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("--partitions %d: want 1 to %d", o.Partitions, math.MaxInt32))
	}
	if o.Linger < 0 {
		errs = append(errs, fmt.Errorf("--linger %s: want 0 or more", o.Linger))
	}
	if o.BatchMaxBytes < 512 || o.BatchMaxBytes > maxBatchMaxBytes {
		errs = append(errs, fmt.Errorf("--batch-max-bytes %d: want 512 to %d", o.BatchMaxBytes, maxBatchMaxBytes))
	}
	if o.Producers <= 0 {
		errs = append(errs, fmt.Errorf("--producers %d: want more than 0", o.Producers))
	}
	if o.MaxInflight <= 0 {
		errs = append(errs, fmt.Errorf("--max-inflight %d: want more than 0", o.MaxInflight))
	}
	if err == nil && o.Idempotent && acksName(o.Acks) != "all" {
		errs = append(errs, fmt.Errorf("--idempotent with --acks %s: idempotent producing needs acks=all; pass --idempotent=false", o.Acks))
	}
	return errors.Join(errs...)
}

func (o ConsumeOptions) withDefaults() ConsumeOptions {
	if len(o.Brokers) == 0 {
		o.Brokers = []string{DefaultBroker}
	}
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Validate reports every problem with o at once, as given (no defaults
// applied).
func (o ConsumeOptions) Validate() error {
	errs := validateTarget(o.Brokers, o.Topic)
	if o.Records < 0 {
		errs = append(errs, fmt.Errorf("--records %d: want 0 (no limit) or more", o.Records))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: want more than 0", o.Timeout))
	}
	return errors.Join(errs...)
}

func validateTarget(brokers []string, topic string) []error {
	var errs []error
	if len(brokers) == 0 {
		errs = append(errs, errors.New("--brokers: want at least one host:port"))
	}
	for _, b := range brokers {
		if strings.TrimSpace(b) == "" {
			errs = append(errs, fmt.Errorf("--brokers %q: empty address", strings.Join(brokers, ",")))
			break
		}
	}
	if topic == "" {
		errs = append(errs, errors.New("--topic: want a topic name"))
	}
	return errs
}

func parseAcks(s string) (kgo.Acks, error) {
	switch s {
	case "all", "-1":
		return kgo.AllISRAcks(), nil
	case "1":
		return kgo.LeaderAck(), nil
	case "0":
		return kgo.NoAck(), nil
	}
	return kgo.Acks{}, fmt.Errorf("--acks %q: want all, -1, 0 or 1", s)
}

func parseCompression(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", s)
}

// acksName is the name used in output: "all" for both spellings.
func acksName(s string) string {
	if s == "-1" {
		return "all"
	}
	return s
}
