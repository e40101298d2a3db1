package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// taskContext is the worker stand-in of these tests: connecttest's
// context, whose offsets read back as the offsets topic hands them.
type taskContext struct {
	connecttest.SourceContext
}

// Logger stands in for the worker's: the default logger (tests capture it
// with captureLogs), naming the connector and the task as the worker does.
func (c *taskContext) Logger() *slog.Logger {
	return slog.Default().With("connector", strings.TrimSpace(c.Props["name"]), "task", 0)
}

// commit acknowledges records as the worker would: stores their offsets,
// then tells the task.
func (c *taskContext) commit(t *testing.T, task *sourceTask, records []*connect.Record) {
	t.Helper()
	require.NoError(t, c.Commit(task, records))
}

// restarted returns a context holding c's committed offsets, as the worker
// hands a task it starts again.
func (c *taskContext) restarted() *taskContext {
	r := &taskContext{}
	r.Offsets = c.Restarted().Offsets
	return r
}

// startTask starts a source task on cfg with the offsets in tc.
func startTask(t *testing.T, tc *taskContext, cfg map[string]string) *sourceTask {
	t.Helper()
	task := Plugin.NewSourceTask().(*sourceTask)
	tc.Props = cfg
	require.NoError(t, task.Start(tc, cfg))
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// leftovers holds records polled beyond what pollN returned, per task.
var leftovers = map[*sourceTask][]*connect.Record{}

// pollN polls until n records arrived and returns exactly n, keeping the
// rest for the next call.
func pollN(t *testing.T, task *sourceTask, n int) []*connect.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := leftovers[task]
	for len(out) < n {
		batch, err := task.Poll(ctx)
		require.NoError(t, err)
		require.NoError(t, ctx.Err(), "got %d of %d records", len(out), n)
		out = append(out, batch...)
	}
	leftovers[task] = out[n:]
	return out[:n]
}

// pollNone checks that nothing arrives for a while.
func pollNone(t *testing.T, task *sourceTask) {
	t.Helper()
	require.Empty(t, leftovers[task])
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	for ctx.Err() == nil {
		batch, err := task.Poll(ctx)
		require.NoError(t, err)
		require.Empty(t, batch)
	}
}

func shopConfig(pg *testenv.Postgres) map[string]string {
	return map[string]string{
		HostnameConfig: pg.Host, PortConfig: strconv.Itoa(pg.Port), UserConfig: "postgres", DBNameConfig: "app",
		SSLModeConfig: "disable", TopicPrefixConfig: "shop", SlotNameConfig: "sluice_test",
		PublicationAutocreateModeConfig: "filtered", TableIncludeListConfig: "public.customers,public.orders",
		SnapshotFetchSizeConfig: "64",
	}
}

// event describes a record for comparisons: topic, op, key id, after name.
func event(t *testing.T, r *connect.Record) string {
	t.Helper()
	var id any
	if k, ok := r.Key.(*connect.Struct); ok {
		id, _ = k.Get("id")
	}
	v, ok := r.Value.(*connect.Struct)
	if !ok {
		return fmt.Sprintf("%s tombstone %v", r.Topic, id)
	}
	op, _ := v.Get("op")
	desc := fmt.Sprintf("%s %s %v", r.Topic, op, id)
	if after, _ := v.Get("after"); after != nil {
		col := "name"
		if strings.HasSuffix(r.Topic, "orders") {
			col = "note"
		}
		name, _ := after.(*connect.Struct).Get(col)
		desc += fmt.Sprintf(" %v", name)
	}
	return desc
}

func sourceField(r *connect.Record, name string) any {
	src, _ := r.Value.(*connect.Struct).Get("source")
	v, _ := src.(*connect.Struct).Get(name)
	return v
}

func setupShop(t *testing.T) *testenv.Postgres {
	pg := testenv.StartPostgres(t)
	pg.Exec(t, "CREATE DATABASE app")
	execApp(t, pg,
		"CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email varchar(80))",
		"CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, amount numeric(10,2), note text)",
		"CREATE TABLE audit (id serial, what text)", // not captured, no primary key
		"INSERT INTO customers SELECT g, 'c' || g, 'c' || g || '@x.io' FROM generate_series(1, 300) g",
		"INSERT INTO orders SELECT g, g % 300 + 1, g * 1.5, 'o' || g FROM generate_series(1, 50) g",
	)
	return pg
}

