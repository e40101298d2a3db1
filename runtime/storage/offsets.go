package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// OffsetEntry is one source partition of a connector and its offset. A nil
// Offset given to Set removes the partition (a tombstone in the topic).
type OffsetEntry struct {
	Partition map[string]any
	Offset    map[string]any
}

// OffsetStore keeps source connectors' offsets: KafkaOffsetStore on the
// offsets topic for workers, FileOffsetStore for standalone mode.
//
// Partitions are looked up by value: numbers are compared after
// normalisation (integers as int64, other numbers as float64), so a key
// whose map fields another writer put in any order is found. Partition and
// offset values must be primitive (see ValidateOffset). All methods are
// safe for concurrent use.
type OffsetStore interface {
	// Start loads the stored offsets; it must return before Run is called.
	Start(ctx context.Context) error
	// Run applies offsets written by others until ctx ends.
	Run(ctx context.Context) error
	// Close releases the store's resources; it is idempotent.
	Close() error
	// Get returns a partition's offset, or nil if it has none.
	Get(connector string, partition map[string]any) (map[string]any, error)
	// Set stores offsets and returns once they are durable and visible to
	// Get; entries are written in order, so the last one for a partition
	// wins.
	Set(ctx context.Context, connector string, entries []OffsetEntry) error
	// Offsets lists every partition of a connector with an offset, sorted
	// by the partition's canonical JSON.
	Offsets(connector string) []OffsetEntry
	// Refresh reads whatever others wrote up to now.
	Refresh(ctx context.Context) error
}

// ValidateOffset checks that a source partition or offset holds only
// primitive values (strings, booleans, integers, floats, byte slices or
// nil), with Kafka's OffsetUtils.validateFormat message.
func ValidateOffset(data map[string]any) error {
	_, err := normalizeOffsetMap(data)
	return err
}

// normalizeOffsetMap validates data and returns a copy whose values are
// nil, bool, string, int64 or float64, as they read back from JSON.
func normalizeOffsetMap(data map[string]any) (map[string]any, error) {
	if data == nil {
		return nil, nil
	}
	out := make(map[string]any, len(data))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		v, bad := normalizeValue(data[k])
		if bad != "" {
			return nil, fmt.Errorf("Offsets may only contain primitive types as values, but field %s contains %s", k, bad)
		}
		out[k] = v
	}
	return out, nil
}

// normalizeValue returns v as JSON reads it back, or a description of its
// type when it is not primitive ("MAP", "ARRAY" as Kafka names the Connect
// types, the Go type otherwise).
func normalizeValue(v any) (norm any, bad string) {
	switch v := v.(type) {
	case nil, bool, string, int64, float64:
		return v, ""
	case int:
		return int64(v), ""
	case int8:
		return int64(v), ""
	case int16:
		return int64(v), ""
	case int32:
		return int64(v), ""
	case uint8:
		return int64(v), ""
	case uint16:
		return int64(v), ""
	case uint32:
		return int64(v), ""
	case uint:
		return unsignedValue(uint64(v), v)
	case uint64:
		return unsignedValue(v, v)
	case float32:
		// The shortest decimal that round-trips the float32 is what JSON
		// holds and what a reader gets back as a double.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return f, ""
	case json.Number:
		return numberValue(string(v)), ""
	case []byte:
		// JsonConverter writes bytes as base64 text; they read back so.
		return base64.StdEncoding.EncodeToString(v), ""
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map:
		return nil, "MAP"
	case reflect.Slice, reflect.Array:
		return nil, "ARRAY"
	default:
		return nil, fmt.Sprintf("%T", v)
	}
}

func unsignedValue(u uint64, orig any) (any, string) {
	if u > math.MaxInt64 {
		return nil, fmt.Sprintf("%T", orig)
	}
	return int64(u), ""
}

// offsetKey is the offsets topic key: ["<connector>",{partition}] with the
// partition's fields sorted, or null for a nil partition.
func offsetKey(connector string, partition map[string]any) []byte {
	return appendJSON(make([]byte, 0, 64), []any{connector, mapOrNil(partition)})
}

// canonicalPartition is the index key of a normalised partition.
func canonicalPartition(partition map[string]any) string {
	return string(appendJSON(make([]byte, 0, 64), mapOrNil(partition)))
}

func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// parseOffsetKey reads a key as Kafka's OffsetUtils.processPartitionKey
// does: a two-element array of the connector name and a map or null.
func parseOffsetKey(raw []byte) (connector string, partition map[string]any, err error) {
	v, err := decodeJSON(raw)
	if err != nil {
		return "", nil, fmt.Errorf("offset key with unknown serialization, expected JSON: %w", err)
	}
	list, ok := v.([]any)
	if !ok {
		return "", nil, fmt.Errorf("offset key is a %s, expected a JSON array", jsonKind(v))
	}
	if len(list) != 2 {
		return "", nil, fmt.Errorf("offset key has %d elements, expected 2", len(list))
	}
	connector, ok = list[0].(string)
	if !ok {
		return "", nil, fmt.Errorf("offset key's first element is a %s, expected a string", jsonKind(list[0]))
	}
	if list[1] == nil {
		return connector, nil, nil
	}
	partition, ok = list[1].(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("offset key's second element is a %s, expected an object", jsonKind(list[1]))
	}
	return connector, partition, nil
}

