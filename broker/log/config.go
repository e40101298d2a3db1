package log

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ConfigType is the Kafka config type reported by DescribeConfigs v3+.
type ConfigType int8

// Kafka's config types, numbered as in DescribeConfigsResponse.
const (
	TypeBoolean ConfigType = 1
	TypeString  ConfigType = 2
	TypeInt     ConfigType = 3
	TypeShort   ConfigType = 4
	TypeLong    ConfigType = 5
	TypeDouble  ConfigType = 6
	TypeList    ConfigType = 7
)

// ConfigDef declares one topic config: its name, type, built-in default, the
// broker config that supplies the default, and how its value is checked. The
// broker's DescribeConfigs, CreateTopics validation and the parser below all
// read this one table.
type ConfigDef struct {
	Name      string
	Type      ConfigType
	Default   string
	BrokerKey string // broker config that overrides Default for all topics; "" if none
	Doc       string
	// Applied is false for configs accepted for compatibility that Sluice does
	// not act on (replication settings on a single node, for example).
	Applied bool
	// Internal configs (Kafka's defineInternal) are accepted but not listed
	// by TopicConfigDefs, so DescribeConfigs does not show them.
	Internal bool
	validate func(string) error
}

// Validate checks a value for this config.
func (d ConfigDef) Validate(v string) error {
	if d.validate == nil {
		return nil
	}
	if err := d.validate(v); err != nil {
		return fmt.Errorf("%w: %s=%q: %v", ErrInvalidConfig, d.Name, v, err)
	}
	return nil
}

const maxLong = "9223372036854775807"

