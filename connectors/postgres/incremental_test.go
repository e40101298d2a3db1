package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

const (
	signalTopic    = "shop.public.debezium_signal"
	customersTopic = "shop.public.customers"
)

// signalShop starts the shop database with a signalling table and returns
// a streaming-only config that reads signals from it.
func signalShop(t *testing.T) (*testenv.Postgres, map[string]string) {
	t.Helper()
	pg := setupShop(t)
	execApp(t, pg, "CREATE TABLE debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))")
	cfg := shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	cfg[SignalDataCollectionConfig] = "public.debezium_signal"
	cfg[IncrementalChunkSizeConfig] = "50"
	return pg, cfg
}

// sendSignal inserts a signal row, as a user does.
func sendSignal(t *testing.T, pg *testenv.Postgres, id, kind, data string) {
	t.Helper()
	execApp(t, pg, fmt.Sprintf("INSERT INTO debezium_signal (id, type, data) VALUES ('%s', '%s', '%s')", id, kind, data))
}

// pollUntil polls until done, shown each new batch, says enough arrived,
// and returns every record polled.
func pollUntil(t *testing.T, task *sourceTask, what string, done func(batch []*connect.Record) bool) []*connect.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*connect.Record
	for {
		batch, err := task.Poll(ctx)
		require.NoError(t, ctx.Err(), "timed out waiting for %s after %d records", what, len(out))
		require.NoError(t, err)
		out = append(out, batch...)
		if done(batch) {
			return out
		}
	}
}

// pollFor polls for d and returns what arrived.
func pollFor(t *testing.T, task *sourceTask, d time.Duration) []*connect.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out []*connect.Record
	for ctx.Err() == nil {
		batch, err := task.Poll(ctx)
		require.NoError(t, err)
		out = append(out, batch...)
	}
	return out
}

// replay is the state of the customers table rebuilt from its change
// events: id → name.
type replay struct {
	rows  map[int32]string
	reads []int32 // ids read by an incremental snapshot, in order
}

func newReplay() *replay { return &replay{rows: map[int32]string{}} }

// apply replays the customers events of batch.
func (r *replay) apply(t *testing.T, batch []*connect.Record) {
	t.Helper()
	for _, rec := range batch {
		if rec.Topic != customersTopic || rec.Value == nil {
			continue
		}
		switch op := sourceOp(rec); op {
		case "r", "c", "u":
			id := field(t, rec, "after", "id").(int32)
			r.rows[id] = field(t, rec, "after", "name").(string)
			if op == "r" {
				require.Equal(t, "incremental", sourceField(rec, "snapshot"))
				r.reads = append(r.reads, id)
			}
		case "d":
			delete(r.rows, field(t, rec, "before", "id").(int32))
		}
	}
}

// customerRows reads the table: id → name, for ids up to maxID.
func customerRows(t *testing.T, conn *pgx.Conn, maxID int) map[int32]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT id, name FROM customers WHERE id <= $1", maxID)
	require.NoError(t, err)
	out := map[int32]string{}
	for rows.Next() {
		var id int32
		var name string
		require.NoError(t, rows.Scan(&id, &name))
		out[id] = name
	}
	require.NoError(t, rows.Err())
	return out
}

// windowOpens counts the open watermarks among records.
func windowOpens(t *testing.T, records []*connect.Record) int {
	n := 0
	for _, r := range records {
		if r.Topic == signalTopic && r.Value != nil && field(t, r, "after", "type") == debezium.SignalWindowOpen {
			n++
		}
	}
	return n
}

// churn changes random customers until stop is closed and returns the ids
// it touched.
func churn(pg *testenv.Postgres, stop <-chan struct{}) (map[int32]bool, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN("app"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	touched := map[int32]bool{}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return touched, nil
		default:
		}
		id := int32(rand.IntN(300) + 1)
		stmt := fmt.Sprintf("UPDATE customers SET name = 'u%d' WHERE id = %d", i, id)
		switch i % 5 {
		case 3:
			stmt = fmt.Sprintf("DELETE FROM customers WHERE id = %d", id)
		case 4:
			id = int32(1000 + i)
			stmt = fmt.Sprintf("INSERT INTO customers VALUES (%d, 'n%d', NULL)", id, i)
		}
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return nil, err
		}
		touched[id] = true
		time.Sleep(time.Millisecond)
	}
}

