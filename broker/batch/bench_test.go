package batch

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchRecords returns 16 records of 1 KiB values of word-like text, which
// compresses about as well as typical JSON: a 16 KiB batch.
func benchRecords() []Record {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("order customer item price quantity status shipped pending " +
		"warehouse region north south east west created updated id sku total")
	recs := make([]Record, 16)
	for i := range recs {
		var v strings.Builder
		for v.Len() < 1024 {
			fmt.Fprintf(&v, `"%s":%d,`, words[rng.IntN(len(words))], rng.IntN(100000))
		}
		recs[i] = Record{
			Timestamp: 1_700_000_000_000 + int64(i),
			Key:       fmt.Appendf(nil, "key-%d", rng.IntN(1000)),
			Value:     []byte(v.String()[:1024]),
			Headers:   []RecordHeader{{Key: "trace-id", Value: []byte("0af7651916cd43dd8448eb211c80319c")}},
		}
	}
	return recs
}

// BenchmarkValidate measures Validate on 16 KiB batches of 1 KiB records.
// SetBytes counts the batch as sent (compressed); "raw-MB/s" counts the
// record bytes walked.
func BenchmarkValidate(b *testing.B) {
	recs := benchRecords()
	raw, err := Encode(noProducer(CodecNone), recs)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range allCodecs {
		b.Run(c.String(), func(b *testing.B) {
			batch := encode(b, noProducer(c), recs)
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Validate(batch, 1<<20, true); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw))*float64(b.N)/b.Elapsed().Seconds()/1e6, "raw-MB/s")
			b.ReportMetric(float64(len(batch)), "batch-bytes")
		})
	}
}
