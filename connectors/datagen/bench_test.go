package datagen

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/internal/connecttest"
)

// BenchmarkPoll measures generation alone: records per second and value
// payload bytes per second for each quickstart, one task, no pacing.
func BenchmarkPoll(b *testing.B) {
	for _, qs := range quickstartNames() {
		b.Run(qs, func(b *testing.B) {
			const batch = 1000
			tk := &task{}
			cfg := map[string]string{TopicConfig: "t", QuickstartConfig: qs, MaxIntervalConfig: "0",
				RandomSeedConfig: "1", BatchSizeConfig: "1000", MessageSizeConfig: "1024"}
			if err := tk.Start(&connecttest.SourceContext{}, cfg); err != nil {
				b.Fatal(err)
			}
			if qs == "bench" {
				b.SetBytes(batch * 1024)
			}
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				recs, err := tk.Poll(ctx)
				if err != nil || len(recs) != batch {
					b.Fatalf("poll: %d records, %v", len(recs), err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
