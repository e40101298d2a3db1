package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// namedConfig is the shop config of the connector called name, writing to
// topics prefixed with prefix, on slot.name sluice_test.
func namedConfig(pg *testenv.Postgres, name, prefix string) map[string]string {
	cfg := shopConfig(pg)
	cfg["name"], cfg[TopicPrefixConfig] = name, prefix
	return cfg
}

// slotPosition returns the slot's confirmed_flush_lsn, or "" when there is
// no such slot.
func slotPosition(t *testing.T, pg *testenv.Postgres, slot string) string {
	t.Helper()
	var lsn []string
	rows, err := appConn(t, pg).Query(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slot)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		lsn = append(lsn, s)
	}
	require.NoError(t, rows.Err())
	return strings.Join(lsn, ",")
}

// Two connectors with the same slot.name on one database: while the first
// reads from the slot, validation refuses the second with an error on
// slot.name; while the first is stopped, the second's task refuses the
// slot without touching it; the first, started again, gets every row,
// the one inserted while it was stopped included. (The old code let the
// second drop and create the slot again: that row never arrived.)
func TestSecondConnectorOnTheSameSlotIsRefused(t *testing.T) {
	pg := setupShop(t)
	first := namedConfig(pg, "first", "shop")
	tc := &taskContext{}
	task := startTask(t, tc, first)
	tc.commit(t, task, pollN(t, task, 350))
	execApp(t, pg, "INSERT INTO customers VALUES (5001, 'running', NULL)")
	got := pollN(t, task, 1)
	require.Equal(t, "shop.public.customers c 5001 running", event(t, got[0]))
	tc.commit(t, task, got)

	second := namedConfig(pg, "second", "shop2")
	errs := validate(t, second)
	require.Len(t, errs[SlotNameConfig], 1, "%v", errs)
	assert.Contains(t, errs[SlotNameConfig][0], `replication slot "sluice_test" is active for PID`)
	assert.Contains(t, errs[SlotNameConfig][0], `application_name "sluice:first"`)
	assert.Contains(t, errs[SlotNameConfig][0], "pick another slot.name")
	assert.Empty(t, validate(t, first)[SlotNameConfig], "the connector's own running task holds the slot: its config may be updated")

	require.NoError(t, task.Stop())
	before := slotPosition(t, pg, "sluice_test")
	execApp(t, pg, "INSERT INTO customers VALUES (5002, 'while stopped', NULL)")

	err := Plugin.NewSourceTask().Start(&taskContext{}, second)
	require.ErrorIs(t, err, errSlot)
	assert.ErrorContains(t, err, `slot.name: replication slot "sluice_test" already exists`)
	assert.ErrorContains(t, err, "no offsets that account for it")
	assert.ErrorContains(t, err, "SELECT pg_drop_replication_slot('sluice_test')")
	assert.Equal(t, before, slotPosition(t, pg, "sluice_test"), "the refused task left the slot alone")

	task = startTask(t, tc, first)
	got = pollN(t, task, 1)
	assert.Equal(t, "shop.public.customers c 5002 while stopped", event(t, got[0]))
	pollNone(t, task)
}

// A slot another client reads from is refused by validation and by a
// task's start, with Postgres's own words.
func TestActiveSlotIsRefused(t *testing.T) {
	pg := setupShop(t)
	ctx := context.Background()
	other, err := pgconn.Connect(ctx, pg.DSN("app")+"&replication=database&application_name=pg_recvlogical")
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close(context.Background()) })
	_, err = pglogrepl.CreateReplicationSlot(ctx, other, "taken", "pgoutput", pglogrepl.CreateReplicationSlotOptions{})
	require.NoError(t, err)
	execApp(t, pg, "CREATE PUBLICATION everything FOR ALL TABLES")
	require.NoError(t, pglogrepl.StartReplication(ctx, other, "taken", 0,
		pglogrepl.StartReplicationOptions{PluginArgs: []string{"proto_version '1'", "publication_names 'everything'"}}))

	cfg := namedConfig(pg, "inventory", "shop")
	cfg[SlotNameConfig] = "taken"
	errs := validate(t, cfg)[SlotNameConfig]
	require.Len(t, errs, 1)
	assert.Regexp(t, `^replication slot "taken" is active for PID \d+ \(application_name "pg_recvlogical"\)`, errs[0])

	err = Plugin.NewSourceTask().Start(&taskContext{}, cfg)
	require.ErrorIs(t, err, errSlot)
	assert.ErrorContains(t, err, `replication slot "taken" is active for PID`)
}

// A connector deleted and created again with the same name keeps its
// offsets, so it reads on from its slot, as Debezium does: no snapshot,
// nothing lost, the slot not created again.
func TestRecreatedConnectorReusesItsSlot(t *testing.T) {
	pg := setupShop(t)
	cfg := namedConfig(pg, "inventory", "shop")
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	tc.commit(t, task, pollN(t, task, 350))
	require.NoError(t, task.Stop())
	execApp(t, pg, "INSERT INTO customers VALUES (6001, 'while deleted', NULL)")
	var restart string
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'sluice_test'").Scan(&restart))

	logs := captureLogs(t)
	task = startTask(t, tc.restarted(), cfg)
	got := pollN(t, task, 1)
	assert.Equal(t, "shop.public.customers c 6001 while deleted", event(t, got[0]))
	pollNone(t, task)
	assert.NotContains(t, logs.String(), "replication slot created")
	var again string
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = 'sluice_test'").Scan(&again))
	assert.Equal(t, restart, again, "the same slot")
}

