package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestSplitInitialStatements(t *testing.T) {
	assert.Equal(t, []string{"SET a = 1", "SELECT 'x;y'"}, splitStatements(" SET a = 1 ; SELECT 'x;;y';"))
	assert.Empty(t, splitStatements(" ; "))
}

func TestTuningKeyErrors(t *testing.T) {
	base := minimal
	for name, tc := range map[string]struct {
		set  map[string]string
		key  string
		want string
	}{
		"queue not above batch": {map[string]string{MaxBatchSizeConfig: "100", MaxQueueSizeConfig: "100"},
			MaxQueueSizeConfig, "Must be larger than the maximum batch size (100)"},
		"override without statement": {map[string]string{SnapshotSelectOverridesConfig: "public.a"},
			SnapshotSelectOverridesConfig, "No SELECT statement in snapshot.select.statement.overrides.public.a"},
		"mask count not a number": {map[string]string{"column.mask.with.x.chars": "public.a.b"},
			"column.mask.with.x.chars", "the number of characters must be a non-negative integer"},
		"mask pattern invalid": {map[string]string{"column.truncate.to.3.chars": "public.a.("},
			"column.truncate.to.3.chars", "Invalid value public.a.("},
		"unknown flush mode": {map[string]string{LSNFlushModeConfig: "sometimes"},
			LSNFlushModeConfig, "String must be one of: connector, manual, connector_and_driver"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base()
			for k, v := range tc.set {
				cfg[k] = v
			}
			errs := errorsOf(Config.Validate(cfg))
			for k, msgs := range crossKeyErrors(cfg) {
				errs[k] = append(errs[k], msgs...)
			}
			require.Len(t, errs[tc.key], 1, "%v", errs)
			assert.Contains(t, errs[tc.key][0], tc.want)
			assert.Error(t, parse(cfg), "the connector refuses to start")
		})
	}
	cfg := base()
	cfg[LSNFlushModeConfig] = "manual"
	require.NoError(t, parse(cfg))
	c, _ := Config.Parse(cfg)
	tn, err := parseTuning(c, cfg)
	require.NoError(t, err)
	assert.False(t, tn.flushLSN, "lsn.flush.mode=manual wins over flush.lsn.source")
}

// TestTuningKeysAgainstPostgres runs one task with the topic, snapshot,
// masking, batching and flush keys set and checks each one's effect.
func TestTuningKeysAgainstPostgres(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	for k, v := range map[string]string{
		TopicTransactionConfig: "tx", ProvideTxMetadataConfig: "true",
		InitialStatementsConfig:                             "SET application_name = 'sluice;;cdc'; SET statement_timeout = 60000",
		SnapshotSelectOverridesConfig:                       "public.customers",
		SnapshotSelectOverridesConfig + ".public.customers": "SELECT * FROM customers WHERE id <= 10",
		SnapshotIncludeListConfig:                           "public.customers",
		"column.mask.with.5.chars":                          "public.customers.email",
		"column.truncate.to.2.chars":                        "public\\.customers\\.na.*",
		MaxBatchSizeConfig:                                  "3", MaxQueueSizeConfig: "7",
		FlushLSNSourceConfig: "false", StatusUpdateIntervalConfig: "100",
	} {
		cfg[k] = v
	}
	tc := &taskContext{}
	task := startTask(t, tc, cfg)

	var app string
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_activity WHERE application_name LIKE 'sluice%'").Scan(&app))
	assert.Equal(t, "sluice:topic.prefix=shop,sluice;cdc", app, "initial statements ran on the query connection, not the replication connection")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var snap []*connect.Record
	for len(snap) < 10 {
		batch, err := task.Poll(ctx)
		require.NoError(t, err)
		require.LessOrEqual(t, len(batch), 3, "max.batch.size")
		snap = append(snap, batch...)
	}
	require.Len(t, snap, 10, "the override selected 10 customers; orders are not snapshotted")
	for _, r := range snap {
		assert.Equal(t, "shop.public.customers", r.Topic)
		after, _ := r.Value.(*connect.Struct).Get("after")
		email, _ := after.(*connect.Struct).Get("email")
		name, _ := after.(*connect.Struct).Get("name")
		assert.Equal(t, "*****", email)
		assert.Equal(t, "c", name.(string)[:1])
		assert.LessOrEqual(t, len(name.(string)), 2)
	}
	tc.commit(t, task, snap)
	start := confirmedFlush(t, pg)

	execApp(t, pg, "INSERT INTO orders VALUES (900, 1, 2.50, 'streamed')")
	live := pollN(t, task, 3)
	assert.Equal(t, []string{"shop.tx", "shop.public.orders", "shop.tx"}, []string{live[0].Topic, live[1].Topic, live[2].Topic})
	tc.commit(t, task, live)
	time.Sleep(500 * time.Millisecond) // several status updates
	assert.Equal(t, start, confirmedFlush(t, pg), "flush.lsn.source=false confirms nothing")
}