func TestSnapshotThenStream(t *testing.T) {
	pg := setupShop(t)
	tc := &taskContext{}
	task := startTask(t, tc, shopConfig(pg))

	snap := pollN(t, task, 350)
	// Debezium's markers: customers has rows 0..299, orders 300..349.
	markers := map[int]string{0: "first", 299: "last_in_data_collection", 300: "first_in_data_collection", 349: "last"}
	for i, r := range snap {
		want, ok := markers[i]
		if !ok {
			want = "true"
		}
		require.Equal(t, want, sourceField(r, "snapshot"), "record %d", i)
		require.Equal(t, i == len(snap)-1, r.SourceOffset["last_snapshot_record"])
		require.Equal(t, true, r.SourceOffset["snapshot"])
	}
	assert.Equal(t, "shop.public.customers r 1 c1", event(t, snap[0]))
	assert.Equal(t, "shop.public.orders r 50 o50", event(t, snap[349]))
	tc.commit(t, task, snap)

	execApp(t, pg,
		"INSERT INTO customers VALUES (1000, 'new', NULL)",
		"INSERT INTO audit (what) VALUES ('ignored')",
		"BEGIN; UPDATE customers SET name = 'renamed' WHERE id = 1; DELETE FROM orders WHERE id = 1; COMMIT",
		"INSERT INTO orders VALUES (77, 1000, 9.99, 'o77')",
	)
	live := pollN(t, task, 5)
	var got []string
	for _, r := range live {
		got = append(got, event(t, r))
	}
	assert.Equal(t, []string{
		"shop.public.customers c 1000 new",
		"shop.public.customers u 1 renamed",
		"shop.public.orders d 1",
		"shop.public.orders tombstone 1",
		"shop.public.orders c 77 o77",
	}, got)
	assert.Equal(t, live[1].SourceOffset["txId"], live[3].SourceOffset["txId"], "one transaction")
	assert.Equal(t, live[1].SourceOffset["lsn"], live[0].SourceOffset["lsn"], "inside a transaction, the previous commit")
	assert.Greater(t, live[3].SourceOffset["lsn"].(int64), live[0].SourceOffset["lsn"].(int64))
	assert.NotNil(t, sourceField(live[0], "txId"))
	assert.NotNil(t, sourceField(live[0], "lsn"))
	assert.Equal(t, "false", sourceField(live[0], "snapshot"))
	before, _ := live[2].Value.(*connect.Struct).Get("before")
	require.NotNil(t, before, "a delete carries the key in before")
	amount, _ := live[4].Value.(*connect.Struct).Get("after")
	a, _ := amount.(*connect.Struct).Get("amount")
	assert.Equal(t, "9.99", a.(interface{ FloatString(int) string }).FloatString(2))
}

func TestRestartResumesFromCommittedOffset(t *testing.T) {
	pg := setupShop(t)
	tc := &taskContext{}
	task := startTask(t, tc, shopConfig(pg))
	tc.commit(t, task, pollN(t, task, 350))

	execApp(t, pg, "INSERT INTO customers VALUES (1001, 'a', NULL)", "INSERT INTO customers VALUES (1002, 'b', NULL)")
	tc.commit(t, task, pollN(t, task, 2))
	execApp(t, pg, "INSERT INTO customers VALUES (1003, 'uncommitted', NULL)")
	require.Equal(t, "shop.public.customers c 1003 uncommitted", event(t, pollN(t, task, 1)[0]))
	require.NoError(t, task.Stop())

	execApp(t, pg, "BEGIN; INSERT INTO customers VALUES (1004, 'while', NULL); UPDATE customers SET name = 'stopped' WHERE id = 1004; COMMIT")
	task = startTask(t, tc, shopConfig(pg))
	var got []string
	for _, r := range pollN(t, task, 3) {
		got = append(got, event(t, r))
	}
	assert.Equal(t, []string{
		"shop.public.customers c 1003 uncommitted", // its offset was not committed: sent again
		"shop.public.customers c 1004 while",
		"shop.public.customers u 1004 stopped",
	}, got, "no snapshot again, no committed change replayed, none lost")
	pollNone(t, task)
}

