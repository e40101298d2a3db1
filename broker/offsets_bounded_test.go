package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
)

// TestConsumerOffsetsStayBounded commits the same partitions over and over:
// compaction keeps __consumer_offsets to about the latest commit per key
// plus the active segment, and the committed offsets survive it and a
// restart.
func TestConsumerOffsetsStayBounded(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{
		"offsets.topic.num.partitions": "1",
		"log.cleaner.backoff.ms":       "50",
	})
	createTopic(t, b.Addr, "work", 4, nil)
	adm := kadm.NewClient(newClient(t, b.Addr))
	ctx := context.Background()
	// Small segments, so the cleaner has sealed ones to compact: the
	// coordinator creates __consumer_offsets on the first FindCoordinator.
	require.NoError(t, adm.FindGroupCoordinators(ctx, "steady").Error())
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "internal.segment.bytes", Value: kadm.StringPtr("16384")}}, "__consumer_offsets")
	require.NoError(t, err)
	require.NoError(t, alter[0].Err)
	const commits = 3000
	for i := range commits {
		offs := kadm.Offsets{}
		for p := range int32(4) {
			offs.Add(kadm.Offset{Topic: "work", Partition: p, At: int64(i)})
		}
		resp, err := adm.CommitOffsets(ctx, "steady", offs)
		require.NoError(t, err)
		require.NoError(t, resp.Error())
	}
	dir := filepath.Join(b.Dir, "__consumer_offsets-0")
	size := func() int64 {
		var total int64
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range ents {
			if filepath.Ext(e.Name()) == ".log" {
				info, err := e.Info()
				require.NoError(t, err)
				total += info.Size()
			}
		}
		return total
	}
	// 12k commit records of ~100 bytes each would be over 1 MB uncompacted.
	require.Eventually(t, func() bool { return size() < 64<<10 }, 20*time.Second, 100*time.Millisecond,
		"__consumer_offsets is %d bytes after %d commits", size(), commits*4)

	b.Restart(t)
	fetched, err := kadm.NewClient(newClient(t, b.Addr)).FetchOffsets(ctx, "steady")
	require.NoError(t, err)
	for p := range int32(4) {
		o, ok := fetched.Lookup("work", p)
		require.True(t, ok)
		assert.Equal(t, int64(commits-1), o.At, "partition %d", p)
	}
}
