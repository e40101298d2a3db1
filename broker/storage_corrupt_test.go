package broker_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchCode fetches one partition at offset and returns its error code.
func fetchCode(t *testing.T, cl *kgo.Client, topic string, offset int64) int16 {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MaxBytes = 11, 100, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = offset, 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(t, err)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// A batch header corrupted on disk (bit rot) after a clean stop: the broker
// starts, serves the batches before it, answers a fetch that reaches it
// CORRUPT_MESSAGE (as Kafka does for a CorruptRecordException), and keeps
// taking writes after it. It used to cut the log there on a clean restart.
func TestCorruptBatchIsReportedToFetchers(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "rot", 1, nil)
	cl := newClient(t, b.Addr)
	for i := range 5 {
		code, msg := produceRaw(t, cl, "rot", 0, -1, seqValues("r", 2*i, 2*i+2)...)
		require.Zero(t, code, msg)
	}
	b.Stop(t)
	path := filepath.Join(b.Dir, "rot-0", "00000000000000000000.log")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	pos := 0
	for range 2 { // the third batch: offsets 4, 5
		h, err := batch.ParseHeader(data[pos:])
		require.NoError(t, err)
		pos += h.Size()
	}
	binary.BigEndian.PutUint32(data[pos+8:], 0x7fff0000)
	require.NoError(t, os.WriteFile(path, data, 0o644))

	b.Restart(t)
	cl = newClient(t, b.Addr)
	assert.Zero(t, fetchCode(t, cl, "rot", 0))
	assert.Equal(t, kerr.CorruptMessage.Code, fetchCode(t, cl, "rot", 4))
	code, msg := produceRaw(t, cl, "rot", 0, -1, "after")
	require.Zero(t, code, msg)
	assert.Zero(t, fetchCode(t, cl, "rot", 10), "the new batch is at the old log end, and readable")
}