// A transaction larger than a poll batch reaches the worker in parts; a
// restart after only some of its records were committed replays the
// transaction and skips exactly those, so nothing is lost or repeated.
func TestRestartInsideALargeTransactionSkipsWhatWasCommitted(t *testing.T) {
	pg := setupShop(t)
	tc := &taskContext{}
	cfg := shopConfig(pg)
	cfg[ProvideTxMetadataConfig] = "true" // BEGIN/END records count too
	task := startTask(t, tc, cfg)
	tc.commit(t, task, pollN(t, task, 350))

	// 300 updates, 50 deletes and their tombstones, 2000 inserts: 2400
	// change records, plus BEGIN and END; more than one poll batch.
	const total, committed = 2402, 2100
	execApp(t, pg, "BEGIN; UPDATE customers SET name = 'big ' || id; DELETE FROM orders; "+
		"INSERT INTO orders SELECT g, 1, 1, 'new' FROM generate_series(1000, 2999) g; COMMIT")
	status := func(r *connect.Record) any {
		v, _ := r.Value.(*connect.Struct).Get("status")
		return v
	}
	first := pollN(t, task, committed)
	assert.Equal(t, "BEGIN", status(first[0]))
	tc.commit(t, task, first)
	off, err := tc.Offset(task.sourcePartition())
	require.NoError(t, err)
	require.EqualValues(t, committed, off[txRecordsKey])
	rest := pollN(t, task, total-committed)
	require.NoError(t, task.Stop())

	task = startTask(t, tc, cfg)
	again := pollN(t, task, total-committed)
	require.Len(t, again, len(rest))
	for i := range rest {
		require.Equal(t, rest[i].Topic, again[i].Topic, "record %d", i)
		require.Equal(t, rest[i].SourceOffset, again[i].SourceOffset, "record %d", i)
		if rest[i].Value != nil && rest[i].Topic != "shop.transaction" {
			require.Equal(t, event(t, rest[i]), event(t, again[i]), "record %d", i)
		}
	}
	last := again[len(again)-1]
	assert.Equal(t, "END", status(last))
	assert.NotContains(t, last.SourceOffset, txLSNKey, "the transaction's last record ends it")
	tc.commit(t, task, again)
	pollNone(t, task)
}

func TestRestartDuringSnapshotSnapshotsAgain(t *testing.T) {
	pg := setupShop(t)
	tc := &taskContext{}
	task := startTask(t, tc, shopConfig(pg))
	tc.commit(t, task, pollN(t, task, 100))
	require.NoError(t, task.Stop())

	task = startTask(t, tc, shopConfig(pg))
	snap := pollN(t, task, 350)
	assert.Equal(t, "shop.public.customers r 1 c1", event(t, snap[0]))
	assert.Equal(t, "last", sourceField(snap[349], "snapshot"))
}

func confirmedFlush(t *testing.T, pg *testenv.Postgres) pglogrepl.LSN {
	t.Helper()
	var s string
	conn := appConn(t, pg)
	require.NoError(t, conn.QueryRow(context.Background(),
		"SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'sluice_test'").Scan(&s))
	lsn, err := pglogrepl.ParseLSN(s)
	require.NoError(t, err)
	return lsn
}

func TestHeartbeatsAdvanceConfirmedLSNOnIdleDatabase(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	cfg[HeartbeatIntervalConfig] = "200"
	cfg[HeartbeatActionQueryConfig] = "INSERT INTO audit (what) VALUES ('heartbeat')"
	cfg[SlotDropOnStopConfig] = "true"
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	start := confirmedFlush(t, pg)

	deadline := time.Now().Add(20 * time.Second)
	for confirmedFlush(t, pg) <= start {
		require.True(t, time.Now().Before(deadline), "confirmed_flush_lsn stayed at %s", start)
		batch := pollN(t, task, 1)
		assert.Equal(t, "__debezium-heartbeat.shop", batch[0].Topic)
		tc.commit(t, task, batch)
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, task.Stop())
	var n int
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_test'").Scan(&n))
	assert.Zero(t, n, "slot.drop.on.stop dropped the slot")
}

