package debezium

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/connect"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// SignalFromRecord takes id, type and the data object of a record keyed by
// topic.prefix, compared with case, and nothing else.
func TestSignalFromRecord(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
		want             Signal
		ok               bool
	}{
		{"signal", "shop", `{"id": "a", "type": "log", "data": {"message": "hi"}}`, Signal{ID: "a", Type: "log", Data: `{"message": "hi"}`}, true},
		{"no data", "shop", `{"type": "pause-snapshot"}`, Signal{Type: "pause-snapshot"}, true},
		{"null data", "shop", `{"type": "resume-snapshot", "data": null}`, Signal{Type: "resume-snapshot"}, true},
		{"other key", "Shop", `{"type": "log", "data": {"message": "hi"}}`, Signal{}, false},
		{"empty value", "shop", ``, Signal{}, false},
		{"not JSON", "shop", `execute-snapshot`, Signal{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SignalFromRecord(&kgo.Record{Key: []byte(tc.key), Value: []byte(tc.value), Offset: 7}, "shop", discard)
			require.Equal(t, tc.ok, ok)
			if ok {
				assert.Equal(t, tc.want, got.Signal)
				assert.Equal(t, int64(7), got.Offset)
			}
		})
	}
}

// SignalFromEvent reads the first three columns of the inserted row.
func TestSignalFromEvent(t *testing.T) {
	table := TableID{Schema: "public", Name: "debezium_signal"}
	cols := []connect.Field{{Name: "id", Schema: connect.StringSchema}, {Name: "type", Schema: connect.StringSchema}, {Name: "data", Schema: connect.OptionalStringSchema}}
	e, err := NewEvents("srv.public.debezium_signal", table, cols, []string{"id"}, testSourceSchema)
	require.NoError(t, err)
	ev, err := e.Envelope(Change{Op: OpCreate, After: []any{"s1", SignalExecuteSnapshot, nil}, Source: testSource{}})
	require.NoError(t, err)
	sig, ok := SignalFromEvent(ev, discard)
	require.True(t, ok)
	assert.Equal(t, Signal{ID: "s1", Type: SignalExecuteSnapshot}, sig, "a null data column is empty")
	assert.False(t, sig.IsWatermark())
	assert.True(t, Signal{Type: SignalWindowClose}.IsWatermark())

	del, err := e.Envelope(Change{Op: OpDelete, Before: []any{"s1", "log", nil}, Source: testSource{}})
	require.NoError(t, err)
	_, ok = SignalFromEvent(del, discard)
	assert.False(t, ok, "a delete has no row after")

	two, err := NewEvents("srv.public.s", table, cols[:2], nil, testSourceSchema)
	require.NoError(t, err)
	ev, err = two.Envelope(Change{Op: OpCreate, After: []any{"s1", "log"}, Source: testSource{}})
	require.NoError(t, err)
	_, ok = SignalFromEvent(ev, discard)
	assert.False(t, ok, "the table must have three columns")
}

func TestParseSnapshotRequest(t *testing.T) {
	req, err := ParseSnapshotRequest(`{"data-collections": [" public.a ", "public.b"], "type": "BLOCKING",
		"additional-conditions": [{"data-collection": "public\\.A", "filter": "id > 1"}], "additional-condition": "x = 1", "surrogate-key": "k"}`)
	require.NoError(t, err)
	assert.Equal(t, []string{"public.a", "public.b"}, req.DataCollections, "trimmed")
	kind, ok := req.Kind()
	assert.True(t, ok)
	assert.Equal(t, SnapshotBlocking, kind)
	assert.Equal(t, "id > 1", req.ConditionFor("public.a"), "patterns match without regard to case")
	assert.Equal(t, "x = 1", req.ConditionFor("public.b"), "the old single condition otherwise")
	assert.Equal(t, "k", req.SurrogateKey)

	req, err = ParseSnapshotRequest("  ")
	require.NoError(t, err)
	kind, ok = req.Kind()
	assert.True(t, ok)
	assert.Equal(t, SnapshotIncremental, kind, "incremental by default")

	req, err = ParseSnapshotRequest(`{"type": "sideways"}`)
	require.NoError(t, err)
	_, ok = req.Kind()
	assert.False(t, ok)

	_, err = ParseSnapshotRequest(`{"data-collections": "public.a"}`)
	assert.Error(t, err)
}

func TestExpandCollections(t *testing.T) {
	captured := []TableID{{Schema: "public", Name: "a1"}, {Schema: "public", Name: "a2"}, {Schema: "public", Name: "b"}}
	assert.Equal(t, []string{"public.a1", "public.a2", "public.b", "public.zz", "("},
		ExpandCollections([]string{`public\.a.`, "public.b", "public.zz", "("}, captured),
		"patterns expand to the captured tables; one matching none stays")
}

func TestSignalSettings(t *testing.T) {
	def := append(connect.ConfigDef{TopicPrefixKey}, SignalConfig...)
	parse := func(cfg map[string]string) SignalSettings {
		cfg[TopicPrefixConfig] = "shop"
		c, err := def.Parse(cfg)
		require.NoError(t, err)
		return ParseSignals(c)
	}
	assert.Equal(t, SignalSettings{Source: true, ChunkSize: 1024}, parse(map[string]string{}), "Debezium's defaults")

	s := parse(map[string]string{SignalDataCollectionConfig: "Public.Sig", WatermarkingStrategyConfig: "INSERT_DELETE",
		SignalEnabledChannelsConfig: "kafka", SignalKafkaBootstrapServersConfig: " b1:9092, ,b2:9092", IncrementalChunkSizeConfig: "10"})
	assert.False(t, s.Source)
	assert.True(t, s.DeleteClose)
	assert.Equal(t, 10, s.ChunkSize)
	assert.True(t, s.IsSignalTable(TableID{Schema: "public", Name: "sig"}))
	assert.Equal(t, &KafkaSignalSettings{Topic: "shop-signal", Brokers: []string{"b1:9092", "b2:9092"}, PollTimeout: 100 * time.Millisecond}, s.Kafka)

	assert.Empty(t, SignalTable{}.Validate("", nil))
	assert.Contains(t, SignalTable{}.Validate("", "sig"), "not a fully-qualified table name")
	assert.Contains(t, SignalChannels{}.Validate("", []string{"source", "jmx"}), `The "jmx" signal channel is not supported`)
	assert.Empty(t, SignalChannels{}.Validate("", []string{"Source", " KAFKA"}))

	assert.Nil(t, KafkaSignalErrors(map[string]string{SignalEnabledChannelsConfig: "source"}))
	assert.Nil(t, KafkaSignalErrors(map[string]string{SignalEnabledChannelsConfig: "kafka", SignalKafkaBootstrapServersConfig: "b:1"}))
	assert.Contains(t, KafkaSignalErrors(map[string]string{SignalEnabledChannelsConfig: "source, kafka"}), SignalKafkaBootstrapServersConfig)
}