// Every row arrives as an incremental read, in several chunks, while rows
// change concurrently: replaying the events gives the table.
func TestIncrementalSnapshotReadsEveryRowWhileStreaming(t *testing.T) {
	pg, cfg := signalShop(t)
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "ad-hoc-1", "execute-snapshot", `{"data-collections": ["public\\.cust.*"], "type": "incremental"}`)

	stop := make(chan struct{})
	var touched map[int32]bool
	var churnErr error
	var wg sync.WaitGroup
	wg.Go(func() { touched, churnErr = churn(pg, stop) })
	time.AfterFunc(700*time.Millisecond, func() { close(stop) })

	conn := appConn(t, pg)
	state := newReplay()
	churned := false
	records := pollUntil(t, task, "the replayed events to match the table", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		if !churned {
			select {
			case <-stop:
				wg.Wait()
				require.NoError(t, churnErr)
				churned = true
			default:
				return false
			}
		}
		return len(state.reads) > 0 && assert.ObjectsAreEqual(customerRows(t, conn, 1<<30), state.rows)
	})
	more := pollFor(t, task, 1500*time.Millisecond)
	state.apply(t, more)
	require.Equal(t, customerRows(t, conn, 1<<30), state.rows, "no stale read arrives later")

	read := map[int32]bool{}
	for _, id := range state.reads {
		read[id] = true
	}
	for id := int32(1); id <= 300; id++ {
		if !touched[id] {
			assert.True(t, read[id], "untouched row %d read by the snapshot", id)
		}
	}
	assert.GreaterOrEqual(t, windowOpens(t, append(records, more...)), 6, "300 rows in chunks of 50")
	var withKey int
	records = append(records, more...)
	for _, r := range records {
		if r.Topic == customersTopic && r.Value != nil && sourceOp(r) == "r" {
			id := field(t, r, "after", "id").(int32)
			require.Equal(t, `["`+strconv.Itoa(int(id))+`"]`, r.SourceOffset[debezium.IncrementalPrimaryKeyKey], "a read's offset holds its key")
			withKey++
		}
	}
	assert.Equal(t, len(state.reads), withKey)
	last := records[len(records)-1]
	assert.NotContains(t, last.SourceOffset, debezium.IncrementalCollectionsKey, "after the snapshot, offsets carry no progress")
}

// A row changed while its chunk's SELECT runs (after the open watermark,
// too late for the SELECT to see it) must not come back with its old value
// from the chunk's read; additional-conditions restrict the rows read.
func TestIncrementalSnapshotStreamedChangeWinsOverStaleChunkRead(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[IncrementalChunkSizeConfig] = "100"
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "ad-hoc-2", "execute-snapshot", `{"data-collections": ["public.customers"], "additional-conditions": `+
		`[{"data-collection": "public\\.customers", "filter": "id <= 250 AND (SELECT count(*) FROM pg_sleep(0.5)) = 1"}]}`)

	conn := appConn(t, pg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var sleeping int
		require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%pg_sleep%LIMIT 100' AND pid <> pg_backend_pid()`).Scan(&sleeping))
		if sleeping > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first chunk's SELECT never ran")
		time.Sleep(5 * time.Millisecond)
	}
	execApp(t, pg, "UPDATE customers SET name = 'fresh' WHERE id <= 100", "DELETE FROM customers WHERE id = 7")

	want := customerRows(t, conn, 250)
	state := newReplay()
	pollUntil(t, task, "the replayed events to match the table", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return assert.ObjectsAreEqual(want, state.rows)
	})
	state.apply(t, pollFor(t, task, 1500*time.Millisecond))
	require.Equal(t, want, state.rows, "the stale reads of ids 1..100 and 7 were dropped")
	for _, id := range state.reads {
		require.Greater(t, id, int32(100), "rows changed between the watermarks are not read")
		require.LessOrEqual(t, id, int32(250), "the additional condition bounds the rows read")
	}
	assert.Len(t, state.reads, 150)
}

