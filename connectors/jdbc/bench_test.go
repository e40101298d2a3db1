package jdbc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchBatch is the rows of one Put and of one direct statement.
const benchBatch = 1000

// BenchmarkUpsert measures upserts of 10-column rows in batches of 1,000
// through the sink (one task), and the same upserts issued directly with
// the same driver (the database's own limit), with the code of `sluice
// bench jdbc` ([Bench]). Reports rows/s; ops are rows.
func BenchmarkUpsert(b *testing.B) {
	for _, d := range sinkDatabases {
		b.Run(d.name, func(b *testing.B) {
			db := d.start(b)
			t, err := parseURL(db.url, db.user, db.pass)
			require.NoError(b, err)
			rows := newBenchRows(50*benchBatch, benchBatch)
			ctx := context.Background()
			direct, err := startBenchDirect(ctx, t, benchBatch)
			require.NoError(b, err)
			defer direct.close()
			sink, err := startBenchSink(BenchSinkConfig(db.url, db.user, db.pass, benchBatch))
			require.NoError(b, err)
			defer sink.close()
			for _, side := range []struct {
				name string
				put  func(context.Context, *benchRows, int, int) error
			}{{"sink", sink.put}, {"direct", direct.put}} {
				b.Run(side.name, func(b *testing.B) {
					require.NoError(b, side.put(ctx, rows, 0, 1)) // create, prepare
					batches := (b.N + benchBatch - 1) / benchBatch
					b.ResetTimer()
					start := time.Now()
					require.NoError(b, side.put(ctx, rows, 0, batches))
					b.ReportMetric(float64(batches*benchBatch)/time.Since(start).Seconds(), "rows/s")
				})
			}
		})
	}
}

// TestBench runs [Bench] small on each database: both tables end with
// every key's row (Bench checks them itself after each run), and the
// rates are positive.
func TestBench(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		r, err := Bench(context.Background(), BenchOptions{URL: db.url, User: db.user, Password: db.pass,
			Rows: 3000, Batch: 500, Keys: 2000, Runs: 2})
		require.NoError(t, err)
		require.Len(t, r.Sink, 2)
		require.Len(t, r.Direct, 2)
		require.Positive(t, r.SinkRowsPerSec())
		require.Positive(t, r.DirectRowsPerSec())
		require.NoError(t, benchCheck(context.Background(), db.db, BenchSinkTable, 2000))
		require.NoError(t, benchCheck(context.Background(), db.db, BenchDirectTable, 2000))
		var s0 string
		require.NoError(t, db.db.QueryRow("SELECT s0 FROM "+BenchSinkTable+" WHERE id = 1999").Scan(&s0))
		require.Equal(t, "value-1999-0", s0)
	})
}

// TestBenchCheckCatchesMissingRows: the check Bench makes after each run
// fails when a row is missing or wrong.
func TestBenchCheckCatchesMissingRows(t *testing.T) {
	eachDatabase(t, func(t *testing.T, db *sinkDB) {
		r, err := Bench(context.Background(), BenchOptions{URL: db.url, User: db.user, Password: db.pass,
			Rows: 1000, Batch: 1000, Runs: 1})
		require.NoError(t, err)
		require.Equal(t, 1000, r.Keys)
		db.exec(t, "UPDATE "+BenchSinkTable+" SET n2 = 0 WHERE id = 7")
		require.ErrorContains(t, benchCheck(context.Background(), db.db, BenchSinkTable, 1000), "table bench_sink holds")
		db.exec(t, "DELETE FROM "+BenchDirectTable+" WHERE id = 7")
		require.ErrorContains(t, benchCheck(context.Background(), db.db, BenchDirectTable, 1000), "table bench_direct holds")
	})
}

func TestBenchOptionsValidate(t *testing.T) {
	err := BenchOptions{URL: "jdbc:oracle://h/db", Rows: 1500, Batch: 1000, Runs: 1}.Validate()
	require.ErrorContains(t, err, `unsupported JDBC subprotocol "oracle"`)
	require.ErrorContains(t, err, "rows (1500) must be a multiple of batch (1000)")
	err = BenchOptions{URL: "jdbc:postgresql://h/db", Rows: 10000, Batch: 1000, Keys: 500, Runs: 1}.Validate()
	require.ErrorContains(t, err, "keys (500) must be at least batch (1000)")
	err = BenchOptions{URL: "jdbc:postgresql://h/db", Rows: 10000, Batch: 10000, Runs: 1}.Validate()
	require.ErrorContains(t, err, "pass the 65535 placeholders")
}
