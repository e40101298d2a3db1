package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestUpTenThousandPartitionsUnderFdLimit runs `sluice up` under a
// 20,000-file limit with a topic of 10,000 partitions of four segments
// each (120,000 files on disk): it must create, serve, restart cleanly and
// after a kill -9, and stop cleanly, without running out of descriptors.
func TestUpTenThousandPartitionsUnderFdLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("produces 40,000 records to 10,000 partitions")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_SERVERS") == "1" {
			t.Fatal("prlimit (util-linux) is needed to run sluice under an fd limit")
		}
		t.Skip("prlimit (util-linux) not found")
	}
	const (
		partitions = 10_000
		segments   = 4
		fdLimit    = 20_000
	)
	dir, addr, restAddr, regAddr := t.TempDir(), freeAddr(t), freeAddr(t), freeAddr(t)
	out := &procLog{}
	dumpOnFailure(t, "sluice up", out)
	start := func() *proc {
		cmd := exec.Command(prlimit, fmt.Sprintf("--nofile=%d:%d", fdLimit, fdLimit), "--", sluiceBin,
			"up", "--data-dir", dir, "--broker-addr", addr, "--rest-addr", restAddr, "--registry-addr", regAddr)
		return startCmdUntil(t, out, workerReady, cmd)
	}
	p := start()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(partitions))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// Each batch holds one 600-byte record, so with 1 KiB segments every
	// batch rolls a new segment.
	segBytes := "1024"
	created, err := adm.CreateTopic(ctx, partitions, 1, map[string]*string{"internal.segment.bytes": &segBytes}, "wide")
	require.NoError(t, err)
	require.NoError(t, created.Err)

	value := make([]byte, 600)
	round := func(n int) {
		t.Helper()
		recs := make([]*kgo.Record, 0, partitions)
		for i := range partitions {
			recs = append(recs, &kgo.Record{Topic: "wide", Partition: int32(i), Key: []byte(strconv.Itoa(n)), Value: value})
		}
		require.NoError(t, cl.ProduceSync(ctx, recs...).FirstErr(), "produce round %d", n)
	}
	for n := range segments {
		round(n)
	}
	consumeWide(ctx, t, addr, partitions*segments)
	t.Logf("%d partitions of %d segments: the process holds %d file descriptors", partitions, segments, openFDs(t, p))

	p.terminate(t, 60*time.Second)
	p = start()
	consumeWide(ctx, t, addr, partitions*segments)
	round(segments)

	p.kill()
	p = start()
	consumeWide(ctx, t, addr, partitions*(segments+1))
	t.Logf("after a kill -9 and recovery: %d file descriptors", openFDs(t, p))
	p.terminate(t, 60*time.Second)
}

// consumeWide reads topic "wide" from the start until want records arrived.
func consumeWide(ctx context.Context, t *testing.T, addr string, want int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("wide"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(8<<20))
	require.NoError(t, err)
	defer cl.Close()
	got := 0
	for got < want {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d records", got, want)
		for _, fe := range fs.Errors() {
			t.Fatalf("fetch %s/%d: %v", fe.Topic, fe.Partition, fe.Err)
		}
		got += fs.NumRecords()
	}
	require.Equal(t, want, got)
}

// openFDs counts the file descriptors the process holds.
func openFDs(t *testing.T, p *proc) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
	require.NoError(t, err)
	return len(entries)
}