// pause-snapshot holds the snapshot after its current chunk,
// resume-snapshot goes on from there, stop-snapshot ends it.
func TestIncrementalSnapshotPauseResumeStop(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[IncrementalChunkSizeConfig] = "10"
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "s", "execute-snapshot", `{"data-collections": ["public.customers"], "additional-conditions": `+
		`[{"data-collection": "public.customers", "filter": "(SELECT count(*) FROM pg_sleep(0.1)) = 1"}]}`)
	state := newReplay()
	pollUntil(t, task, "the first chunk", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return len(state.reads) >= 10
	})

	sendSignal(t, pg, "p", "pause-snapshot", `{"type": "incremental"}`)
	pollUntil(t, task, "the pause signal", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return hasSignal(t, batch, "p")
	})
	paused := len(state.reads)
	state.apply(t, pollFor(t, task, 1500*time.Millisecond))
	require.LessOrEqual(t, len(state.reads)-paused, 10, "at most the chunk in flight arrives once paused")
	held := len(state.reads)
	state.apply(t, pollFor(t, task, time.Second))
	require.Equal(t, held, len(state.reads), "paused: no more chunks")

	sendSignal(t, pg, "r", "resume-snapshot", `{"type": "incremental"}`)
	pollUntil(t, task, "reads after resuming", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return len(state.reads) >= held+10
	})
	assert.Equal(t, state.reads[held], state.reads[held-1]+1, "resumed after the last row read")

	sendSignal(t, pg, "x", "stop-snapshot", `{"type": "incremental"}`)
	pollUntil(t, task, "the stop signal", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return hasSignal(t, batch, "x")
	})
	stopped := len(state.reads)
	after := pollFor(t, task, 1500*time.Millisecond)
	state.apply(t, after)
	assert.Equal(t, stopped, len(state.reads), "no read after stop-snapshot")
	assert.Less(t, stopped, 300)
	for _, r := range after {
		assert.NotContains(t, r.SourceOffset, debezium.IncrementalCollectionsKey)
	}
}

// hasSignal reports whether batch holds the signal table's row id.
func hasSignal(t *testing.T, batch []*connect.Record, id string) bool {
	for _, r := range batch {
		if r.Topic == signalTopic && r.Value != nil && field(t, r, "after", "id") == id {
			return true
		}
	}
	return false
}

// A restart in the middle resumes the snapshot after the last row whose
// offset was committed, from the progress kept in Debezium's offset keys.
func TestIncrementalSnapshotResumesAfterRestart(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[IncrementalChunkSizeConfig] = "20"
	tc := &taskContext{}
	task := startTask(t, tc, cfg)
	sendSignal(t, pg, "ad-hoc-3", "execute-snapshot", `{"data-collections": ["public.customers"]}`)
	state := newReplay()
	records := pollUntil(t, task, "45 reads", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return len(state.reads) >= 45
	})
	reads := 0
	for i, r := range records {
		if r.Topic == customersTopic && sourceOp(r) == "r" {
			if reads++; reads == 45 {
				records = records[:i+1]
				break
			}
		}
	}
	committed := records[len(records)-1].SourceOffset
	assert.Equal(t, `["45"]`, committed[debezium.IncrementalPrimaryKeyKey])
	assert.Equal(t, `["300"]`, committed[debezium.IncrementalMaximumKeyKey])
	assert.Equal(t, "ad-hoc-3", committed[debezium.IncrementalCorrelationKey])
	assert.JSONEq(t, `[{"incremental_snapshot_collections_id": "public.customers",
		"incremental_snapshot_collections_additional_condition": null, "incremental_snapshot_collections_surrogate_key": null}]`,
		committed[debezium.IncrementalCollectionsKey].(string))
	tc.commit(t, task, records)
	require.NoError(t, task.Stop())

	task = startTask(t, tc, cfg)
	again := newReplay()
	pollUntil(t, task, "the rest of the snapshot", func(batch []*connect.Record) bool {
		again.apply(t, batch)
		return len(again.reads) >= 255
	})
	again.apply(t, pollFor(t, task, time.Second))
	want := make([]int32, 0, 255)
	for id := int32(46); id <= 300; id++ {
		want = append(want, id)
	}
	assert.Equal(t, want, again.reads, "the rows after the last committed one, once each")
}

