package s3

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Rotation keys of Confluent's S3 sink.
const (
	RotateScheduleIntervalConfig  = "rotate.schedule.interval.ms"
	RotateOnPartitionChangeConfig = "rotate.file.on.partition.change"
	MaxOpenFilesConfig            = "partitioner.max.open.files"
	MaxWriteDurationConfig        = "max.write.duration.ms"
)

var rotationKeys = connect.ConfigDef{
	{Name: RotateScheduleIntervalConfig, Type: connect.ConfigLong, Default: int64(-1), Importance: connect.Medium, Group: groupStore,
		Doc: "Wall-clock rotation: every open file is uploaded at each multiple of this interval since midnight in timezone (which it needs), " +
			"also when no record arrives. -1 turns it off. Object names then depend on when records arrive, so a replay may write other objects."},
	{Name: RotateOnPartitionChangeConfig, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupStore,
		Doc: "With rotate.interval.ms, also rotate when a record's encoded partition differs from the previous record's."},
	{Name: MaxOpenFilesConfig, Type: connect.ConfigInt, Default: -1, Importance: connect.Low, Group: groupStore,
		Validator: maxOpenValidator{},
		Doc:       "When a record would open one more file than this for its Kafka partition, every open file is uploaded first. -1: no limit."},
	{Name: MaxWriteDurationConfig, Type: connect.ConfigLong, Default: int64(math.MaxInt64), Importance: connect.Low, Group: groupStore,
		Validator: connect.AtLeast(0),
		Doc:       "How long one put may write: past it, the rest of the batch is handed back (the partitions are rewound to their first unwritten record) and comes again. At least one record is written per put."},
}

// rotationSettings are the parsed rotation keys.
type rotationSettings struct {
	rotateIntervalMs  int64
	scheduleMs        int64
	rotateOnPartition bool
	maxOpenFiles      int
	compatibility     string
	maxWrite          time.Duration
}

// parseRotation parses the rotation keys and their rules: record-time
// rotation needs a time-based partitioner's extractor (Confluent ignores
// it otherwise, with a warning; here it is refused), scheduled rotation a
// timezone.
func parseRotation(cfg connect.Config, s *settings) error {
	s.rotateIntervalMs = cfg.Int(RotateIntervalConfig)
	s.scheduleMs = cfg.Int(RotateScheduleIntervalConfig)
	s.rotateOnPartition = cfg.Bool(RotateOnPartitionChangeConfig)
	s.maxOpenFiles = int(cfg.Int(MaxOpenFilesConfig))
	s.compatibility = cfg.String(SchemaCompatibilityConfig)
	s.maxWrite = time.Duration(math.MaxInt64)
	if ms := cfg.Int(MaxWriteDurationConfig); ms < int64(math.MaxInt64/time.Millisecond) {
		s.maxWrite = time.Duration(ms) * time.Millisecond
	}
	if s.rotateIntervalMs > 0 && !s.timeBased() {
		return connect.NewConfigError(RotateIntervalConfig,
			"%s reads record time from a time-based partitioner's timestamp.extractor; with %s it would be ignored (as Confluent does), so it is refused: set %s to -1 or use %s",
			RotateIntervalConfig, s.partitionerClass, RotateIntervalConfig, TimeBasedPartitionerClass)
	}
	if s.scheduleMs > 0 && s.zone == nil {
		return connect.NewConfigError(TimezoneConfig, "%s configuration must be set when using %s", TimezoneConfig, RotateScheduleIntervalConfig)
	}
	return nil
}

// timeBased reports whether partitioner.class reads record time.
func (s *settings) timeBased() bool {
	switch s.partitionerClass {
	case TimeBasedPartitionerClass, HourlyPartitionerClass, DailyPartitionerClass:
		return true
	}
	return false
}

type maxOpenValidator struct{}

// Validate implements connect.Validator: -1 or a positive count (0 would
// rotate before every record, forever, in Confluent's sink).
func (maxOpenValidator) Validate(_ string, v any) string {
	if n, _ := v.(int64); n == 0 || n < -1 {
		return "must be -1 (no limit) or at least 1"
	}
	return ""
}

func (maxOpenValidator) String() string { return "-1 or [1,...]" }

// rotationState is what Confluent's TopicPartitionWriter keeps for the
// time triggers of one Kafka partition's writer since its last rotation.
type rotationState struct {
	w        *partitionWriter // the writer this state belongs to
	base, ts int64            // record time of the first and of the latest record
	hasBase  bool
	hasTS    bool
	last     string // encoded partition of the last record written
	hasLast  bool
	written  int64 // records written since the last reset
	// nextScheduled is the wall-clock time of the next scheduled
	// rotation, in epoch milliseconds.
	nextScheduled int64
}

// reset forgets the files' state after a rotation; the schedule stays.
func (st *rotationState) reset() {
	*st = rotationState{w: st.w, nextScheduled: st.nextScheduled}
}

