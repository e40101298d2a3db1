package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, addr, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err)
}

// consumeAll reads n records from the start of topic.
func consumeAll(t *testing.T, addr, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := newClient(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500 * time.Millisecond)}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d records", len(out), n)
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s-%d: %v", topic, p, err)
		})
		out = append(out, fs.Records()...)
	}
	return out
}

func TestIdempotentKeyedProduce100k(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic, partitions, total, keys = "keyed", 8, 100_000, 500
	createTopic(t, b.Addr, topic, partitions, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic))
	ctx := context.Background()
	errs := make(chan error, total)
	for i := range total {
		key := strconv.Itoa(i % keys)
		val := strconv.Itoa(i / keys) // per-key sequence
		cl.Produce(ctx, &kgo.Record{Key: []byte(key), Value: []byte(val)}, func(_ *kgo.Record, err error) { errs <- err })
	}
	require.NoError(t, cl.Flush(ctx))
	for range total {
		require.NoError(t, <-errs)
	}

	recs := consumeAll(t, b.Addr, topic, total)
	require.Len(t, recs, total)
	partOf := map[string]int32{}
	nextSeq := map[string]int{}
	lastOffset := map[int32]int64{}
	for _, r := range recs {
		k := string(r.Key)
		if p, ok := partOf[k]; ok {
			require.Equal(t, p, r.Partition, "key %s moved partitions", k)
		}
		partOf[k] = r.Partition
		seq, err := strconv.Atoi(string(r.Value))
		require.NoError(t, err)
		require.Equal(t, nextSeq[k], seq, "key %s out of order", k)
		nextSeq[k]++
		if last, ok := lastOffset[r.Partition]; ok {
			require.Equal(t, last+1, r.Offset, "partition %d offsets not contiguous", r.Partition)
		}
		lastOffset[r.Partition] = r.Offset
	}
	require.Len(t, nextSeq, keys)
	require.Len(t, lastOffset, partitions, "every partition got records")
}

func TestCompressionCodecs(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "codec-" + name
			createTopic(t, b.Addr, topic, 2, nil)
			cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(5*time.Millisecond))
			var want []string
			var rs []*kgo.Record
			for i := range 2000 {
				v := fmt.Sprintf("value %d %s", i, bytes.Repeat([]byte("compressible "), 5))
				want = append(want, v)
				rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(v)})
			}
			require.NoError(t, cl.ProduceSync(context.Background(), rs...).FirstErr())
			got := map[string]bool{}
			for _, r := range consumeAll(t, b.Addr, topic, len(want)) {
				got[string(r.Value)] = true
			}
			for _, v := range want {
				require.True(t, got[v], "missing %q", v)
			}
		})
	}
}

func TestHeadersTimestampsAndLargeRecord(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "shapes"
	big := "2097152"
	createTopic(t, b.Addr, topic, 1, map[string]*string{"max.message.bytes": &big})
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchMaxBytes(2<<20))
	ts := time.UnixMilli(1_700_000_000_123)
	large := bytes.Repeat([]byte{0xAB, 0x01, 0x7F}, (1<<20)/3+1)[:1<<20]
	in := []*kgo.Record{
		{Key: []byte("h"), Value: []byte("with headers"), Timestamp: ts, Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: nil}, {Key: "a", Value: []byte("dup")}}},
		{Key: nil, Value: nil, Timestamp: ts.Add(time.Second)},
		{Key: []byte("big"), Value: large, Timestamp: ts.Add(2 * time.Second)},
	}
	for _, r := range in {
		require.NoError(t, cl.ProduceSync(context.Background(), r).FirstErr())
	}
	out := consumeAll(t, b.Addr, topic, len(in))
	require.Len(t, out, 3)
	assert.Equal(t, in[0].Headers, out[0].Headers)
	assert.Equal(t, ts.UnixMilli(), out[0].Timestamp.UnixMilli())
	assert.Nil(t, out[1].Key)
	assert.Nil(t, out[1].Value)
	assert.Equal(t, ts.Add(time.Second).UnixMilli(), out[1].Timestamp.UnixMilli())
	assert.True(t, bytes.Equal(large, out[2].Value), "1 MiB record differs")
}

