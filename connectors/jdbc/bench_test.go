package jdbc

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// benchRow is a 10-column row: an int64 key and nine values.
var benchRow = func() *connect.Schema {
	b := connect.StructBuilder().Name("bench.Value").Field("id", connect.Int64Schema)
	for i := range 3 {
		b.Field(fmt.Sprintf("s%d", i), connect.OptionalStringSchema)
		b.Field(fmt.Sprintf("n%d", i), connect.OptionalInt64Schema)
		b.Field(fmt.Sprintf("f%d", i), connect.OptionalFloat64Schema)
	}
	return b.Build()
}()

const benchBatch = 1000

// benchRows is how many rows a run of n writes: whole batches.
func benchRows(n int) int { return (n + benchBatch - 1) / benchBatch * benchBatch }

func benchRecords(from int) []*connect.Record {
	out := make([]*connect.Record, benchBatch)
	for i := range out {
		id := int64((from + i) % 50000) // upserts: ids repeat across batches
		v := connect.NewStruct(benchRow).MustPut("id", id)
		for c := range 3 {
			v.MustPut(fmt.Sprintf("s%d", c), fmt.Sprintf("value-%d-%d", id, c)).
				MustPut(fmt.Sprintf("n%d", c), id*int64(c)).MustPut(fmt.Sprintf("f%d", c), float64(id)/3)
		}
		out[i] = &connect.Record{Topic: "bench", Offset: int64(from + i), ValueSchema: benchRow, Value: v}
	}
	return out
}

// BenchmarkUpsert measures upserts of 10-column rows in batches of 1,000
// through the sink (one task), and the same statements issued directly
// with the same driver (the database's own limit). Reports rows/s.
func BenchmarkUpsert(b *testing.B) {
	for _, d := range sinkDatabases {
		b.Run(d.name, func(b *testing.B) {
			db := d.start(b)
			b.Run("sink", func(b *testing.B) {
				cfg := db.withUser(map[string]string{"connector.class": ConfluentClass, "connection.url": db.url,
					"insert.mode": "upsert", "pk.mode": "record_value", "pk.fields": "id", "auto.create": "true",
					"table.name.format": "bench_sink", "batch.size": fmt.Sprint(benchBatch)})
				task := newSinkTask()
				require.NoError(b, task.Start(connecttest.NewSinkContext(b, cfg), cfg))
				defer task.Stop()
				batches := make([][]*connect.Record, 0, 8)
				for i := range 8 {
					batches = append(batches, benchRecords(i*benchBatch))
				}
				ctx := context.Background()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i += benchBatch {
					require.NoError(b, task.Put(ctx, batches[(i/benchBatch)%len(batches)]))
				}
				_, err := task.Flush(ctx, nil)
				require.NoError(b, err)
				b.ReportMetric(float64(benchRows(b.N))/time.Since(start).Seconds(), "rows/s")
			})
			b.Run("direct", func(b *testing.B) {
				d := db.dialect
				cols := make([]column, len(benchRow.Fields))
				for i, f := range benchRow.Fields {
					cols[i] = column{Name: f.Name, Schema: f.Schema, Key: f.Name == "id"}
				}
				create, err := d.createTableSQL("bench_direct", cols, true)
				require.NoError(b, err)
				db.exec(b, strings.Replace(create, "CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
				stmt := d.insertSQL("bench_direct", cols, benchBatch, true, true)
				args := make([][]any, 8)
				for i := range args {
					for _, r := range benchRecords(i * benchBatch) {
						st := r.Value.(*connect.Struct)
						for _, f := range benchRow.Fields {
							args[i] = append(args[i], st.GetField(&f))
						}
					}
				}
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i += benchBatch {
					tx, err := db.db.Begin()
					require.NoError(b, err)
					_, err = tx.Exec(stmt, args[(i/benchBatch)%len(args)]...)
					require.NoError(b, err)
					require.NoError(b, tx.Commit())
				}
				b.ReportMetric(float64(benchRows(b.N))/time.Since(start).Seconds(), "rows/s")
			})
		})
	}
}
