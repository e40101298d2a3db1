package mqtt

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestKafkaTopic(t *testing.T) {
	for _, c := range []struct{ format, mqtt, want string }{
		{"mqtt", "sensors/a/temp", "mqtt"},
		{"${topic}", "sensors/a/temp", "sensors.a.temp"},
		{"${topic}", "/sensors/a/", "sensors.a"},
		{"iot-${topic[1]}", "sensors/room 1/temp", "iot-room_1"},
		{"iot-${topic[7]}", "sensors/a", "iot-"},
		{"x.${topic[0]}.${topic[2]}", "a/b/c", "x.a.c"},
		{"${topic}", "$SYS/broker", "_SYS.broker"},
		{"${other}", "a", "__other_"}, // refused by validation; sanitised if used
	} {
		assert.Equal(t, c.want, newTopicMapper(c.format).kafkaTopic(c.mqtt), "%s of %s", c.format, c.mqtt)
	}
	assert.Empty(t, validTemplate("mqtt"))
	assert.Empty(t, validTemplate("iot.${topic[2]}"))
	assert.Contains(t, validTemplate("a topic"), "not a legal topic name")
	assert.Contains(t, validTemplate("${other}"), "unknown placeholder")
	assert.Contains(t, validTemplate("${topic[x]}"), "unknown placeholder")
}

func TestRecordOfMessage(t *testing.T) {
	now := time.UnixMilli(1700000000123)
	m := &Message{Topic: "a/b", Payload: []byte("21.5"), QoS: 1, Retained: true, PacketID: 7,
		ContentType: "text/plain", UserProperties: [][2]string{{"site", "x"}}}
	r := m.record("readings", now)
	require.Equal(t, "readings", r.Topic)
	assert.Equal(t, "a/b", r.Key)
	assert.Equal(t, []byte("21.5"), r.Value)
	assert.Equal(t, connect.AnyPartition, r.Partition)
	assert.Equal(t, now, r.Timestamp)
	got := map[string]any{}
	for _, h := range r.Headers {
		got[h.Key] = h.Value
	}
	assert.Equal(t, map[string]any{HeaderMessageID: int32(7), HeaderQoS: int32(1), HeaderRetained: true,
		HeaderDuplicate: false, HeaderContentType: "text/plain", "site": "x"}, got)
}
