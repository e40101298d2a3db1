package storage

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// offsetBatch is what a source task commits for 1000 partitions.
func offsetBatch(round int) []OffsetEntry {
	entries := make([]OffsetEntry, 1000)
	for i := range entries {
		entries[i] = OffsetEntry{
			Partition: map[string]any{"table": "public.t" + strconv.Itoa(i), "db": "app"},
			Offset:    map[string]any{"lsn": int64(round*1000 + i), "snapshot": false},
		}
	}
	return entries
}

func BenchmarkOffsetSet1000(b *testing.B) {
	for _, br := range testBrokers {
		b.Run("kafka-"+br.name, func(b *testing.B) {
			s, err := NewKafkaOffsetStore(topicOpts(br.start(b), offsetTopic))
			require.NoError(b, err)
			startStore(b, s, true)
			benchOffsetSet(b, s)
		})
	}
	b.Run("file", func(b *testing.B) {
		s, err := NewFileOffsetStore(filepath.Join(b.TempDir(), "offsets"), nil)
		require.NoError(b, err)
		startStore(b, s, false)
		benchOffsetSet(b, s)
	})
}

func benchOffsetSet(b *testing.B, s OffsetStore) {
	ctx := context.Background()
	batches := [2][]OffsetEntry{offsetBatch(0), offsetBatch(1)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, "bench", batches[i%2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "offsets/s")
}

func BenchmarkStatusPutTask(b *testing.B) {
	for _, br := range testBrokers {
		b.Run(br.name, func(b *testing.B) {
			s, err := NewStatusStore(StatusStoreOptions{TopicOptions: topicOpts(br.start(b), statusTopic)})
			require.NoError(b, err)
			startStore(b, s, true)
			states := [2]Status{{State: "RUNNING", WorkerID: "w1", Generation: 1}, {State: "PAUSED", WorkerID: "w1", Generation: 1}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				s.PutTask("bench", i%64, states[i%2])
			}
			if err := s.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