func appConn(t *testing.T, pg *testenv.Postgres) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pg.DSN("app"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func field(t *testing.T, r *connect.Record, row, name string) any {
	t.Helper()
	v, err := r.Value.(*connect.Struct).Get(row)
	require.NoError(t, err)
	require.NotNil(t, v, "%s of %s", row, event(t, r))
	f, err := v.(*connect.Struct).Get(name)
	require.NoError(t, err)
	return f
}

func TestPublicationAutocreateModes(t *testing.T) {
	pg := setupShop(t)
	conn := appConn(t, pg)
	ctx := context.Background()

	cfg := shopConfig(pg)
	cfg[PublicationAutocreateModeConfig] = "disabled"
	err := Plugin.NewSourceTask().Start(&taskContext{}, cfg)
	require.ErrorContains(t, err, "publication dbz_publication does not exist and publication.autocreate.mode is disabled")

	cfg = shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	task := startTask(t, &taskContext{}, cfg)
	require.NoError(t, task.Stop())
	rows, err := conn.Query(ctx, "SELECT tablename::text FROM pg_publication_tables WHERE pubname = 'dbz_publication' ORDER BY 1")
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Equal(t, []string{"customers", "orders"}, tables, "filtered: only the included tables")
	_, err = conn.Exec(ctx, "UPDATE audit SET what = 'still updatable'")
	require.NoError(t, err, "a table without primary key stays out of a filtered publication")

	cfg[PublicationNameConfig] = "everything"
	cfg[PublicationAutocreateModeConfig] = "all_tables"
	cfg[SlotNameConfig] = "sluice_everything" // another connector: the first one's slot is refused
	task = startTask(t, &taskContext{}, cfg)
	require.NoError(t, task.Stop())
	var all bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT puballtables FROM pg_publication WHERE pubname = 'everything'").Scan(&all))
	assert.True(t, all)
}

func TestSnapshotModesOnRestart(t *testing.T) {
	pg := setupShop(t)
	t.Run("always snapshots on every start", func(t *testing.T) {
		cfg := shopConfig(pg)
		cfg[SnapshotModeConfig] = "always"
		tc := &taskContext{}
		task := startTask(t, tc, cfg)
		tc.commit(t, task, pollN(t, task, 350))
		require.NoError(t, task.Stop())
		task = startTask(t, tc, cfg)
		assert.Equal(t, "r", sourceOp(pollN(t, task, 1)[0]))
		require.NoError(t, task.Stop())
	})
	t.Run("initial_only does not stream", func(t *testing.T) {
		cfg := shopConfig(pg)
		cfg[SnapshotModeConfig] = "initial_only"
		cfg[SlotNameConfig] = "sluice_only"
		task := startTask(t, &taskContext{}, cfg)
		pollN(t, task, 350)
		execApp(t, pg, "INSERT INTO customers VALUES (9000, 'x', NULL)")
		pollNone(t, task)
	})
}

func sourceOp(r *connect.Record) any {
	op, _ := r.Value.(*connect.Struct).Get("op")
	return op
}

func TestReconnectsAfterLostConnection(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	execApp(t, pg, "INSERT INTO customers VALUES (2001, 'before', NULL)")
	tc.commit(t, task, pollN(t, task, 1))

	var terminated bool
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_test'").Scan(&terminated))
	require.True(t, terminated)
	execApp(t, pg, "INSERT INTO customers VALUES (2002, 'after', NULL)")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	for len(got) == 0 {
		batch, err := task.Poll(ctx)
		if errors.Is(err, connect.ErrRetriable) {
			time.Sleep(200 * time.Millisecond) // the worker's backoff
			continue
		}
		require.NoError(t, err)
		require.NoError(t, ctx.Err())
		for _, r := range batch {
			got = append(got, event(t, r))
		}
	}
	assert.Equal(t, []string{"shop.public.customers c 2002 after"}, got)
}