func TestListOffsetsByTimestampAndDeleteRecords(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const topic = "times"
	createTopic(t, b.Addr, topic, 1, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic(topic))
	base := time.UnixMilli(1_600_000_000_000)
	for i := range 100 {
		// Ten records per batch, timestamps 1 s apart.
		var rs []*kgo.Record
		for j := range 10 {
			rs = append(rs, &kgo.Record{Value: []byte("x"), Timestamp: base.Add(time.Duration(i*10+j) * time.Second)})
		}
		require.NoError(t, cl.ProduceSync(context.Background(), rs...).FirstErr())
	}
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	for _, c := range []struct {
		ms   int64
		want int64
	}{
		{base.UnixMilli(), 0},
		{base.Add(537 * time.Second).UnixMilli(), 537},
		{base.Add(536*time.Second + time.Millisecond).UnixMilli(), 537},
		{base.Add(999 * time.Second).UnixMilli(), 999},
		{base.Add(2000 * time.Second).UnixMilli(), -1},
	} {
		offs, err := adm.ListOffsetsAfterMilli(ctx, c.ms, topic)
		require.NoError(t, err)
		o, ok := offs.Lookup(topic, 0)
		require.True(t, ok)
		require.NoError(t, o.Err)
		if c.want < 0 {
			// No record that late: Kafka answers -1, kadm maps it to the end.
			assert.True(t, o.Offset == -1 || o.Offset == 1000, "offset %d", o.Offset)
			continue
		}
		assert.Equal(t, c.want, o.Offset, "timestamp %d", c.ms)
	}

	end, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	assert.Equal(t, int64(1000), end[topic][0].Offset)

	del, err := adm.DeleteRecords(ctx, kadm.Offsets{topic: {0: {Topic: topic, Partition: 0, At: 400}}})
	require.NoError(t, err)
	require.NoError(t, del.Error())
	start, err := adm.ListStartOffsets(ctx, topic)
	require.NoError(t, err)
	assert.Equal(t, int64(400), start[topic][0].Offset)

	// A consumer from the start now begins at 400.
	recs := consumeAll(t, b.Addr, topic, 600)
	assert.Equal(t, int64(400), recs[0].Offset)

	// The new log start survives a restart.
	b.Restart(t)
	start, err = kadm.NewClient(newClient(t, b.Addr)).ListStartOffsets(ctx, topic)
	require.NoError(t, err)
	assert.Equal(t, int64(400), start[topic][0].Offset)
}

func TestAutoCreateOnMetadata(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"num.partitions": "3"})
	cl := newClient(t, b.Addr, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("auto"))
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("v")}).FirstErr())
	md, err := kadm.NewClient(cl).Metadata(context.Background(), "auto")
	require.NoError(t, err)
	require.Len(t, md.Topics["auto"].Partitions, 3)

	off := testenv.StartBroker(t, map[string]string{"auto.create.topics.enable": "false"})
	cl2 := newClient(t, off.Addr, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("nope"), kgo.RecordDeliveryTimeout(2*time.Second))
	err = cl2.ProduceSync(context.Background(), &kgo.Record{Value: []byte("v")}).FirstErr()
	require.Error(t, err)
	md, err = kadm.NewClient(cl2).Metadata(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, md.Topics.Names(), "nope")
}

func TestFetchLongPollWakesOnProduce(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "poll", 1, nil)
	consumer := newClient(t, b.Addr, kgo.ConsumeTopics("poll"), kgo.FetchMaxWait(10*time.Second), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	producer := newClient(t, b.Addr, kgo.DefaultProduceTopic("poll"))

	got := make(chan time.Time, 1)
	go func() {
		fs := consumer.PollFetches(context.Background())
		if len(fs.Records()) > 0 {
			got <- time.Now()
		}
	}()
	time.Sleep(1500 * time.Millisecond) // the consumer is now parked in a long poll
	sent := time.Now()
	require.NoError(t, producer.ProduceSync(context.Background(), &kgo.Record{Value: []byte("wake")}).FirstErr())
	select {
	case at := <-got:
		assert.Less(t, at.Sub(sent), 2*time.Second, "fetch waited for MaxWait instead of waking on the append")
	case <-time.After(8 * time.Second):
		t.Fatal("the waiting fetch did not return when data arrived")
	}
}

func TestRestartKeepsDataAndProducerState(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "durable", 2, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic("durable"))
	for i := range 50 {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}).FirstErr())
	}
	b.Restart(t)
	// The same idempotent producer goes on after the restart: sequences continue.
	for i := 50; i < 100; i++ {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}).FirstErr())
	}
	recs := consumeAll(t, b.Addr, "durable", 100)
	seen := map[string]int{}
	for _, r := range recs {
		seen[string(r.Value)]++
	}
	for i := range 100 {
		assert.Equal(t, 1, seen[strconv.Itoa(i)], "record %d", i)
	}
}

func TestListOffsetsMaxTimestampAndSpecials(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "maxts", 1, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic("maxts"))
	base := time.UnixMilli(1_650_000_000_000)
	// The largest timestamp is in the middle of the log and of its batch.
	var rs []*kgo.Record
	for i, d := range []int{1, 5, 9, 3, 2} {
		rs = append(rs, &kgo.Record{Value: []byte{byte(i)}, Timestamp: base.Add(time.Duration(d) * time.Second)})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), rs...).FirstErr())
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("late"), Timestamp: base.Add(4 * time.Second)}).FirstErr())

	list := func(version int16, ts int64) kmsg.ListOffsetsResponseTopicPartition {
		req := kmsg.NewPtrListOffsetsRequest()
		req.Version = version
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "maxts"
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Timestamp = ts
		p.MaxNumOffsets = 1
		rt.Partitions = append(rt.Partitions, p)
		req.Topics = append(req.Topics, rt)
		// Raw, since kgo picks its own version for a request.
		resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.ListOffsetsResponse)
		return resp.Topics[0].Partitions[0]
	}
	p := list(7, -3)
	require.Zero(t, p.ErrorCode)
	assert.Equal(t, int64(2), p.Offset, "offset of the record with the largest timestamp")
	assert.Equal(t, base.Add(9*time.Second).UnixMilli(), p.Timestamp)
	p = list(7, -1)
	assert.Equal(t, int64(6), p.Offset)
	p = list(7, -2)
	assert.Equal(t, int64(0), p.Offset)
	p = list(0, -1) // v0 answers in OldStyleOffsets
	assert.Equal(t, []int64{6}, p.OldStyleOffsets)
}
