package debezium

// The incremental snapshot's progress in source offsets: the tables left,
// the last key emitted and the maximum key, and the offset of the last
// Kafka signal acted on.

import (
	"encoding/json"
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Store adds the snapshot's progress to an offset while it runs.
func (inc *Incremental) Store(off map[string]any) {
	if !inc.Running() {
		return
	}
	cols, _ := json.Marshal(inc.collections)
	off[IncrementalCollectionsKey] = string(cols)
	off[IncrementalPrimaryKeyKey] = encodeKey(inc.lastSent)
	off[IncrementalMaximumKeyKey] = encodeKey(inc.maxKey)
	off[IncrementalCorrelationKey] = nil
	if inc.correlationID != "" {
		off[IncrementalCorrelationKey] = inc.correlationID
	}
}

// Load restores the progress a committed offset holds.
func (inc *Incremental) Load(off map[string]any) {
	s, _ := off[IncrementalCollectionsKey].(string)
	if s == "" {
		return
	}
	if err := json.Unmarshal([]byte(s), &inc.collections); err != nil {
		inc.log.Warn("incremental snapshot in the offset not resumed: unreadable tables", "value", s, "error", err)
		inc.collections = nil
		return
	}
	inc.correlationID, _ = off[IncrementalCorrelationKey].(string)
	last, errLast := decodeKey(off[IncrementalPrimaryKeyKey])
	maxKey, errMax := decodeKey(off[IncrementalMaximumKeyKey])
	if errLast != nil || errMax != nil {
		inc.log.Warn("incremental snapshot resumes its current table from the beginning: its keys in the offset are not Sluice's",
			"table", inc.collections[0].ID)
		return
	}
	inc.lastSent, inc.chunkEnd, inc.maxKey = last, last, maxKey
}

// LoadSignalOffset restores the offset of the last Kafka signal acted on;
// a value that is not an offset is an error wrapping connect.ErrOffset,
// rather than a signal run a second time.
func (inc *Incremental) LoadSignalOffset(off connect.Offset) error {
	n, ok, err := off.Int(SignalOffsetKey)
	if err != nil {
		return err
	}
	if ok {
		inc.kafkaOffset, inc.kafkaSeen = n, true
	}
	return nil
}

// KafkaSignal records that the Kafka signal at offset is being acted on:
// every later record carries its offset (Stamp).
func (inc *Incremental) KafkaSignal(offset int64) { inc.kafkaOffset, inc.kafkaSeen = offset, true }

// KafkaPosition returns the offset of the last Kafka signal acted on;
// seen is false when there is none.
func (inc *Incremental) KafkaPosition() (offset int64, seen bool) {
	return inc.kafkaOffset, inc.kafkaSeen
}

// Stamp stores the snapshot's progress and the last Kafka signal's offset
// in the offsets of records that do not carry them yet; each gets its own
// map, since offsets may be shared. Safe on nil.
func (inc *Incremental) Stamp(batch []*connect.Record) {
	if inc == nil || (!inc.Running() && !inc.kafkaSeen) {
		return
	}
	for _, r := range batch {
		if r.SourceOffset == nil {
			continue
		}
		_, hasProgress := r.SourceOffset[IncrementalCollectionsKey]
		_, hasSignal := r.SourceOffset[SignalOffsetKey]
		progress, signal := inc.Running() && !hasProgress, inc.kafkaSeen && !hasSignal
		if !progress && !signal {
			continue
		}
		r.SourceOffset = maps.Clone(r.SourceOffset)
		if progress {
			inc.Store(r.SourceOffset)
		}
		if signal {
			r.SourceOffset[SignalOffsetKey] = inc.kafkaOffset
		}
	}
}

// encodeKey renders a key for an offset: a JSON array of the key columns'
// text, or nil.
func encodeKey(key []string) any {
	if key == nil {
		return nil
	}
	b, _ := json.Marshal(key)
	return string(b)
}

func decodeKey(v any) ([]string, error) {
	s, _ := v.(string)
	if v == nil || s == "" {
		return nil, nil
	}
	var key []string
	if err := json.Unmarshal([]byte(s), &key); err != nil {
		return nil, err
	}
	return key, nil
}