// parseOffsetValue reads an offset: an object, or null for none.
func parseOffsetValue(raw []byte) (map[string]any, error) {
	if raw == nil {
		return nil, nil
	}
	v, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("offset value: %w", err)
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("offset value is a %s, expected an object", jsonKind(v))
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// offsetIndex holds offsets by connector and canonical partition. It is
// not safe for concurrent use; the stores guard it.
// indexedOffsets is the in-memory view both offset stores answer Get and
// Offsets from.
type indexedOffsets struct {
	mu sync.Mutex
	ix *offsetIndex
}

// Get returns a partition's offset, or nil if it has none.
func (s *indexedOffsets) Get(connector string, partition map[string]any) (map[string]any, error) {
	canon, err := lookupKey(connector, partition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.ix.get(connector, canon); r != nil {
		return maps.Clone(r.offset), nil
	}
	return nil, nil
}

// Offsets lists a connector's partitions and offsets.
func (s *indexedOffsets) Offsets(connector string) []OffsetEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ix.list(connector)
}

type offsetIndex struct {
	entries map[string]map[string]*offsetRecord
	// keys remembers, past tombstones, the key bytes last read or written
	// for a partition, so writes reuse another writer's field order and
	// land on the same topic partition as its records.
	keys map[string][]byte
}

type offsetRecord struct {
	partition map[string]any // nil for a null partition
	offset    map[string]any
}

func newOffsetIndex() *offsetIndex {
	return &offsetIndex{entries: map[string]map[string]*offsetRecord{}, keys: map[string][]byte{}}
}

func (ix *offsetIndex) get(connector, canon string) *offsetRecord {
	return ix.entries[connector][canon]
}

// key returns the key to write for a partition.
func (ix *offsetIndex) key(connector, canon string, partition map[string]any) []byte {
	if k, ok := ix.keys[connector+"\x00"+canon]; ok {
		return k
	}
	return offsetKey(connector, partition)
}

// put stores an offset, or removes the partition when offset is nil.
// canon is canonicalPartition(partition); key is the record key, or nil
// when there is none to remember.
func (ix *offsetIndex) put(connector, canon string, partition, offset map[string]any, key []byte) {
	if key != nil {
		ix.keys[connector+"\x00"+canon] = key
	}
	if offset == nil {
		delete(ix.entries[connector], canon)
		if len(ix.entries[connector]) == 0 {
			delete(ix.entries, connector)
		}
		return
	}
	parts := ix.entries[connector]
	if parts == nil {
		parts = map[string]*offsetRecord{}
		ix.entries[connector] = parts
	}
	parts[canon] = &offsetRecord{partition: partition, offset: offset}
}

// list returns copies of a connector's entries; like Kafka it leaves out
// a null partition.
func (ix *offsetIndex) list(connector string) []OffsetEntry {
	parts := ix.entries[connector]
	out := make([]OffsetEntry, 0, len(parts))
	for _, canon := range slices.Sorted(maps.Keys(parts)) {
		r := parts[canon]
		if r.partition == nil {
			continue
		}
		out = append(out, OffsetEntry{Partition: maps.Clone(r.partition), Offset: maps.Clone(r.offset)})
	}
	return out
}

// normalizedEntry is an OffsetEntry checked and ready to write.
type normalizedEntry struct {
	partition, offset map[string]any
	canon             string
}

func normalizeEntries(connector string, entries []OffsetEntry) ([]normalizedEntry, error) {
	out := make([]normalizedEntry, len(entries))
	for i, e := range entries {
		p, err := normalizeOffsetMap(e.Partition)
		if err != nil {
			return nil, fmt.Errorf("source partition %d of connector %s: %w", i, connector, err)
		}
		o, err := normalizeOffsetMap(e.Offset)
		if err != nil {
			return nil, fmt.Errorf("source offset %d of connector %s: %w", i, connector, err)
		}
		out[i] = normalizedEntry{partition: p, offset: o, canon: canonicalPartition(p)}
	}
	return out, nil
}

// lookupKey normalises a partition for Get.
func lookupKey(connector string, partition map[string]any) (string, error) {
	p, err := normalizeOffsetMap(partition)
	if err != nil {
		return "", fmt.Errorf("look up offset of connector %s: %w", connector, err)
	}
	return canonicalPartition(p), nil
}