// A value the connector cannot convert fails the task under the default
// event.processing.failure.handling.mode, naming it, and is skipped under
// skip. The interval style set by database.initial.statements makes the
// snapshot's interval text unreadable.
func TestEventProcessingFailureHandlingMode(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg, "CREATE TABLE spans (id int PRIMARY KEY, d interval)", "INSERT INTO spans VALUES (1, '1 day'), (2, NULL)")
	cfg := shopConfig(pg)
	cfg[TableIncludeListConfig] = "public.spans"
	cfg[InitialStatementsConfig] = "SET IntervalStyle = 'iso_8601'"

	task := startTask(t, &taskContext{}, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for err == nil && ctx.Err() == nil {
		_, err = task.Poll(ctx)
	}
	require.Error(t, err)
	assert.Contains(t, err.Error(), `column d of type interval from "P1D"`)
	assert.Contains(t, err.Error(), EventFailureHandlingModeConfig)
	require.NoError(t, task.Stop())

	cfg[EventFailureHandlingModeConfig] = "skip"
	task = startTask(t, &taskContext{}, cfg)
	got := pollN(t, task, 1)
	key, _ := got[0].Key.(*connect.Struct).Get("id")
	assert.Equal(t, int32(2), key, "row 1 skipped, row 2 (null interval) delivered")
}

// column.propagate.source.type and datatype.propagate.source.type add
// Debezium's source type parameters to the matched columns' schemas, in
// snapshot and streaming events alike.
func TestPropagateSourceType(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[ColumnPropagateSourceTypeConfig] = "public.customers.email"
	cfg[TypePropagateSourceTypeConfig] = ".+\\.NUMERIC"
	task := startTask(t, &taskContext{}, cfg)
	records := pollN(t, task, 350)
	execApp(t, pg, "INSERT INTO orders VALUES (900, 1, 2.50, 'streamed')")
	records = append(records, pollN(t, task, 1)...)

	params := func(r *connect.Record, column string) map[string]string {
		after := r.ValueSchema.Field("after").Schema
		return after.Field(column).Schema.Parameters
	}
	assert.Equal(t, map[string]string{SourceColumnTypeParam: "VARCHAR", SourceColumnLengthParam: "80"}, params(records[0], "email"))
	assert.Empty(t, params(records[0], "name"), "not listed")
	for _, r := range []*connect.Record{records[300], records[350]} {
		p := params(r, "amount")
		assert.Equal(t, "NUMERIC", p[SourceColumnTypeParam])
		assert.Equal(t, "10", p[SourceColumnLengthParam])
		assert.Equal(t, "2", p[SourceColumnScaleParam])
		assert.Equal(t, "2", p["scale"], "the Decimal's own parameters stay")
		assert.NotContains(t, params(r, "note"), SourceColumnTypeParam)
	}
}
