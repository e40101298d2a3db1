package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// kafkaSignalShop starts the shop database and a broker, and returns a
// config reading signals from the broker's shop-signal topic over the
// given channels.
func kafkaSignalShop(t *testing.T, channels string) (*testenv.Postgres, string, map[string]string) {
	t.Helper()
	pg, cfg := signalShop(t)
	br := testenv.StartBroker(t, nil)
	cfg[SignalEnabledChannelsConfig] = channels
	cfg[SignalKafkaBootstrapServersConfig] = br.Addr
	return pg, br.Addr, cfg
}

// produceSignal writes a record to the shop-signal topic, creating it.
func produceSignal(t *testing.T, addr, key, value string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation())
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rec := &kgo.Record{Topic: "shop-signal", Key: []byte(key), Value: []byte(value)}
	require.NoError(t, cl.ProduceSync(ctx, rec).FirstErr())
}

// countReads counts the incremental reads of topic among records.
func countReads(records []*connect.Record, topic string) int {
	n := 0
	for _, r := range records {
		if r.Topic == topic && r.Value != nil && sourceOp(r) == "r" {
			n++
		}
	}
	return n
}

// A record keyed by topic.prefix starts an incremental snapshot, its type
// in any case, with kafka the only channel (watermarks are still read from
// the signalling table); a record with another key is ignored.
func TestKafkaSignalStartsIncrementalSnapshot(t *testing.T) {
	pg, addr, cfg := kafkaSignalShop(t, "kafka")
	logs := captureLogs(t)
	produceSignal(t, addr, "other", `{"type": "execute-snapshot", "data": {"data-collections": ["public.orders"], "type": "INCREMENTAL"}}`)
	task := startTask(t, &taskContext{}, cfg)
	produceSignal(t, addr, "shop", `{"id": "k1", "type": "execute-snapshot", "data": {"data-collections": ["public.customers"], "type": "INCREMENTAL"}}`)

	state := newReplay()
	records := pollUntil(t, task, "every customer read", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return len(state.reads) >= 300
	})
	records = append(records, pollFor(t, task, time.Second)...)
	assert.Len(t, state.reads, 300)
	assert.Zero(t, countReads(records, "shop.public.orders"), "the signal with another key is ignored")
	assert.Contains(t, logs.String(), "its key is not the connector's topic.prefix")
	assert.Equal(t, int64(1), records[len(records)-1].SourceOffset[debezium.SignalOffsetKey], "offsets hold the signal's offset")

	execApp(t, pg, "INSERT INTO debezium_signal (id, type, data) VALUES ('t', 'execute-snapshot', '{\"data-collections\": [\"public.orders\"]}')")
	assert.Zero(t, countReads(pollFor(t, task, 1500*time.Millisecond), "shop.public.orders"),
		"without the source channel a row of the signalling table is not a signal")
}

// A signal acted on before a restart whose records were committed is not
// run again: the topic is read from after its offset.
func TestKafkaSignalNotReplayedAfterRestart(t *testing.T) {
	_, addr, cfg := kafkaSignalShop(t, "source,kafka")
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	produceSignal(t, addr, "shop", `{"id": "o", "type": "execute-snapshot", "data": {"data-collections": ["public.orders"]}}`)
	var records []*connect.Record
	records = pollUntil(t, task, "the orders", func(batch []*connect.Record) bool {
		records = append(records, batch...)
		return countReads(records, "shop.public.orders") >= 50
	})
	records = append(records, pollFor(t, task, 500*time.Millisecond)...)
	require.Equal(t, 50, countReads(records, "shop.public.orders"))
	tc.commit(t, task, records)
	require.NoError(t, task.Stop())

	task = startTask(t, tc, cfg)
	produceSignal(t, addr, "shop", `{"id": "c", "type": "execute-snapshot", "data": {"data-collections": ["public.customers"]}}`)
	var again []*connect.Record
	pollUntil(t, task, "the customers", func(batch []*connect.Record) bool {
		again = append(again, batch...)
		return countReads(again, customersTopic) >= 300
	})
	again = append(again, pollFor(t, task, 500*time.Millisecond)...)
	assert.Zero(t, countReads(again, "shop.public.orders"), "the orders signal is not run again")
	assert.Equal(t, 300, countReads(again, customersTopic))
}

func TestKafkaSignalConfig(t *testing.T) {
	cfg := minimal()
	cfg[SignalEnabledChannelsConfig] = "kafka"
	err := parse(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), SignalKafkaBootstrapServersConfig)

	cfg[SignalEnabledChannelsConfig] = "source, kafka"
	cfg[SignalKafkaBootstrapServersConfig] = "b1:9092, b2:9092"
	require.NoError(t, parse(cfg))
	c, err := Config.Parse(cfg)
	require.NoError(t, err)
	s := debezium.ParseSignals(c)
	assert.True(t, s.Source)
	assert.Equal(t, &debezium.KafkaSignalSettings{Topic: "shop-signal", Brokers: []string{"b1:9092", "b2:9092"}, PollTimeout: 100 * time.Millisecond}, s.Kafka,
		"Debezium's defaults: <topic.prefix>-signal, 100 ms")
	assert.Equal(t, "kafka-signal", c.String(SignalKafkaGroupIDConfig))

	cfg[SignalKafkaTopicConfig] = "signals"
	c, err = Config.Parse(cfg)
	require.NoError(t, err)
	assert.Equal(t, "signals", debezium.ParseSignals(c).Kafka.Topic)
	assert.Nil(t, debezium.ParseSignals(mustParse(t, minimal())).Kafka, "kafka is not enabled by default")
}

// mustParse parses a config that must be valid.
func mustParse(t *testing.T, cfg map[string]string) connect.Config {
	t.Helper()
	c, err := Config.Parse(cfg)
	require.NoError(t, err)
	return c
}
