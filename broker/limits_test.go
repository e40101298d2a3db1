package broker_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestIdleConnectionsAreClosed(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"connections.max.idle.ms": "300"})
	createTopic(t, b.Addr, "lp", 1, nil)

	start := time.Now()
	dialRaw(t, b.Addr).expectClosed()
	assert.Less(t, time.Since(start), 5*time.Second)

	// A long-poll fetch waiting longer than the idle timeout is activity.
	c := dialRaw(t, b.Addr)
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 1500, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "lp"
	rt.Partitions = []kmsg.FetchRequestTopicPartition{fetchPartition("lp", 0, 0, 1<<20)}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	start = time.Now()
	resp := c.roundTrip(req).(*kmsg.FetchResponse)
	assert.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "the fetch long-polled")

	// So is a request now and then.
	for range 6 {
		av := kmsg.NewPtrApiVersionsRequest()
		c.roundTrip(av)
		time.Sleep(100 * time.Millisecond) // pacing, below the idle timeout
	}
	c.expectClosed()
}

// heapLive returns the live heap after a collection.
func heapLive() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// staysBelow polls the live heap for a while and fails as soon as it grows
// past limit bytes above base.
func staysBelow(t *testing.T, base, limit uint64, what string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		// One reading: two could differ, and the difference underflow.
		live := heapLive()
		if grown := live - min(base, live); grown > limit {
			t.Fatalf("%s: live heap grew by %d MiB, want at most %d MiB", what, grown>>20, limit>>20)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestDeclaredButUnsentBodiesCostLittle(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"connections.max.idle.ms": "1000"})
	base := heapLive()
	for range 8 {
		nc, err := net.Dial("tcp", b.Addr)
		require.NoError(t, err)
		t.Cleanup(func() { nc.Close() })
		// A produce request declaring 100 MB that sends ten bytes of it.
		frame := binary.BigEndian.AppendUint32(nil, 100_000_000)
		frame = append(frame, 0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff)
		_, err = nc.Write(frame)
		require.NoError(t, err)
	}
	staysBelow(t, base, 32<<20, "8 requests declaring 100 MB each")
	// The pool they hold is given back when the idle timeout closes them.
	stillServes(t, b.Addr)
}

func TestPipelinedFetchesHoldOneResponse(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "pipe", 1, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic("pipe"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	for range 8 {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Value: make([]byte, 900_000)}).FirstErr())
	}
	cl.Close()
	base := heapLive()
	c := dialRaw(t, b.Addr)
	c.nc.SetDeadline(time.Time{})
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.MaxBytes = 16 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "pipe"
	rt.Partitions = []kmsg.FetchRequestTopicPartition{fetchPartition("pipe", 0, 0, 16<<20)}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	for i := range 16 {
		c.write(frame(req, int32(i)))
	}
	// Each answer is ~8 MB; the old broker held all 16 (and their encoded
	// copies) for a client that never reads.
	staysBelow(t, base, 40<<20, "16 pipelined 8 MB fetches never read")
}

func TestRequestsDecodingPastThePoolAreRefused(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"socket.request.max.bytes": "1048576", "queued.max.request.bytes": "1048576"})
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	req.Topics = make([]kmsg.MetadataRequestTopic, 50_000) // 100 KB, ~2.4 MB decoded
	c := dialRaw(t, b.Addr)
	c.write(frame(req, 1))
	// Closed with the request unread: EOF or a reset.
	_, err := c.nc.Read(make([]byte, 1))
	require.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "want the connection closed, got %v", err)
	stillServes(t, b.Addr)
}

func TestDescribeConfigsShowsNetworkLimits(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"connections.max.idle.ms": "90000"})
	adm, _ := newAdmin(t, b.Addr)
	rcs, err := adm.DescribeBrokerConfigs(adminCtx(t))
	require.NoError(t, err)
	require.Len(t, rcs, 1)
	got := map[string]string{}
	for _, c := range rcs[0].Configs {
		got[c.Key] = c.MaybeValue()
	}
	assert.Equal(t, "90000", got["connections.max.idle.ms"])
	assert.Equal(t, "536870912", got["queued.max.request.bytes"])
	assert.Equal(t, "57671680", got["fetch.max.bytes"])
}
