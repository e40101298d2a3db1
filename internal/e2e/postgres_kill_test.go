package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// cdcTable is one captured table as the test's writer knows it: its live
// rows (id → version) and, in commit order, the change events the
// connector must deliver for it ("c:id:version", "u:id:version", "d:id").
type cdcTable struct {
	name   string
	live   map[int]int
	ids    []int // live ids, for picking one at random
	nextID int
	events []string
}

func (tb *cdcTable) randomID(rng *rand.Rand) (int, bool) {
	if len(tb.ids) == 0 {
		return 0, false
	}
	return tb.ids[rng.IntN(len(tb.ids))], true
}

func (tb *cdcTable) forget(id int) {
	delete(tb.live, id)
	i := slices.Index(tb.ids, id)
	tb.ids[i] = tb.ids[len(tb.ids)-1]
	tb.ids = tb.ids[:len(tb.ids)-1]
}

// cdcChange is one statement of a transaction and what it will have done
// once committed.
type cdcChange struct {
	table *cdcTable
	sql   string
	args  []any
	apply func()
	event string
}

// randomChange picks an insert, update or delete on tb; a row touched by
// an earlier statement of the same transaction is left alone.
func randomChange(rng *rand.Rand, tb *cdcTable, busy map[string]bool) cdcChange {
	id, ok := tb.randomID(rng)
	key := tb.name + ":" + strconv.Itoa(id)
	op := rng.IntN(10)
	if !ok || busy[key] || op < 4 {
		id := tb.nextID
		tb.nextID++
		return cdcChange{table: tb, sql: "INSERT INTO " + tb.name + " (id, body, version) VALUES ($1, $2, 0)",
			args: []any{id, fmt.Sprintf("%s %d", tb.name, id)}, event: fmt.Sprintf("c:%d:0", id),
			apply: func() { tb.live[id] = 0; tb.ids = append(tb.ids, id) }}
	}
	busy[key] = true
	if op < 8 {
		v := tb.live[id] + 1
		return cdcChange{table: tb, sql: "UPDATE " + tb.name + " SET version = $2, body = $3 WHERE id = $1",
			args: []any{id, v, fmt.Sprintf("%s %d v%d", tb.name, id, v)}, event: fmt.Sprintf("u:%d:%d", id, v),
			apply: func() { tb.live[id] = v }}
	}
	return cdcChange{table: tb, sql: "DELETE FROM " + tb.name + " WHERE id = $1", args: []any{id},
		event: fmt.Sprintf("d:%d", id), apply: func() { tb.forget(id) }}
}

// cdcWriter commits transactions of one to three random changes across
// the tables, one at a time, so commit order is the order it records.
type cdcWriter struct {
	tables    []*cdcTable
	committed atomic.Int64
}

