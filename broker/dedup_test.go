package broker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceBatches writes n uncompressed batches of one record of size bytes
// to partition 0 of topic.
func produceBatches(t *testing.T, addr, topic string, n, size int) {
	t.Helper()
	cl := newClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for range n {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Partition: 0, Value: make([]byte, size)}).FirstErr())
	}
}

func fetchPartition(topic string, partition int32, offset int64, partMax int32) kmsg.FetchRequestTopicPartition {
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, partMax
	return rp
}

func TestFetchMergesDuplicatePartitions(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "dup", 2, nil)
	createTopic(t, b.Addr, "other", 1, nil)
	produceBatches(t, b.Addr, "dup", 4, 100)

	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.MaxBytes = 1 << 20
	dup := kmsg.NewFetchRequestTopic()
	dup.Topic = "dup"
	dup.Partitions = []kmsg.FetchRequestTopicPartition{
		fetchPartition("dup", 0, 0, 1<<20),
		fetchPartition("dup", 1, 0, 1<<20),
		fetchPartition("dup", 0, 1, 1<<20),
	}
	other := kmsg.NewFetchRequestTopic()
	other.Topic = "other"
	other.Partitions = []kmsg.FetchRequestTopicPartition{fetchPartition("other", 0, 0, 1<<20)}
	again := kmsg.NewFetchRequestTopic()
	again.Topic = "dup"
	again.Partitions = []kmsg.FetchRequestTopicPartition{fetchPartition("dup", 0, 3, 1<<20)}
	req.Topics = []kmsg.FetchRequestTopic{dup, other, again}

	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.FetchResponse)
	// As Kafka's LinkedHashMap: dup-0 where it first appeared, with the
	// last occurrence's offset (3); each partition once.
	var got []string
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			got = append(got, fmt.Sprintf("%s-%d", rt.Topic, p.Partition))
		}
	}
	assert.Equal(t, []string{"dup-0", "dup-1", "other-0"}, got)
	p0 := resp.Topics[0].Partitions[0]
	bs, err := batch.Split(p0.RecordBatches)
	require.NoError(t, err)
	require.Equal(t, 1, len(bs), "fetched from the last occurrence's offset 3")
	h, err := batch.ParseHeader(bs[0])
	require.NoError(t, err)
	assert.Equal(t, int64(3), h.BaseOffset)
}

// fetchSize fetches partition 0 of topic from offset 0 and returns the
// bytes of records answered.
func fetchSize(t *testing.T, addr, topic string, maxBytes, partMax int32) int {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version = 11
	req.MaxBytes = maxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rt.Partitions = []kmsg.FetchRequestTopicPartition{fetchPartition(topic, 0, 0, partMax)}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	resp := dialRaw(t, addr).roundTrip(req).(*kmsg.FetchResponse)
	require.Zero(t, resp.Topics[0].Partitions[0].ErrorCode)
	return len(resp.Topics[0].Partitions[0].RecordBatches)
}

func TestFetchCappedByFetchMaxBytes(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"fetch.max.bytes": "10000"})
	createTopic(t, b.Addr, "capped", 1, nil)
	produceBatches(t, b.Addr, "capped", 10, 3000)
	n := fetchSize(t, b.Addr, "capped", 1<<31-1, 1<<31-1)
	assert.Positive(t, n)
	assert.LessOrEqual(t, n, 10000, "a 2 GiB MaxBytes is capped by fetch.max.bytes")
	assert.LessOrEqual(t, fetchSize(t, b.Addr, "capped", 5000, 1<<31-1), 5000, "a smaller MaxBytes still rules")

	// KIP-74: the first batch is served whole even past fetch.max.bytes.
	b = testenv.StartBroker(t, map[string]string{"fetch.max.bytes": "1024"})
	createTopic(t, b.Addr, "big", 1, nil)
	produceBatches(t, b.Addr, "big", 2, 3000)
	n = fetchSize(t, b.Addr, "big", 1<<31-1, 1<<31-1)
	assert.Greater(t, n, 3000)
	assert.Less(t, n, 6000, "one batch, not two")
}

func TestMetadataAnswersEachTopicOnce(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "a", 1, nil)
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	for range 1000 {
		req.Topics = append(req.Topics, kmsg.MetadataRequestTopic{Topic: kmsg.StringPtr("a")}, kmsg.MetadataRequestTopic{Topic: kmsg.StringPtr("")})
	}
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	require.Equal(t, 2, len(resp.Topics), "one answer per distinct name")
	assert.Equal(t, "a", *resp.Topics[0].Topic)
	assert.Zero(t, resp.Topics[0].ErrorCode)
	assert.Equal(t, kerr.InvalidTopicException.Code, resp.Topics[1].ErrorCode)

	// By topic id (v10+) too.
	id := resp.Topics[0].TopicID
	req = kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.Topics = []kmsg.MetadataRequestTopic{{TopicID: id}, {TopicID: id}, {TopicID: id}}
	resp = dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	require.Len(t, resp.Topics, 1)
	assert.Equal(t, "a", *resp.Topics[0].Topic)
}

func TestMetadataAutoCreatesABoundedNumberPerRequest(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	const asked = 130
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	req.AllowAutoTopicCreation = true
	for i := range asked {
		req.Topics = append(req.Topics, kmsg.MetadataRequestTopic{Topic: kmsg.StringPtr(fmt.Sprintf("auto-%03d", i))})
	}
	created, deferred := 0, 0
	for _, rt := range dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse).Topics {
		switch rt.ErrorCode {
		case 0:
			created++
		case kerr.LeaderNotAvailable.Code:
			deferred++
		default:
			t.Fatalf("topic %s: %v", *rt.Topic, kerr.ErrorForCode(rt.ErrorCode))
		}
	}
	assert.Equal(t, 100, created)
	assert.Equal(t, asked-100, deferred, "the rest are retriable")

	// The client's retry creates the rest.
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	require.Len(t, resp.Topics, asked)
	for _, rt := range resp.Topics {
		assert.Zero(t, rt.ErrorCode, *rt.Topic)
	}
}

func TestListOffsetsDuplicatePartitionsAreInvalid(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "lo", 2, nil)
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 7
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "lo"
	for _, p := range []int32{0, 1, 0} {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.ListOffsetsRequestTopic{rt}
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.ListOffsetsResponse)
	ps := resp.Topics[0].Partitions
	require.Len(t, ps, 3)
	assert.Equal(t, kerr.InvalidRequest.Code, ps[0].ErrorCode)
	assert.Zero(t, ps[1].ErrorCode)
	assert.Equal(t, kerr.InvalidRequest.Code, ps[2].ErrorCode, "every occurrence, as Kafka")
}
