package kit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

var (
	testTopic = String("topic", "", connect.High, "Topic to write to.", Required())
	testBatch = Int("batch.size", 100, connect.Medium, "Records per batch.",
		Validate(connect.AtLeast(1)), Group("Batching", 1), Display("Batch size"))
	testMax      = Long("max.bytes", 1<<20, connect.Low, "Bytes per batch.")
	testRatio    = Double("ratio", 0.5, connect.Low, "A ratio.")
	testEnabled  = Bool("enabled", true, connect.Low, "On or off.")
	testTables   = List("tables", nil, connect.Medium, "Tables.")
	testFormats  = List("formats", []string{"json", "avro"}, connect.Low, "Formats.", Width(connect.WidthShort))
	testSecret   = Password("secret", connect.High, "A password.")
	testLinger   = Millis("linger.ms", 5*time.Second, connect.Low, "Linger.", Dependents("batch.size"))
	testComment  = String("comment", "", connect.Low, "Nullable.", NullDefault())
	testConverte = Class("converter", "org.apache.kafka.connect.json.JsonConverter", connect.Low, "Converter class.")
)

var testDef = Def(testTopic, testBatch, testMax, testRatio, testEnabled, testTables, testFormats, testSecret, testLinger, testComment, testConverte)

func TestKeysDeclare(t *testing.T) {
	require.Len(t, testDef, 11)
	assert.Equal(t, connect.ConfigKey{
		Name: "batch.size", Type: connect.ConfigInt, Default: int64(100), Validator: connect.AtLeast(1),
		Importance: connect.Medium, Doc: "Records per batch.", Group: "Batching", OrderInGroup: 1, DisplayName: "Batch size",
	}, testBatch.Key())
	topic := testTopic.Key()
	assert.True(t, topic.Required())
	assert.Nil(t, testTables.Key().Default, "a nil list is a null default, not an empty list")
	formats := testFormats.Key()
	def, ok := formats.DefaultString()
	assert.True(t, ok)
	assert.Equal(t, "json,avro", def)
	assert.Equal(t, int64(5000), testLinger.Key().Default, "milliseconds in the config")
	assert.Equal(t, connect.ConfigPassword, testSecret.Key().Type)
	assert.Equal(t, connect.WidthShort, testFormats.Key().Width)
	assert.Equal(t, []string{"batch.size"}, testLinger.Key().Dependents)
	assert.Equal(t, "linger.ms", testLinger.Name())
}

func TestKeysGet(t *testing.T) {
	cfg, err := testDef.Parse(map[string]string{
		"topic": "events", "batch.size": "7", "enabled": "false", "tables": "a, b", "secret": "s3cret", "linger.ms": "250", "ratio": "0.25",
	})
	require.NoError(t, err)
	var (
		topic   string        = testTopic.Get(cfg)
		batch   int64         = testBatch.Get(cfg)
		max     int64         = testMax.Get(cfg)
		ratio   float64       = testRatio.Get(cfg)
		enabled bool          = testEnabled.Get(cfg)
		tables  []string      = testTables.Get(cfg)
		formats []string      = testFormats.Get(cfg)
		linger  time.Duration = testLinger.Get(cfg)
	)
	assert.Equal(t, "events", topic)
	assert.Equal(t, int64(7), batch)
	assert.Equal(t, int64(1<<20), max)
	assert.Equal(t, 0.25, ratio)
	assert.False(t, enabled)
	assert.Equal(t, []string{"a", "b"}, tables)
	assert.Equal(t, []string{"json", "avro"}, formats)
	assert.Equal(t, 250*time.Millisecond, linger)
	assert.Equal(t, "s3cret", testSecret.Get(cfg))
	assert.True(t, testComment.IsNull(cfg))
	assert.Equal(t, "", testComment.Get(cfg))
	assert.False(t, testTopic.IsNull(cfg))
	assert.Equal(t, "org.apache.kafka.connect.json.JsonConverter", testConverte.Get(cfg))
}

func TestKeysValidate(t *testing.T) {
	_, err := testDef.Parse(map[string]string{"batch.size": "0"})
	require.ErrorIs(t, err, connect.ErrConfig)
	assert.ErrorContains(t, err, `Missing required configuration "topic"`)
	assert.ErrorContains(t, err, "Invalid value 0 for configuration batch.size: Value must be at least 1")

	other, err := Def(testBatch).Parse(nil)
	require.NoError(t, err)
	assert.Panics(t, func() { testTopic.Get(other) }, "a key the definition did not declare is a programming error")
}