// Without slot.drop.on.stop a stopped task warns that its slot holds WAL,
// with the statement that drops it; with it, the slot is dropped, and the
// next start creates it again, warning that changes made meanwhile are
// not captured.
func TestSlotOnStop(t *testing.T) {
	pg := setupShop(t)
	cfg := namedConfig(pg, "inventory", "shop")
	tc := &taskContext{}
	logs := captureLogs(t)
	task := startTask(t, tc, cfg)
	tc.commit(t, task, pollN(t, task, 350))
	require.NoError(t, task.Stop())
	assert.Regexp(t, `level=WARN msg="replication slot keeps the server's WAL .*SELECT pg_drop_replication_slot\('sluice_test'\)" `+
		`connector=inventory task=0 logger=io.sluice.connect.postgres slot=sluice_test retained_wal="\d+ (bytes|kB|MB)"`, logs.String())
	assert.NotEmpty(t, slotPosition(t, pg, "sluice_test"))

	cfg[SlotDropOnStopConfig] = "true"
	task = startTask(t, tc, cfg)
	pollNone(t, task)
	require.NoError(t, task.Stop())
	assert.Empty(t, slotPosition(t, pg, "sluice_test"), "slot.drop.on.stop dropped it")
	assert.Contains(t, logs.String(), "replication slot dropped (slot.drop.on.stop)")

	task = startTask(t, tc, cfg)
	pollNone(t, task)
	assert.Contains(t, logs.String(), "replication slot was dropped when the connector stopped (slot.drop.on.stop): creating it again")
	assert.NotEmpty(t, slotPosition(t, pg, "sluice_test"))
}

// A task started on offsets that its slot no longer accounts for (the
// slot dropped, or confirmed past them by someone else) fails, naming
// slot.name, instead of streaming on without the changes in between;
// offset.mismatch.strategy=trust_slot takes the slot's position with a
// warning. A slot lost while streaming fails the task, without retrying.
func TestSlotLostOrAheadOfOffsets(t *testing.T) {
	pg := setupShop(t)
	cfg := namedConfig(pg, "inventory", "shop")
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	tc.commit(t, task, pollN(t, task, 350))
	execApp(t, pg, "INSERT INTO customers VALUES (7001, 'a', NULL)")
	tc.commit(t, task, pollN(t, task, 1))

	// Lost while streaming: the walsender is ended and the slot dropped.
	conn := appConn(t, pg)
	_, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_test'")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := conn.Exec(context.Background(), "SELECT pg_drop_replication_slot('sluice_test')")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for err = nil; err == nil && ctx.Err() == nil; {
		_, err = task.Poll(ctx)
	}
	require.ErrorIs(t, err, errSlot)
	assert.NotErrorIs(t, err, connect.ErrRetriable, "a lost slot fails the task")
	assert.ErrorContains(t, err, `slot.name: replication slot "sluice_test" does not exist, but this connector's offsets stream from it`)
	require.NoError(t, task.Stop())

	// Ahead: another consumer's slot of the same name, created later.
	execApp(t, pg, "INSERT INTO customers VALUES (7002, 'lost', NULL)")
	execApp(t, pg, "SELECT pg_create_logical_replication_slot('sluice_test', 'pgoutput')")
	err = Plugin.NewSourceTask().Start(tc, cfg)
	require.ErrorIs(t, err, errSlot)
	assert.ErrorContains(t, err, "past this connector's offsets")

	logs := captureLogs(t)
	cfg[OffsetMismatchStrategyConfig] = mismatchTrustSlot
	task = startTask(t, tc, cfg)
	execApp(t, pg, "INSERT INTO customers VALUES (7003, 'after', NULL)")
	assert.Equal(t, "shop.public.customers c 7003 after", event(t, pollN(t, task, 1)[0]))
	assert.Contains(t, logs.String(), "replication slot was confirmed past this connector's offsets: streaming from the slot")
}

// A task whose start fails after it created the slot drops it again, so
// that its next start does not refuse it as another connector's.
func TestFailedStartDropsTheSlotItCreated(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg, "CREATE ROLE repl LOGIN REPLICATION", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO repl",
		"CREATE PUBLICATION dbz_publication FOR TABLE customers, orders",
		"REVOKE EXECUTE ON FUNCTION pg_current_wal_lsn() FROM PUBLIC") // the snapshot's first query fails
	cfg := namedConfig(pg, "inventory", "shop")
	cfg[UserConfig], cfg[PublicationAutocreateModeConfig] = "repl", "disabled"
	err := Plugin.NewSourceTask().Start(&taskContext{}, cfg)
	require.ErrorContains(t, err, "permission denied for function pg_current_wal_lsn")
	assert.Empty(t, slotPosition(t, pg, "sluice_test"), "the slot it created is gone")

	execApp(t, pg, "GRANT EXECUTE ON FUNCTION pg_current_wal_lsn() TO PUBLIC")
	task := startTask(t, &taskContext{}, cfg)
	pollN(t, task, 350)
}

// A connector that has emitted nothing yet has no offsets: when it stops,
// it drops the slot it created (nothing needs it: without offsets the next
// start snapshots again), so its next start does not refuse it as another
// connector's, and a row written meanwhile arrives with the new snapshot.
func TestConnectorWithoutOffsetsStartsAgain(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg, "TRUNCATE customers, orders")
	cfg := namedConfig(pg, "inventory", "shop")
	logs := captureLogs(t)
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	pollNone(t, task)
	require.NoError(t, task.Stop())
	assert.Contains(t, logs.String(), "replication slot dropped: this task created it and no offset was committed")
	assert.Empty(t, slotPosition(t, pg, "sluice_test"))

	execApp(t, pg, "INSERT INTO customers VALUES (1, 'while stopped', NULL)")
	task = startTask(t, tc, cfg)
	got := pollN(t, task, 1)
	assert.Equal(t, "shop.public.customers r 1 while stopped", event(t, got[0]))
}
