package postgres

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// benchPoll polls until n records arrived.
func benchPoll(b *testing.B, task *sourceTask, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for got := 0; got < n; {
		batch, err := task.Poll(ctx)
		if err != nil || ctx.Err() != nil {
			b.Fatalf("poll after %d of %d records: %v %v", got, n, err, ctx.Err())
		}
		got += len(batch)
	}
}

func benchServer(b *testing.B, rows int) (*testenv.Postgres, map[string]string) {
	pg := testenv.StartPostgres(b)
	pg.Exec(b, "CREATE DATABASE app")
	conn, err := pgx.Connect(context.Background(), pg.DSN("app"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, stmt := range []string{
		"CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email varchar(80), balance numeric(12,2), created timestamptz)",
		fmt.Sprintf("INSERT INTO customers SELECT g, 'c' || g, 'c' || g || '@x.io', g * 0.01, now() FROM generate_series(1, %d) g", rows),
	} {
		if _, err := conn.Exec(context.Background(), stmt); err != nil {
			b.Fatal(err)
		}
	}
	return pg, map[string]string{
		HostnameConfig: pg.Host, PortConfig: strconv.Itoa(pg.Port), UserConfig: "postgres", DBNameConfig: "app",
		SSLModeConfig: "disable", TopicPrefixConfig: "shop", PublicationAutocreateModeConfig: "filtered",
		TableIncludeListConfig: "public.customers", SlotDropOnStopConfig: "true",
	}
}

// BenchmarkSnapshot measures snapshot rows/s of a five-column table.
func BenchmarkSnapshot(b *testing.B) {
	const rows = 100_000
	_, cfg := benchServer(b, rows)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		task := Plugin.NewSourceTask().(*sourceTask)
		if err := task.Start(&taskContext{}, cfg); err != nil {
			b.Fatal(err)
		}
		benchPoll(b, task, rows)
		if err := task.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkStream measures streamed events/s: one transaction updating
// every row, decoded from the slot.
func BenchmarkStream(b *testing.B) {
	const rows = 100_000
	pg, cfg := benchServer(b, rows)
	cfg[SnapshotModeConfig] = "no_data"
	conn, err := pgx.Connect(context.Background(), pg.DSN("app"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	task := Plugin.NewSourceTask().(*sourceTask)
	if err := task.Start(&taskContext{}, cfg); err != nil {
		b.Fatal(err)
	}
	defer task.Stop()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := conn.Exec(context.Background(), "UPDATE customers SET balance = balance + 1"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		benchPoll(b, task, rows)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "events/s")
}

var _ connect.SourceTask = (*sourceTask)(nil)