func (w *cdcWriter) run(ctx context.Context, conn *pgx.Conn, rng *rand.Rand, txns int, pause time.Duration) error {
	for n := range txns {
		busy := map[string]bool{}
		size := 1 + rng.IntN(3)
		if n == txns*2/3 {
			size = 3000 // one transaction larger than a poll batch
		}
		changes := make([]cdcChange, size)
		for i := range changes {
			changes[i] = randomChange(rng, w.tables[rng.IntN(len(w.tables))], busy)
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if _, err := tx.Exec(ctx, c.sql, c.args...); err != nil {
				return fmt.Errorf("%s %v: %w", c.sql, c.args, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		for _, c := range changes {
			c.apply()
			c.table.events = append(c.table.events, c.event)
		}
		w.committed.Add(1)
		time.Sleep(pause)
	}
	return nil
}

// cdcSeen is what the topics held: per table, every event in topic order.
type cdcSeen struct {
	mu     sync.Mutex
	events map[string][]string
}

// record parses a Debezium change event (schemas.enable=false) into the
// writer's notation; snapshot reads are "r:id:version".
func (s *cdcSeen) record(t *testing.T, r *kgo.Record) {
	if r.Value == nil {
		return // tombstone
	}
	var ev struct {
		Op            string
		Before, After *struct{ ID, Version int }
		Source        struct{ Table string }
	}
	require.NoError(t, json.Unmarshal(r.Value, &ev), "%s", r.Value)
	var id string
	switch ev.Op {
	case "d":
		id = fmt.Sprintf("d:%d", ev.Before.ID)
	default:
		id = fmt.Sprintf("%s:%d:%d", ev.Op, ev.After.ID, ev.After.Version)
	}
	s.mu.Lock()
	s.events[ev.Source.Table] = append(s.events[ev.Source.Table], id)
	s.mu.Unlock()
}

// TestPostgresCDCSurvivesWorkerKill snapshots 100k rows, streams random
// inserts, updates and deletes across three tables while the worker is
// killed with SIGKILL and restarted, and checks each table's topic: every
// snapshot row and every committed change is there, changes first appear
// in commit order, and the duplicates the restart replayed are reported.
// With exactly-once source support, read read_committed, there are none;
// nor are there after a graceful restart (SIGTERM), which commits the
// offsets of everything delivered.
func TestPostgresCDCSurvivesWorkerKill(t *testing.T) {
	t.Run("at-least-once", func(t *testing.T) { cdcKillScenario(t, false, false) })
	t.Run("exactly-once", func(t *testing.T) { cdcKillScenario(t, true, false) })
	t.Run("graceful-restart", func(t *testing.T) { cdcKillScenario(t, false, true) })
}

func cdcKillScenario(t *testing.T, exactlyOnce, graceful bool) {
	const snapshotRows, txns = 100_000, 3000
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))

	pg := testenv.StartPostgres(t)
	tables := []*cdcTable{
		{name: "customers", live: map[int]int{}, nextID: snapshotRows + 1},
		{name: "orders", live: map[int]int{}, nextID: 5001},
		{name: "notes", live: map[int]int{}, nextID: 1}, // empty at snapshot time
	}
	for _, tb := range tables {
		pg.Exec(t, "CREATE TABLE "+tb.name+" (id int PRIMARY KEY, body text NOT NULL, version int NOT NULL)")
	}
	pg.Exec(t,
		fmt.Sprintf("INSERT INTO customers SELECT g, 'customer ' || g, 0 FROM generate_series(1, %d) g", snapshotRows),
		"INSERT INTO orders SELECT g, 'order ' || g, 0 FROM generate_series(1, 5000) g")
	initial := map[string][]string{}
	for _, tb := range tables[:2] {
		for id := 1; id < tb.nextID; id++ {
			tb.live[id] = 0
			tb.ids = append(tb.ids, id)
			initial[tb.name] = append(initial[tb.name], fmt.Sprintf("r:%d:0", id))
		}
	}

	dir, addr := t.TempDir(), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), addr, "group.min.session.timeout.ms=1000")
	var extra []string
	if exactlyOnce {
		extra = append(extra, "exactly.once.source.support=enabled")
	}
	w := newClusterWorker(t, dir, "w1", addr, extra...)
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", w.base()+"/connectors", map[string]any{"name": "inventory", "config": map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": strconv.Itoa(pg.Port),
		"database.user": "postgres", "database.password": "unused", "database.dbname": "postgres",
		"topic.prefix": "dbserver1", "table.include.list": "public.customers,public.orders,public.notes",
		"publication.autocreate.mode": "filtered", "slot.name": "inventory",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}}, &resp), "%v", resp)

	// Changes start once the slot exists: from then on every commit is
	// streamed, while the snapshot still reads the rows as they were.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	require.Eventually(t, func() bool {
		var n int
		return conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'inventory'").Scan(&n) == nil && n == 1
	}, 60*time.Second, 20*time.Millisecond)
	writer := &cdcWriter{tables: tables}
	writeErr := make(chan error, 1)
	go func() { writeErr <- writer.run(ctx, conn, rng, txns, 3*time.Millisecond) }()

	// SIGKILL the worker once the snapshot is in the broker and streaming
	// is under way, and start it again while the writer goes on.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topic := func(tb *cdcTable) string { return "dbserver1.public." + tb.name }
	require.Eventually(t, func() bool {
		ends, err := adm.ListEndOffsets(ctx, topic(tables[0]), topic(tables[2]))
		if err != nil {
			return false
		}
		c, _ := ends.Lookup(topic(tables[0]), 0)
		n, _ := ends.Lookup(topic(tables[2]), 0)
		return c.Offset > snapshotRows && n.Offset > 20
	}, 2*time.Minute, 20*time.Millisecond, "snapshot delivered and changes streaming")
	t.Logf("stopping the worker after %d of %d transactions (graceful: %v)", writer.committed.Load(), txns, graceful)
	if graceful {
		w.p.terminate(t, 30*time.Second)
	} else {
		w.p.kill()
	}
	time.Sleep(500 * time.Millisecond)
	w.start(t)
	require.NoError(t, <-writeErr)
	t.Logf("writer done: %d transactions", writer.committed.Load())

	// Read the topics until every expected event is there.
	seen := &cdcSeen{events: map[string][]string{}}
	isolation := kgo.ReadUncommitted()
	if exactlyOnce {
		isolation = kgo.ReadCommitted()
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(isolation),
		kgo.ConsumeTopics(topic(tables[0]), topic(tables[1]), topic(tables[2])), kgo.MetadataMinAge(250*time.Millisecond))
	require.NoError(t, err)
	defer consumer.Close()
	complete := func() bool {
		seen.mu.Lock()
		defer seen.mu.Unlock()
		for _, tb := range tables {
			got := map[string]bool{}
			for _, e := range seen.events[tb.name] {
				got[e] = true
			}
			for _, e := range append(slices.Clone(initial[tb.name]), tb.events...) {
				if !got[e] {
					return false
				}
			}
		}
		return true
	}
	for !complete() && ctx.Err() == nil {
		consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) { seen.record(t, r) })
	}
	require.NoError(t, ctx.Err(), "not every change arrived")

	// Each table: the snapshot rows, then the changes in commit order; a
	// replay after the restart repeats events already delivered.
	for _, tb := range tables {
		var firsts, reads []string
		got := map[string]int{}
		for _, e := range seen.events[tb.name] {
			got[e]++
			if got[e] > 1 {
				continue
			}
			if e[0] == 'r' {
				require.Empty(t, firsts, "table %s: snapshot read %s after streamed changes", tb.name, e)
				reads = append(reads, e)
			} else {
				firsts = append(firsts, e)
			}
		}
		assert.ElementsMatch(t, initial[tb.name], reads, "table %s: snapshot rows", tb.name)
		assert.Equal(t, tb.events, firsts, "table %s: changes in commit order, each once at first", tb.name)
		dups := len(seen.events[tb.name]) - len(got)
		t.Logf("table %s: %d snapshot rows, %d changes, %d events in the topic, %d duplicates",
			tb.name, len(reads), len(firsts), len(seen.events[tb.name]), dups)
		if exactlyOnce || graceful {
			assert.Zero(t, dups, "table %s: exactly once", tb.name)
		}
	}

	// After the restart the slot confirms what the worker committed.
	require.Eventually(t, func() bool {
		var lag int64
		err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'inventory'").Scan(&lag)
		return err == nil && lag < 1<<20
	}, 30*time.Second, 100*time.Millisecond, "confirmed_flush_lsn catches up")
}
