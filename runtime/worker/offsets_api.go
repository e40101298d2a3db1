package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/runtime/storage"
)

// The offsets API (KIP-875): read any time; alter and reset only while the
// connector is STOPPED, so no task races the change.

const (
	sinkTopicKey     = "kafka_topic"
	sinkPartitionKey = "kafka_partition"
	sinkOffsetKey    = "kafka_offset"
)

// Offsets answers GET /connectors/{name}/offsets.
func (h *Herder) Offsets(ctx context.Context, name string) (ConnectorOffsets, error) {
	cfg, _, err := h.connectorConfig(name)
	if err != nil {
		return ConnectorOffsets{}, err
	}
	out := ConnectorOffsets{Offsets: []ConnectorOffset{}}
	if h.connectorType(cfg) == "sink" {
		committed, err := h.kadm.FetchOffsets(ctx, SinkGroup(name))
		if err != nil {
			return out, fmt.Errorf("read offsets of consumer group %s: %w", SinkGroup(name), err)
		}
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At >= 0 {
				out.Offsets = append(out.Offsets, ConnectorOffset{
					Partition: map[string]any{sinkTopicKey: o.Topic, sinkPartitionKey: o.Partition},
					Offset:    map[string]any{sinkOffsetKey: o.At},
				})
			}
		})
		slices.SortFunc(out.Offsets, func(a, b ConnectorOffset) int {
			if c := compareAny(a.Partition[sinkTopicKey], b.Partition[sinkTopicKey]); c != 0 {
				return c
			}
			return compareAny(a.Partition[sinkPartitionKey], b.Partition[sinkPartitionKey])
		})
		return out, nil
	}
	for _, e := range h.offsets.Offsets(name) {
		out.Offsets = append(out.Offsets, ConnectorOffset{Partition: e.Partition, Offset: e.Offset})
	}
	return out, nil
}

func compareAny(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	case int32:
		y, _ := b.(int32)
		return int(x - y)
	}
	return 0
}

// requireStopped refuses offset changes unless the connector is STOPPED.
func (h *Herder) requireStopped(ctx context.Context, name string) (map[string]string, error) {
	cfg, snap, err := h.connectorConfig(name)
	if err != nil {
		return nil, err
	}
	if err := h.requireLeader(ctx); err != nil {
		return nil, err
	}
	if snap.Target(name) != TargetStopped || len(snap.Tasks[name]) > 0 {
		return nil, fmt.Errorf("%w: Connectors must be in the STOPPED state before their offsets can be modified. "+
			"This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", ErrBadRequest, name)
	}
	return cfg, nil
}

// AlterOffsets answers PATCH /connectors/{name}/offsets.
func (h *Herder) AlterOffsets(ctx context.Context, name string, offsets ConnectorOffsets) (string, error) {
	cfg, err := h.requireStopped(ctx, name)
	if err != nil {
		return "", err
	}
	if len(offsets.Offsets) == 0 {
		return "", fmt.Errorf("%w: Partitions / offsets need to be provided for an alter offsets request", ErrBadRequest)
	}
	if h.connectorType(cfg) == "sink" {
		return h.alterSinkOffsets(ctx, name, offsets.Offsets)
	}
	entries := make([]storage.OffsetEntry, 0, len(offsets.Offsets))
	for _, o := range offsets.Offsets {
		if o.Partition == nil {
			return "", fmt.Errorf("%w: Source partitions may not be null", ErrBadRequest)
		}
		if err := validatePrimitive(o.Partition); err != nil {
			return "", fmt.Errorf("%w: source partition %v: %v", ErrBadRequest, o.Partition, err)
		}
		if err := validatePrimitive(o.Offset); err != nil {
			return "", fmt.Errorf("%w: source offset %v: %v", ErrBadRequest, o.Offset, err)
		}
		entries = append(entries, storage.OffsetEntry{Partition: normalizeNumbers(o.Partition), Offset: normalizeNumbers(o.Offset)})
	}
	if err := h.offsets.Set(ctx, name, entries); err != nil {
		return "", fmt.Errorf("write offsets of connector %s: %w", name, err)
	}
	return "The offsets for this connector have been altered successfully", nil
}

// ResetOffsets answers DELETE /connectors/{name}/offsets.
func (h *Herder) ResetOffsets(ctx context.Context, name string) (string, error) {
	cfg, err := h.requireStopped(ctx, name)
	if err != nil {
		return "", err
	}
	if h.connectorType(cfg) == "sink" {
		if _, err := h.kadm.DeleteGroup(ctx, SinkGroup(name)); err != nil && !isGroupGone(err) {
			return "", fmt.Errorf("delete consumer group %s: %w", SinkGroup(name), err)
		}
		return "The offsets for this connector have been reset successfully", nil
	}
	var entries []storage.OffsetEntry
	for _, e := range h.offsets.Offsets(name) {
		entries = append(entries, storage.OffsetEntry{Partition: e.Partition})
	}
	if len(entries) > 0 {
		if err := h.offsets.Set(ctx, name, entries); err != nil {
			return "", fmt.Errorf("reset offsets of connector %s: %w", name, err)
		}
	}
	return "The offsets for this connector have been reset successfully", nil
}

func (h *Herder) alterSinkOffsets(ctx context.Context, name string, offsets []ConnectorOffset) (string, error) {
	commit := kadm.Offsets{}
	var reset []kadm.TopicsSet
	for _, o := range offsets {
		topic, ok := o.Partition[sinkTopicKey].(string)
		if !ok || topic == "" {
			return "", fmt.Errorf("%w: Kafka topic names must be valid strings and may not be null", ErrBadRequest)
		}
		part, ok := asInt(o.Partition[sinkPartitionKey])
		if !ok || part < 0 {
			return "", fmt.Errorf("%w: Kafka partitions must be valid numbers and may not be null", ErrBadRequest)
		}
		if o.Offset == nil {
			reset = append(reset, kadm.TopicsSet{topic: {int32(part): {}}})
			continue
		}
		off, ok := asInt(o.Offset[sinkOffsetKey])
		if !ok || off < 0 {
			return "", fmt.Errorf("%w: Kafka offsets must be valid numbers and may not be null", ErrBadRequest)
		}
		commit.Add(kadm.Offset{Topic: topic, Partition: int32(part), At: off, LeaderEpoch: -1})
	}
	if len(commit) > 0 {
		resp, err := h.kadm.CommitOffsets(ctx, SinkGroup(name), commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return "", fmt.Errorf("alter offsets of consumer group %s: %w", SinkGroup(name), err)
		}
	}
	for _, ts := range reset {
		if _, err := h.kadm.DeleteOffsets(ctx, SinkGroup(name), ts); err != nil && !isGroupGone(err) {
			return "", fmt.Errorf("reset offsets of consumer group %s: %w", SinkGroup(name), err)
		}
	}
	return "The offsets for this connector have been altered successfully", nil
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

// validatePrimitive applies Kafka's OffsetUtils rule: offsets and
// partitions hold only primitive values.
func validatePrimitive(m map[string]any) error {
	for k, v := range m {
		switch v.(type) {
		case nil, string, bool, int, int8, int16, int32, int64, float32, float64:
		default:
			return fmt.Errorf("Offsets may only contain primitive types as values, but field %s contains %T", k, v)
		}
	}
	return nil
}

func isGroupGone(err error) bool {
	return errors.Is(err, kerr.GroupIDNotFound)
}

// normalizeNumbers turns JSON numbers decoded as float64 into int64 when
// integral, as Kafka's JSON parsing yields Long.
func normalizeNumbers(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			v = int64(f)
		}
		out[k] = v
	}
	return out
}
