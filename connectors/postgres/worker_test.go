package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// startEOSWorker runs a distributed worker with exactly-once source
// support on b, its stores on Kafka topics, with only this plugin.
func startEOSWorker(t *testing.T, b *testenv.Broker) *worker.Herder {
	return connecttest.StartDistributedWorker(t, b, "eos", []connect.ConnectorPlugin{Plugin})
}

// The Postgres connector supports exactly-once delivery: a worker with
// exactly.once.source.support=enabled accepts it with
// exactly.once.support=required (the old plugin was refused: "does not
// support exactly-once semantics with the provided configuration"), and
// its records reach a read_committed consumer once each.
func TestExactlyOnceSupportRequired(t *testing.T) {
	pg := setupShop(t)
	b := testenv.StartBroker(t, nil)
	h := startEOSWorker(t, b)
	cfg := shopConfig(pg)
	cfg["connector.class"] = "io.debezium.connector.postgresql.PostgresConnector"
	cfg["exactly.once.support"] = "required"
	cfg["tasks.max"], cfg["name"] = "1", "inventory"
	ctx := context.Background()

	infos, err := h.ValidateConfig(ctx, "PostgresConnector", cfg)
	require.NoError(t, err)
	for _, c := range infos.Configs {
		assert.Empty(t, c.Value.Errors, c.Definition.Name)
	}
	_, err = h.CreateConnector(ctx, "inventory", cfg, worker.TargetStarted)
	require.NoError(t, err)
	var st worker.ConnectorStateInfo
	require.Eventually(t, func() bool {
		st, err = h.ConnectorStatus(ctx, "inventory")
		return err == nil && len(st.Tasks) == 1 && st.Tasks[0].State == worker.StateRunning
	}, 30*time.Second, 50*time.Millisecond, "status %+v", &st)
	execApp(t, pg, "INSERT INTO customers VALUES (9001, 'exactly once', NULL)")

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics("shop.public.customers"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	seen := map[string]int{}
	pollCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for seen["9001"] == 0 && pollCtx.Err() == nil {
		cl.PollFetches(pollCtx).EachRecord(func(r *kgo.Record) { seen[keyID(t, r.Key)]++ })
	}
	require.Equal(t, 1, seen["9001"], "the streamed insert, once")
	assert.Len(t, seen, 301, "300 snapshot rows and the insert")
	for k, n := range seen {
		assert.Equal(t, 1, n, k)
	}
}

// keyID is a record key's id, whether the JSON key has its schema or not.
func keyID(t *testing.T, key []byte) string {
	t.Helper()
	var k struct {
		ID      *int64 `json:"id"`
		Payload *struct {
			ID int64 `json:"id"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(key, &k), string(key))
	if k.Payload != nil {
		return strconv.FormatInt(k.Payload.ID, 10)
	}
	require.NotNil(t, k.ID, string(key))
	return strconv.FormatInt(*k.ID, 10)
}

// The worker's validate endpoint answers Debezium keys Sluice does not
// support with an error on each, naming it.
func TestWorkerValidateRefusesUnsupportedKeys(t *testing.T) {
	pg := setupShop(t)
	h := startEOSWorker(t, testenv.StartBroker(t, nil))
	cfg := namedConfig(pg, "inventory", "shop")
	cfg["converters"], cfg["read.only"], cfg["incremental.snapshot.allow.schema.changes"] = "isbn", "true", "true"
	// A pattern key the definition cannot declare: its error is reported
	// under a null definition, as Kafka reports undeclared keys.
	cfg["column.mask.hash.SHA-256.with.salt.x"] = "shop.orders.email"
	infos, err := h.ValidateConfig(context.Background(), "io.debezium.connector.postgresql.PostgresConnector", cfg)
	require.NoError(t, err)
	errs := map[string][]string{}
	for _, c := range infos.Configs {
		if len(c.Value.Errors) > 0 {
			errs[c.Value.Name] = c.Value.Errors
		}
	}
	assert.Equal(t, 4, infos.ErrorCount, "%v", errs)
	for _, c := range infos.Configs {
		if c.Value.Name == "column.mask.hash.SHA-256.with.salt.x" {
			assert.Nil(t, c.Definition)
		}
	}
	for _, key := range []string{"converters", "read.only", "incremental.snapshot.allow.schema.changes", "column.mask.hash.SHA-256.with.salt.x"} {
		require.Len(t, errs[key], 1, key)
		assert.Contains(t, errs[key][0], "Invalid value "+cfg[key]+" for configuration "+key+": not supported by Sluice: ")
	}
}
