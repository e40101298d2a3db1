package postgres

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Debezium keys Sluice does not implement are refused by validation and
// by the connector's start, each error naming its key, unless their value
// asks for what Sluice does anyway. (The old code accepted them without a
// word.)
func TestUnsupportedDebeziumKeysAreRefused(t *testing.T) {
	cfg := map[string]string{
		TopicPrefixConfig: "shop",
		"converters":      "isbn",
		"isbn.type":       "io.debezium.test.IsbnConverter",
		"read.only":       "true",
		"incremental.snapshot.allow.schema.changes": "true",
		"column.mask.hash.SHA-256.with.salt.s4lt":   "public.customers.email",
		"topic.delimiter":                           "_",
		"snapshot.max.threads":                      "4",                                             // changes nothing in the events: a warning at start
		"topic.naming.strategy":                     "io.debezium.schema.DefaultTopicNamingStrategy", // what Sluice does
		"slot.failover":                             "false",
	}
	errs := validate(t, cfg) // no hostname: no server check
	for _, key := range []string{"converters", "read.only", "incremental.snapshot.allow.schema.changes", "column.mask.hash.SHA-256.with.salt.s4lt", "topic.delimiter"} {
		require.Len(t, errs[key], 1, key)
		assert.Contains(t, errs[key][0], "for configuration "+key+": not supported by Sluice: ", key)
	}
	assert.Contains(t, errs["read.only"][0], "read-only incremental snapshots are not implemented")
	for _, key := range []string{"snapshot.max.threads", "topic.naming.strategy", "slot.failover", "isbn.type"} {
		assert.Empty(t, errs[key], key)
	}

	cfg[HostnameConfig], cfg[UserConfig], cfg[DBNameConfig] = "localhost", "u", "d"
	err := Plugin.NewConnector().Start(nil, cfg)
	require.Error(t, err)
	for _, key := range []string{"converters", "read.only", "incremental.snapshot.allow.schema.changes", "column.mask.hash.SHA-256.with.salt.s4lt"} {
		assert.ErrorContains(t, err, "for configuration "+key+": not supported by Sluice", key)
	}
}

// workerContext is a worker's connector and task context that hands its
// plugins a logger naming the connector and task, as the worker does.
type workerContext struct {
	taskContext
	logger *slog.Logger
}

func (c *workerContext) Logger() *slog.Logger        { return c.logger }
func (c *workerContext) RequestTaskReconfiguration() {}
func (c *workerContext) RaiseError(error)            {}
func (c *workerContext) Offset(p map[string]any) (connect.Offset, error) {
	return c.taskContext.Offset(p)
}

// Keys Debezium would act on but that change nothing in what Sluice
// writes are accepted, each logged at WARN once when the connector starts,
// on the logger the worker gives it; the value of a key that may hold a
// secret is not logged.
func TestIgnoredDebeziumKeysAreLoggedAtStart(t *testing.T) {
	logs := &testenv.SyncBuffer{}
	ctx := &workerContext{logger: slog.New(slog.NewTextHandler(logs, nil)).With("connector", "inventory")}
	cfg := map[string]string{
		HostnameConfig: "localhost", UserConfig: "u", DBNameConfig: "d", TopicPrefixConfig: "shop",
		"snapshot.max.threads":                            "4",
		"snapshot.lock.timeout.ms":                        "10000", // Debezium's default: nothing to say
		"snapshot.isolation.mode":                         "read_committed",
		"signal.consumer.sasl.jaas.config":                "secret-value",
		"snapshot.mode.configuration.based.snapshot.data": "true",
	}
	require.NoError(t, Plugin.NewConnector().Start(ctx, cfg))
	out := logs.String()
	for _, want := range []string{
		`level=WARN msg="Debezium key not supported by Sluice: snapshot.max.threads=4 is ignored: tables are snapshotted one after the other, over one connection" connector=inventory logger=io.sluice.connect.postgres`,
		"snapshot.isolation.mode=read_committed is ignored",
		"signal.consumer.sasl.jaas.config is ignored",
		"snapshot.mode.configuration.based.snapshot.data=true is ignored: it applies only to snapshot.mode=configuration_based",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "snapshot.lock.timeout.ms")
	assert.NotContains(t, out, "secret-value")
}

// topic.heartbeat.name names the heartbeat topic whole.
func TestHeartbeatTopicName(t *testing.T) {
	cfg := map[string]string{HostnameConfig: "h", UserConfig: "u", DBNameConfig: "d", TopicPrefixConfig: "shop"}
	tc, err := parseTaskConfig(cfg)
	require.NoError(t, err)
	assert.Equal(t, "__debezium-heartbeat.shop", tc.heartbeatTopic)
	cfg[TopicHeartbeatNameConfig] = "debezium-heartbeat"
	tc, err = parseTaskConfig(cfg)
	require.NoError(t, err)
	assert.Equal(t, "debezium-heartbeat", tc.heartbeatTopic)
}