// A blocking snapshot reads the tables as an initial snapshot does, then
// streaming goes on from the signal: a row inserted after the signal but
// before the snapshot read it arrives twice, read and then created.
func TestBlockingSnapshot(t *testing.T) {
	pg, cfg := signalShop(t)
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "b", "execute-snapshot", `{"data-collections": ["public.orders"], "type": "blocking", `+
		`"additional-conditions": [{"data-collection": "public.orders", "filter": "id > 10"}]}`)
	execApp(t, pg, "INSERT INTO orders VALUES (9000, 1, 1, 'after')")
	var got []*connect.Record
	pollUntil(t, task, "the snapshot and the insert after it", func(batch []*connect.Record) bool {
		for _, r := range batch {
			if r.Topic == "shop.public.orders" {
				got = append(got, r)
			}
		}
		return len(got) >= 42
	})
	require.Len(t, got, 42)
	for i, r := range got[:41] {
		want := map[int]string{0: "first", 40: "last"}[i]
		if want == "" {
			want = "true"
		}
		assert.Equal(t, "r", sourceOp(r))
		assert.Equal(t, want, sourceField(r, "snapshot"), "record %d", i)
		assert.NotContains(t, r.SourceOffset, "snapshot", "a restart does not take it for an initial snapshot")
	}
	assert.Equal(t, int64(11), field(t, got[0], "after", "id"), "the additional condition applies")
	assert.Equal(t, "shop.public.orders r 9000 after", event(t, got[40]))
	assert.Equal(t, "shop.public.orders c 9000 after", event(t, got[41]))
}

// Under insert_delete the open watermark is deleted after its chunk and
// no close row is written; every row still arrives.
func TestIncrementalSnapshotInsertDelete(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[WatermarkingStrategyConfig] = "insert_delete"
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "d", "execute-snapshot", `{"data-collections": ["public.customers"]}`)
	state := newReplay()
	pollUntil(t, task, "every row", func(batch []*connect.Record) bool {
		state.apply(t, batch)
		return len(state.reads) >= 300
	})
	assert.Len(t, state.rows, 300)
	var rows int
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT count(*) FROM debezium_signal WHERE type LIKE 'snapshot-window-%'").Scan(&rows))
	assert.Zero(t, rows, "open rows deleted, no close rows")
}

// A table without key is skipped with a warning, as Debezium skips it;
// the others are snapshotted.
func TestIncrementalSnapshotSkipsTableWithoutKey(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[TableIncludeListConfig] = "public.orders,public.audit"
	execApp(t, pg, "INSERT INTO audit (what) VALUES ('a'), ('b')")
	logs := captureLogs(t)
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "k", "execute-snapshot", `{"data-collections": ["public.audit", "public.orders", "public.nothing"]}`)
	var orders, audit int
	pollUntil(t, task, "the orders", func(batch []*connect.Record) bool {
		for _, r := range batch {
			switch r.Topic {
			case "shop.public.orders":
				orders++
			case "shop.public.audit":
				audit++
			}
		}
		return orders >= 50
	})
	pollFor(t, task, 500*time.Millisecond)
	assert.Equal(t, 50, orders)
	assert.Zero(t, audit)
	assert.Contains(t, logs.String(), "skips a table without primary key")
	assert.Contains(t, logs.String(), "skips a table that is not captured")
}

// message.key.columns gives a table without primary key the key its chunks
// are ordered by; a surrogate-key orders the chunks by another column.
func TestIncrementalSnapshotKeys(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[TableIncludeListConfig] = "public.orders,public.audit"
	cfg[MessageKeyColumnsConfig] = "public.audit:id"
	cfg[IncrementalChunkSizeConfig] = "7"
	execApp(t, pg, "INSERT INTO audit (what) SELECT 'w' || g FROM generate_series(1, 20) g")
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "a", "execute-snapshot", `{"data-collections": ["public.audit"]}`)
	sendSignal(t, pg, "o", "execute-snapshot", `{"data-collections": ["public.orders"], "surrogate-key": "note"}`)
	var audit, notes []string
	pollUntil(t, task, "both tables", func(batch []*connect.Record) bool {
		for _, r := range batch {
			switch {
			case r.Topic == "shop.public.audit" && r.Value != nil:
				audit = append(audit, field(t, r, "after", "what").(string))
			case r.Topic == "shop.public.orders" && r.Value != nil:
				notes = append(notes, field(t, r, "after", "note").(string))
			}
		}
		return len(notes) >= 50
	})
	assert.Len(t, audit, 20)
	assert.Equal(t, "w1", audit[0])
	assert.True(t, slices.IsSorted(notes), "chunks ordered by the surrogate key: %v", notes)
	assert.Len(t, notes, 50)
	assert.Equal(t, "o1", notes[0])
	assert.Equal(t, "o10", notes[1])
}

