package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/javaprops"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The file is read by Properties.load's rules, which keep a value's
// trailing whitespace (after "false" below); the config trims it, as
// Kafka's does.
func TestParsePropertiesAndConfig(t *testing.T) {
	props, err := javaprops.Load(strings.NewReader(`
# a Kafka server.properties
broker.id=7
listeners=PLAINTEXT://0.0.0.0:19092
log.dir = /var/lib/sluice
! another comment
num.partitions: 3
log.retention.hours=2
log.roll.hours=1
log.segment.bytes=1048576
message.max.bytes=2000000
auto.create.topics.enable=false  
`))
	require.NoError(t, err)
	cfg, err := NewConfig(props)
	require.NoError(t, err)
	assert.Equal(t, int32(7), cfg.NodeID)
	assert.Equal(t, "0.0.0.0:19092", cfg.Listener)
	assert.Equal(t, "127.0.0.1", cfg.AdvertisedHost, "a wildcard listener advertises loopback unless advertised.listeners says otherwise")
	assert.Equal(t, int32(19092), cfg.AdvertisedPort)
	assert.Equal(t, "/var/lib/sluice", cfg.DataDir)
	assert.Equal(t, 3, cfg.NumPartitions)
	assert.False(t, cfg.AutoCreateTopics)
	assert.Equal(t, map[string]string{
		"retention.ms":      "7200000",
		"segment.ms":        "3600000",
		"segment.bytes":     "1048576",
		"max.message.bytes": "2000000",
	}, cfg.TopicDefaults)

	cfg, err = NewConfig(map[string]string{"log.retention.ms": "5", "log.retention.hours": "2", "advertised.listeners": "PLAINTEXT://kafka.internal:9092"})
	require.NoError(t, err)
	assert.Equal(t, "5", cfg.TopicDefaults["retention.ms"], "the ms form wins, as in Kafka")
	assert.Equal(t, "kafka.internal", cfg.AdvertisedHost)
	assert.Equal(t, 5*time.Minute, cfg.RetentionCheckInterval)
}

func TestConfigReportsEveryProblem(t *testing.T) {
	_, err := NewConfig(map[string]string{
		"num.partitions":            "zero",
		"listeners":                 "SSL://127.0.0.1:9093",
		"auto.create.topics.enable": "yes",
		"log.retention.ms":          "-7",
	})
	require.Error(t, err)
	for _, want := range []string{"num.partitions", "only PLAINTEXT", "auto.create.topics.enable", "log.retention.ms"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestNetworkLimitConfigs(t *testing.T) {
	cfg, err := NewConfig(nil)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Minute, cfg.IdleTimeout, "Kafka's default connections.max.idle.ms")
	assert.Equal(t, int64(512<<20), cfg.QueuedMaxRequestBytes)
	assert.Equal(t, 57671680, cfg.FetchMaxBytes, "Kafka's default fetch.max.bytes")

	cfg, err = NewConfig(map[string]string{"connections.max.idle.ms": "-1", "queued.max.request.bytes": "-1", "fetch.max.bytes": "1024"})
	require.NoError(t, err)
	assert.Zero(t, cfg.IdleTimeout, "-1 never closes idle connections")
	assert.Zero(t, cfg.QueuedMaxRequestBytes, "-1 is unbounded, as in Kafka")
	assert.Equal(t, 1024, cfg.FetchMaxBytes)

	_, err = NewConfig(map[string]string{
		"connections.max.idle.ms":  "0",
		"queued.max.request.bytes": "1048576", // below socket.request.max.bytes
		"fetch.max.bytes":          "10",
	})
	require.Error(t, err)
	for _, want := range []string{"connections.max.idle.ms", "queued.max.request.bytes=1048576: must be -1 or at least socket.request.max.bytes", "fetch.max.bytes"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = NewConfig(map[string]string{"queued.max.request.bytes": "lots", "connections.max.idle.ms": "soon"})
	require.ErrorContains(t, err, "queued.max.request.bytes")
	require.ErrorContains(t, err, "connections.max.idle.ms")
}

// log.dirs names one directory: a list or nothing is refused rather than
// cut to its first entry.
func TestConfigOneLogDir(t *testing.T) {
	cfg, err := NewConfig(map[string]string{"log.dirs": " /data/sluice "})
	require.NoError(t, err)
	assert.Equal(t, "/data/sluice", cfg.DataDir)
	_, err = NewConfig(map[string]string{"log.dirs": "/data/a,/data/b"})
	require.EqualError(t, err, `log.dirs="/data/a,/data/b": Sluice keeps its log in one directory; name one`)
	_, err = NewConfig(map[string]string{"log.dir": " "})
	require.EqualError(t, err, "log.dirs is empty: name the data directory")
}