var topicConfigs = []ConfigDef{
	{Name: "cleanup.policy", Type: TypeList, Default: "delete", BrokerKey: "log.cleanup.policy", Applied: true,
		Doc: "delete: drop old segments by retention; compact: keep the latest record per key", validate: validCleanupPolicy},
	{Name: "compression.type", Type: TypeString, Default: "producer", BrokerKey: "compression.type",
		Doc: "Sluice stores the producer's batches as sent; only producer is applied", validate: oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")},
	{Name: "delete.retention.ms", Type: TypeLong, Default: "86400000", BrokerKey: "log.cleaner.delete.retention.ms", Applied: true,
		Doc: "how long tombstones are kept on compacted topics", validate: longAtLeast(0)},
	{Name: "file.delete.delay.ms", Type: TypeLong, Default: "60000", BrokerKey: "log.segment.delete.delay.ms", validate: longAtLeast(0)},
	{Name: "flush.messages", Type: TypeLong, Default: maxLong, BrokerKey: "log.flush.interval.messages", Applied: true,
		Doc: "fsync after this many messages; acks=1 waits for it (acks=all always waits for fsync)", validate: longAtLeast(1)},
	{Name: "flush.ms", Type: TypeLong, Default: maxLong, BrokerKey: "log.flush.interval.ms", Applied: true,
		Doc: "fsync data older than this in the background", validate: longAtLeast(0)},
	{Name: "index.interval.bytes", Type: TypeInt, Default: "4096", BrokerKey: "log.index.interval.bytes", Applied: true,
		Doc: "bytes between offset index entries", validate: intAtLeast(0)},
	{Name: "internal.segment.bytes", Type: TypeInt, Applied: true, Internal: true,
		Doc: "segment.bytes without its 1 MiB minimum, for tests only (Kafka 4.0's internal config)", validate: intAtLeast(14)},
	{Name: "max.compaction.lag.ms", Type: TypeLong, Default: maxLong, BrokerKey: "log.cleaner.max.compaction.lag.ms", Applied: true,
		Doc: "clean a compacted partition once its oldest uncleaned record is this old, whatever the dirty ratio", validate: longAtLeast(1)},
	{Name: "max.message.bytes", Type: TypeInt, Default: "1048588", BrokerKey: "message.max.bytes", Applied: true,
		Doc: "largest record batch accepted", validate: intAtLeast(0)},
	{Name: "message.timestamp.type", Type: TypeString, Default: "CreateTime", BrokerKey: "log.message.timestamp.type", Applied: true,
		Doc: "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock", validate: oneOf("CreateTime", "LogAppendTime")},
	{Name: "message.timestamp.difference.max.ms", Type: TypeLong, Default: maxLong, BrokerKey: "log.message.timestamp.difference.max.ms", validate: longAtLeast(0)},
	{Name: "message.timestamp.before.max.ms", Type: TypeLong, Default: maxLong, BrokerKey: "log.message.timestamp.before.max.ms", validate: longAtLeast(0)},
	{Name: "message.timestamp.after.max.ms", Type: TypeLong, Default: maxLong, BrokerKey: "log.message.timestamp.after.max.ms", validate: longAtLeast(0)},
	{Name: "min.cleanable.dirty.ratio", Type: TypeDouble, Default: "0.5", BrokerKey: "log.cleaner.min.cleanable.ratio", Applied: true,
		Doc: "clean a compacted partition when uncleaned bytes reach this share of its sealed segments", validate: ratio},
	{Name: "min.compaction.lag.ms", Type: TypeLong, Default: "0", BrokerKey: "log.cleaner.min.compaction.lag.ms", Applied: true,
		Doc: "records younger than this are never compacted away", validate: longAtLeast(0)},
	{Name: "min.insync.replicas", Type: TypeInt, Default: "1", BrokerKey: "min.insync.replicas",
		Doc: "accepted for compatibility; a single node is always in sync", validate: intAtLeast(1)},
	{Name: "preallocate", Type: TypeBoolean, Default: "false", BrokerKey: "log.preallocate", validate: boolean},
	{Name: "retention.bytes", Type: TypeLong, Default: "-1", BrokerKey: "log.retention.bytes", Applied: true,
		Doc: "delete the oldest segments while the partition is larger; -1 is unlimited", validate: longAtLeast(-1)},
	{Name: "retention.ms", Type: TypeLong, Default: "604800000", BrokerKey: "log.retention.ms", Applied: true,
		Doc: "delete segments whose newest record is older; -1 keeps forever", validate: longAtLeast(-1)},
	// At least 1 MiB as in Kafka 4.0 (KIP-1030): tiny segments cost a file
	// each. Tests use internal.segment.bytes.
	{Name: "segment.bytes", Type: TypeInt, Default: "1073741824", BrokerKey: "log.segment.bytes", Applied: true,
		Doc: "roll to a new segment file at this size", validate: intAtLeast(minSegmentBytes)},
	{Name: "segment.index.bytes", Type: TypeInt, Default: "10485760", BrokerKey: "log.index.size.max.bytes", validate: intAtLeast(8)},
	{Name: "segment.jitter.ms", Type: TypeLong, Default: "0", BrokerKey: "log.roll.jitter.ms", validate: longAtLeast(0)},
	{Name: "segment.ms", Type: TypeLong, Default: "604800000", BrokerKey: "log.roll.ms", Applied: true,
		Doc: "roll to a new segment after this long", validate: longAtLeast(1)},
	{Name: "unclean.leader.election.enable", Type: TypeBoolean, Default: "false", BrokerKey: "unclean.leader.election.enable", validate: boolean},
	{Name: "message.downconversion.enable", Type: TypeBoolean, Default: "true", BrokerKey: "log.message.downconversion.enable", validate: boolean},
	{Name: "local.retention.ms", Type: TypeLong, Default: "-2", BrokerKey: "log.local.retention.ms", validate: longAtLeast(-2)},
	{Name: "local.retention.bytes", Type: TypeLong, Default: "-2", BrokerKey: "log.local.retention.bytes", validate: longAtLeast(-2)},
	{Name: "remote.storage.enable", Type: TypeBoolean, Default: "false", validate: oneOf("false")},
}

// minSegmentBytes is segment.bytes' minimum, 1 MiB as in Kafka 4.0.
const minSegmentBytes = 1 << 20

// TopicConfigDefs returns the table of public topic configs, sorted by name;
// internal ones (LookupTopicConfig finds them) are left out.
func TopicConfigDefs() []ConfigDef {
	return slices.DeleteFunc(slices.Clone(topicConfigs), func(d ConfigDef) bool { return d.Internal })
}

// LookupTopicConfig finds a topic config by name.
func LookupTopicConfig(name string) (ConfigDef, bool) {
	for _, d := range topicConfigs {
		if d.Name == name {
			return d, true
		}
	}
	return ConfigDef{}, false
}

// Config is the effective configuration of one topic's partitions.
type Config struct {
	CleanupDelete      bool
	CleanupCompact     bool
	RetentionMs        int64 // -1: forever
	RetentionBytes     int64 // -1: unlimited
	SegmentBytes       int64
	SegmentMs          int64
	MaxMessageBytes    int
	LogAppendTime      bool
	FlushMessages      int64
	FlushMs            int64
	IndexIntervalBytes int
	DeleteRetentionMs  int64
	MinCompactionLagMs int64
	MinCleanableRatio  float64
}

// ValidateOverrides checks topic config overrides, returning every problem at once.
func ValidateOverrides(overrides map[string]string) error {
	var errs []error
	for _, k := range slices.Sorted(mapsKeys(overrides)) {
		d, ok := LookupTopicConfig(k)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: unknown topic config %q", ErrInvalidConfig, k))
			continue
		}
		if err := d.Validate(overrides[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ParseConfig resolves a topic's effective config: its overrides, then the
// broker defaults (keyed by topic config name), then the built-in defaults.
func ParseConfig(defaults, overrides map[string]string) (Config, error) {
	if err := ValidateOverrides(overrides); err != nil {
		return Config{}, err
	}
	get := func(name string) string {
		if v, ok := overrides[name]; ok {
			return v
		}
		if v, ok := defaults[name]; ok {
			return v
		}
		d, _ := LookupTopicConfig(name)
		return d.Default
	}
	long := func(name string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(get(name)), 10, 64)
		return n
	}
	var c Config
	for _, p := range strings.Split(get("cleanup.policy"), ",") {
		switch strings.TrimSpace(p) {
		case "delete":
			c.CleanupDelete = true
		case "compact":
			c.CleanupCompact = true
		}
	}
	c.RetentionMs = long("retention.ms")
	c.RetentionBytes = long("retention.bytes")
	c.SegmentBytes = long("segment.bytes")
	if get("internal.segment.bytes") != "" {
		c.SegmentBytes = long("internal.segment.bytes")
	}
	c.SegmentMs = long("segment.ms")
	c.MaxMessageBytes = int(min(long("max.message.bytes"), math.MaxInt32))
	c.LogAppendTime = get("message.timestamp.type") == "LogAppendTime"
	c.FlushMessages = long("flush.messages")
	c.FlushMs = long("flush.ms")
	c.IndexIntervalBytes = int(min(long("index.interval.bytes"), math.MaxInt32))
	c.DeleteRetentionMs = long("delete.retention.ms")
	c.MinCompactionLagMs = long("min.compaction.lag.ms")
	c.MinCleanableRatio, _ = strconv.ParseFloat(get("min.cleanable.dirty.ratio"), 64)
	return c, nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func validCleanupPolicy(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("want delete, compact or both")
	}
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "delete", "compact":
		default:
			return fmt.Errorf("unknown policy %q, want delete or compact", strings.TrimSpace(p))
		}
	}
	return nil
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		if slices.Contains(allowed, v) {
			return nil
		}
		return fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
	}
}

func longAtLeast(lo int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return errors.New("not a whole number")
		}
		if n < lo {
			return fmt.Errorf("must be at least %d", lo)
		}
		return nil
	}
}

func intAtLeast(lo int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return errors.New("not a 32-bit whole number")
		}
		if n < lo {
			return fmt.Errorf("must be at least %d", lo)
		}
		return nil
	}
}

func ratio(v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return errors.New("want a number between 0 and 1")
	}
	return nil
}

func boolean(v string) error {
	if v != "true" && v != "false" {
		return errors.New("want true or false")
	}
	return nil
}
