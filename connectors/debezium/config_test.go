package debezium

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The shared keys parse to Debezium's defaults, and every group declares
// each key once.
func TestSharedKeyDefaults(t *testing.T) {
	def := slices.Concat(connect.ConfigDef{TopicPrefixKey, SnapshotFetchSizeKey, TombstonesOnDeleteKey, FailureHandlingKey},
		FilterConfig, HeartbeatConfig, HandlingModesConfig, EventConfig, TopicNamesConfig, SnapshotConfig, SignalConfig)
	seen := map[string]bool{}
	for _, k := range def {
		assert.False(t, seen[k.Name], "%s declared twice", k.Name)
		seen[k.Name] = true
		assert.NotEmpty(t, k.Doc, k.Name)
	}
	c, err := def.Parse(map[string]string{TopicPrefixConfig: "shop"})
	require.NoError(t, err)
	for key, want := range map[string]any{
		SnapshotFetchSizeConfig:        int64(10240),
		HeartbeatIntervalConfig:        int64(0),
		TombstonesOnDeleteConfig:       true,
		DecimalHandlingModeConfig:      "precise",
		TimePrecisionModeConfig:        "adaptive",
		BinaryHandlingModeConfig:       "bytes",
		ProvideTxMetadataConfig:        false,
		TopicHeartbeatPrefixConfig:     "__debezium-heartbeat",
		TopicTransactionConfig:         "transaction",
		EventFailureHandlingModeConfig: "fail",
		IncrementalChunkSizeConfig:     int64(1024),
		WatermarkingStrategyConfig:     "insert_insert",
		SignalKafkaGroupIDConfig:       "kafka-signal",
		SnapshotDelayConfig:            int64(0),
	} {
		switch want := want.(type) {
		case int64:
			assert.Equal(t, want, c.Int(key), key)
		case bool:
			assert.Equal(t, want, c.Bool(key), key)
		case string:
			assert.Equal(t, want, c.String(key), key)
		}
	}
	assert.Equal(t, []string{"t"}, c.List(SkippedOperationsConfig), "truncates are skipped by default")
	assert.Equal(t, []string{"source"}, c.List(SignalEnabledChannelsConfig))
	assert.True(t, c.IsNull(MessageKeyColumnsConfig))

	_, err = def.Parse(map[string]string{TopicPrefixConfig: "shop", DecimalHandlingModeConfig: "exact"})
	assert.Error(t, err, "handling modes are checked")
	_, err = def.Parse(map[string]string{TopicPrefixConfig: "shop/x"})
	assert.Error(t, err, "topic.prefix is checked")
}
