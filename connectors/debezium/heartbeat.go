package debezium

import (
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Heartbeat record schemas, Debezium's.
var (
	HeartbeatKeySchema = connect.StructBuilder().Name("io.debezium.connector.common.ServerNameKey").
				Field("serverName", connect.StringSchema).Build()
	HeartbeatValueSchema = connect.StructBuilder().Name("io.debezium.connector.common.Heartbeat").
				Field("ts_ms", connect.Int64Schema).Build()
)

// HeartbeatRecord builds a heartbeat record on topic (see
// HeartbeatTopic) for the server named serverName (topic.prefix), sent at
// now. Its offset is the connector's: the position every earlier change is
// behind, so committing it moves the source on when no change is captured.
func HeartbeatRecord(partition, offset map[string]any, topic, serverName string, now time.Time) *connect.Record {
	key := connect.NewStruct(HeartbeatKeySchema).MustPut("serverName", serverName)
	value := connect.NewStruct(HeartbeatValueSchema).MustPut("ts_ms", now.UnixMilli())
	r := connect.NewSourceRecord(partition, offset, topic, HeartbeatKeySchema, key, HeartbeatValueSchema, value)
	r.Timestamp = now
	return r
}

// Heartbeat schedules heartbeats every Interval (heartbeat.interval.ms);
// zero disables them. Owned by one goroutine.
type Heartbeat struct {
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now  func() time.Time
	next time.Time
}

func (h *Heartbeat) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// Reset schedules the next heartbeat an interval from now.
func (h *Heartbeat) Reset() { h.next = h.now().Add(h.Interval) }

// Due reports whether a heartbeat is due; never with a zero Interval.
func (h *Heartbeat) Due() bool { return h.Interval > 0 && !h.now().Before(h.next) }