// captureLogs sends the default logger to a buffer for the test.
func captureLogs(t *testing.T) *testenv.SyncBuffer {
	buf := &testenv.SyncBuffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}

// The log signal logs its message; an unknown signal is ignored; both are
// change events of the signalling table, which is captured although the
// include list does not name it.
func TestLogAndUnknownSignals(t *testing.T) {
	pg, cfg := signalShop(t)
	logs := captureLogs(t)
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "l", "log", `{"message": "hello from the signalling table"}`)
	sendSignal(t, pg, "u", "no-such-signal", `{}`)
	records := pollUntil(t, task, "both signals", func(batch []*connect.Record) bool { return hasSignal(t, batch, "u") })
	assert.Equal(t, signalTopic, records[0].Topic)
	assert.Equal(t, "l", field(t, records[0], "after", "id"))
	assert.Equal(t, "c", sourceOp(records[0]))
	// A signal runs once its transaction's records were handed on: its
	// log line may follow the poll that returned them.
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "signal of an unknown type ignored") }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, logs.String(), "hello from the signalling table")
	var published int
	require.NoError(t, appConn(t, pg).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_publication_tables WHERE pubname = 'dbz_publication' AND tablename = 'debezium_signal'").Scan(&published))
	assert.Equal(t, 1, published, "the filtered publication includes the signalling table")
}

func TestSignalConfig(t *testing.T) {
	c, err := Config.Parse(minimal())
	require.NoError(t, err)
	s := debezium.ParseSignals(c)
	assert.Equal(t, debezium.SignalSettings{Source: true, ChunkSize: 1024}, s, "Debezium's defaults: source channel, chunks of 1024, insert_insert")

	cfg := minimal()
	cfg[SignalDataCollectionConfig] = "Public.Debezium_Signal"
	cfg[WatermarkingStrategyConfig] = "INSERT_DELETE"
	c, err = Config.Parse(cfg)
	require.NoError(t, err)
	s = debezium.ParseSignals(c)
	assert.True(t, s.DeleteClose)
	assert.True(t, s.IsSignalTable(debezium.TableID{Schema: "public", Name: "debezium_signal"}))
	f := debezium.Filter{TableInclude: debezium.CompileList([]string{"public.orders"}), Signal: s.Table}
	assert.True(t, f.Captures(debezium.TableID{Schema: "public", Name: "debezium_signal"}), "the signalling table is always captured")
	assert.False(t, f.Captures(debezium.TableID{Schema: "public", Name: "other"}))

	for key, bad := range map[string]string{
		SignalEnabledChannelsConfig: "source,jmx",
		SignalDataCollectionConfig:  "debezium_signal",
		WatermarkingStrategyConfig:  "insert_update",
		IncrementalChunkSizeConfig:  "0",
	} {
		cfg := minimal()
		cfg[key] = bad
		err := parse(cfg)
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), key)
	}
	cfg = minimal()
	cfg[SignalEnabledChannelsConfig] = "source,file"
	assert.ErrorContains(t, parse(cfg), `The "file" signal channel is not supported`)
}

// With creates skipped, the signal insert still triggers the snapshot;
// only the events are left out (the reads are emitted, the signal row and
// the watermark rows are not).
func TestSignalsWorkWhenCreatesAreSkipped(t *testing.T) {
	pg, cfg := signalShop(t)
	cfg[SkippedOperationsConfig] = "c,t"
	task := startTask(t, &taskContext{}, cfg)
	sendSignal(t, pg, "s", "execute-snapshot", `{"data-collections": ["public.orders"]}`)
	var got []*connect.Record
	pollUntil(t, task, "the orders", func(batch []*connect.Record) bool {
		got = append(got, batch...)
		return len(got) >= 50
	})
	for _, r := range got {
		assert.Equal(t, "shop.public.orders", r.Topic)
		op, _ := r.Value.(*connect.Struct).Get("op")
		assert.Equal(t, "r", op)
	}
	assert.Empty(t, pollFor(t, task, time.Second), "no create events")
}
