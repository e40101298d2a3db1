package postgres_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/bench"
	"github.com/sluicehq/sluice/internal/testenv"
)

// BenchmarkCDCToBroker measures the connector end to end, as `sluice bench
// cdc` does: a 100k-row snapshot into a Sluice broker, then streaming one
// update of every row (1000 rows per transaction), through a worker with
// JsonConverter (schemas.enable false and true, the latter also with lz4
// compression) and acks=all.
func BenchmarkCDCToBroker(b *testing.B) {
	pg := testenv.StartPostgres(b)
	br := testenv.StartBroker(b, nil)
	for _, run := range []struct{ converter, compression string }{{"json", ""}, {"json-schemas", ""}, {"json-schemas", "lz4"}} {
		name := "converter=" + run.converter
		if run.compression != "" {
			name += "/compression=" + run.compression
		}
		b.Run(name, func(b *testing.B) { benchCDC(b, pg, br, run.converter, run.compression) })
	}
}

func benchCDC(b *testing.B, pg *testenv.Postgres, br *testenv.Broker, converter, compression string) {
	var snapshot, stream time.Duration
	rows := 0
	b.ResetTimer()
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		r, err := bench.CDC(ctx, bench.CDCOptions{Brokers: []string{br.Addr}, DSN: pg.DSN("postgres"), Rows: 100_000, TxRows: 1000, Converter: converter, Compression: compression}, io.Discard)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		snapshot += r.Snapshot
		stream += r.Stream
		rows += r.Rows
	}
	b.ReportMetric(float64(rows)/snapshot.Seconds(), "snapshot-rows/s")
	b.ReportMetric(float64(rows)/stream.Seconds(), "stream-events/s")
}