// rotationState returns w's rotation state, starting it for a new writer
// and resetting it when w rotated since (flush.size, or a rotation by the
// upload failure handling). t.mu is held.
func (t *sinkTask) rotationState(w *partitionWriter) *rotationState {
	if t.rot == nil {
		t.rot = map[connect.TopicPartition]*rotationState{}
	}
	st := t.rot[w.tp]
	switch {
	case st == nil || st.w != w:
		st = &rotationState{w: w}
		if t.s.scheduleMs > 0 {
			st.nextScheduled = nextScheduledRotation(t.s.clock().UnixMilli(), t.s.scheduleMs, t.s.zone)
		}
		t.rot[w.tp] = st
	case st.written > 0 && w.count == 0:
		st.reset()
	}
	return st
}

// beforeWrite checks the triggers Confluent checks before writing a
// record, in its order: a switch between tombstones and records, record
// time (rotate.interval.ms, or a new encoded partition), the schedule, a
// schema change (schema.compatibility) and partitioner.max.open.files.
// When one fires, every open file is rotated and uploaded first. It
// returns the record to write: r, or r projected to its file's schema. A
// record that cannot be written is a *badRecordError; a failed upload is
// retriable.
func (t *sinkTask) beforeWrite(ctx context.Context, w *partitionWriter, r *connect.Record, encoded string) (*connect.Record, error) {
	st := t.rotationState(w)
	now := t.s.clock().UnixMilli()
	if w.count == 0 && t.s.scheduleMs > 0 && now >= st.nextScheduled {
		st.nextScheduled = nextScheduledRotation(now, t.s.scheduleMs, t.s.zone)
	}
	if t.s.writeNulls && r.Value == nil && len(t.views) < 2 {
		// parseNulls requires store.kafka.keys; without its view a
		// tombstone would be written to no object at all.
		return nil, fmt.Errorf("tombstone %s: %s=write has no key sidecar to write it to", r, NullValuesConfig)
	}
	if t.s.writeNulls && r.Value != nil && encoded == t.s.tombstonePartition {
		return nil, &badRecordError{fmt.Errorf("record %s has a value but its encoded partition is %s, the %s directory of tombstones", r, encoded, TombstonePartitionConfig)}
	}
	if t.s.rotateIntervalMs > 0 {
		ts, err := t.rotationTime(r)
		if err != nil {
			return nil, &badRecordError{err}
		}
		st.ts, st.hasTS = ts, true
		if !st.hasBase {
			st.base, st.hasBase = ts, true
		}
	}
	f := w.open[encoded]
	cur := r.ValueSchema
	if f != nil {
		cur = f.schema
	}
	var reason string
	switch {
	case f != nil && (cur == nil) != (r.ValueSchema == nil):
		reason = "a tombstone follows records or records follow a tombstone"
	case t.rotateOnTime(w, st, encoded, now):
		reason = "time"
		if t.s.scheduleMs > 0 {
			st.nextScheduled = nextScheduledRotation(now, t.s.scheduleMs, t.s.zone)
		}
	default:
		change, err := shouldChangeSchema(t.s.compatibility, r.ValueSchema, cur)
		if err != nil {
			return nil, &badRecordError{fmt.Errorf("%s %s: %w", SchemaCompatibilityConfig, t.s.compatibility, err)}
		}
		switch {
		case change && w.count > 0:
			reason = "schema change (" + SchemaCompatibilityConfig + " " + t.s.compatibility + ")"
		case t.s.maxOpenFiles > 0 && f == nil && len(w.open) == t.s.maxOpenFiles:
			reason = MaxOpenFilesConfig
		}
	}
	if reason != "" {
		t.ctx.Logger().Debug("rotating files", "partition", w.tp.String(), "reason", reason, "offset", r.Offset)
		ts, hasTS := st.ts, st.hasTS
		if err := t.rotateNow(ctx, w, st); err != nil {
			return nil, err
		}
		// As Confluent reads the record again after a rotation, its time
		// is the first of the new files.
		st.ts, st.hasTS, st.base, st.hasBase = ts, hasTS, ts, hasTS
		return r, nil // the record starts a new file with its own schema
	}
	out, err := projectRecord(r, cur)
	if err != nil {
		return nil, &badRecordError{fmt.Errorf("%s %s: %w", SchemaCompatibilityConfig, t.s.compatibility, err)}
	}
	return out, nil
}

// afterWrite notes a record written into the file of encoded.
func (t *sinkTask) afterWrite(w *partitionWriter, encoded string) {
	st := t.rotationState(w)
	st.last, st.hasLast = encoded, true
	st.written++
}

// rotationTime is the record time of rotate.interval.ms: the
// partitioner's timestamp, or the Kafka timestamp of a tombstone written
// by behavior.on.null.values=write (Confluent's
// TombstoneTimestampExtractor).
func (t *sinkTask) rotationTime(r *connect.Record) (int64, error) {
	if r.Value == nil && t.s.writeNulls {
		if r.Timestamp.IsZero() {
			return 0, fmt.Errorf("tombstone %s has no timestamp for %s", r, RotateIntervalConfig)
		}
		return r.Timestamp.UnixMilli(), nil
	}
	return t.s.timestamp(r)
}

// rotateOnTime is TopicPartitionWriter.rotateOnTime: with records in
// files, the record time reached rotate.interval.ms since the first one
// or the encoded partition changed (rotate.file.on.partition.change, not
// for tombstones), or the wall clock reached the scheduled rotation.
func (t *sinkTask) rotateOnTime(w *partitionWriter, st *rotationState, encoded string, now int64) bool {
	if w.count <= 0 {
		return false
	}
	if t.s.rotateIntervalMs > 0 {
		if st.hasBase && st.hasTS && st.ts-st.base >= t.s.rotateIntervalMs {
			return true
		}
		if t.s.rotateOnPartition && st.hasLast && encoded != st.last && !t.tombstoneTransition(encoded, st.last) {
			return true
		}
	}
	return t.s.scheduleMs > 0 && now >= st.nextScheduled
}

// tombstoneTransition: Confluent does not rotate on a partition change
// into or out of the tombstone directory.
func (t *sinkTask) tombstoneTransition(encoded, last string) bool {
	return t.s.writeNulls && (strings.Contains(encoded, t.s.tombstonePartition) || strings.Contains(last, t.s.tombstonePartition))
}

// rotateNow rotates every open file of w and uploads them.
func (t *sinkTask) rotateNow(ctx context.Context, w *partitionWriter, st *rotationState) error {
	st.reset()
	return t.rotateAndUpload(ctx, w)
}

// rotateDue rotates the files whose time has come without a new record
// (Confluent's commitOnTimeIfNoData, run after each put): the scheduled
// rotation of rotate.schedule.interval.ms. Put and Flush call it, so a
// quiet partition's files are uploaded; a failed upload rewinds the
// partition (t.fail).
// t.mu is held.
func (t *sinkTask) rotateDue(ctx context.Context) error {
	if t.s == nil || (t.s.scheduleMs <= 0 && t.s.rotateIntervalMs <= 0) {
		return nil
	}
	now := t.s.clock().UnixMilli()
	var first error
	for _, w := range t.writers {
		st := t.rotationState(w)
		if w.count == 0 {
			if t.s.scheduleMs > 0 && now >= st.nextScheduled {
				st.nextScheduled = nextScheduledRotation(now, t.s.scheduleMs, t.s.zone)
			}
			continue
		}
		if !t.rotateOnTime(w, st, st.last, now) {
			continue
		}
		if t.s.scheduleMs > 0 {
			st.nextScheduled = nextScheduledRotation(now, t.s.scheduleMs, t.s.zone)
		}
		t.ctx.Logger().Debug("rotating files on time", "partition", w.tp.String())
		if err := t.rotateNow(ctx, w, st); err != nil {
			// A failed upload rewinds the partition, as in Put.
			if err = t.fail(ctx, w, err); first == nil || !errors.Is(err, connect.ErrRetriable) {
				first = err
			}
		}
	}
	return first
}

// nextScheduledRotation is storage-common's
// DateTimeUtils.getNextTimeAdjustedByDay: the next multiple of period
// since the start of now's day in zone, at most the start of the next day.
func nextScheduledRotation(now, period int64, zone *time.Location) int64 {
	t := time.UnixMilli(now).In(zone)
	y, m, d := t.Date()
	startOfDay := time.Date(y, m, d, 0, 0, 0, 0, zone)
	today := time.Date(y, m, d+1, 0, 0, 0, 0, zone).UnixMilli() - startOfDay.UnixMilli()
	start := startOfDay.UnixMilli()
	next := ((now-start)/period + 1) * period
	return start + min(next, today)
}

// writeDeadline is max.write.duration.ms for one Put: once it passed,
// the rest of each partition's records is handed back to the worker,
// which delivers them again from the first one not written (Confluent
// keeps them in its buffer instead, and pauses the partition).
type writeDeadline struct {
	ctx      connect.SinkTaskContext
	at       time.Time // zero: no limit
	wrote    bool
	deferred map[connect.TopicPartition]bool
}

// newDeadline starts a Put's deadline.
func (t *sinkTask) newDeadline() *writeDeadline {
	d := &writeDeadline{ctx: t.ctx}
	if t.s != nil && t.s.maxWrite < time.Duration(math.MaxInt64) {
		d.at = time.Now().Add(t.s.maxWrite)
	}
	return d
}

// skip reports whether r is handed back: its partition was deferred, or
// the deadline passed, which defers its partition from r on. The first
// record of a Put is always written, so every Put makes progress.
func (d *writeDeadline) skip(r *connect.Record) bool {
	if d.at.IsZero() {
		return false
	}
	tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
	if d.deferred[tp] {
		return true
	}
	if !d.wrote || !time.Now().After(d.at) {
		d.wrote = true
		return false
	}
	if d.deferred == nil {
		d.deferred = map[connect.TopicPartition]bool{}
	}
	d.deferred[tp] = true
	d.ctx.Rewind(tp, r.Offset)
	return true
}
