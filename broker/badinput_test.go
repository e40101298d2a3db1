package broker_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
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

// rawConn speaks the wire protocol by hand, to send what clients never would.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc}
}

func (c *rawConn) write(b []byte) {
	_, err := c.nc.Write(b)
	require.NoError(c.t, err)
}

// request frames req with a v1/v2 request header.
func frame(req kmsg.Request, corrID int32) []byte {
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(corrID))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// readResponse reads one response body after the correlation id.
func (c *rawConn) readResponse(corrID int32) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, body); err != nil {
		return nil, err
	}
	require.Equal(c.t, corrID, int32(binary.BigEndian.Uint32(body)))
	return body[4:], nil
}

// roundTrip sends req and decodes its response.
func (c *rawConn) roundTrip(req kmsg.Request) kmsg.Response {
	c.write(frame(req, 7))
	body, err := c.readResponse(7)
	require.NoError(c.t, err)
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && resp.Key() != 18 {
		body = body[1:] // response header tags
	}
	require.NoError(c.t, resp.ReadFrom(body))
	return resp
}

// expectClosed asserts the broker closed the connection.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	_, err := c.nc.Read(make([]byte, 1))
	require.ErrorIs(c.t, err, io.EOF)
}

// stillServes checks the broker answers a fresh connection.
func stillServes(t *testing.T, addr string) {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "test", "1.0"
	resp := dialRaw(t, addr).roundTrip(req).(*kmsg.ApiVersionsResponse)
	require.Zero(t, resp.ErrorCode)
	require.NotEmpty(t, resp.ApiKeys)
}

func TestApiVersionsTooNewAnswersV0(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	c := dialRaw(t, b.Addr)
	// ApiVersions v9 with a body we do not know: the header is enough.
	frameBytes := []byte{0, 0, 0, 0, 0, 18, 0, 9, 0, 0, 0, 5, 0, 0, 0xde, 0xad}
	binary.BigEndian.PutUint32(frameBytes, uint32(len(frameBytes)-4))
	c.write(frameBytes)
	body, err := c.readResponse(5)
	require.NoError(t, err)
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	require.NoError(t, resp.ReadFrom(body))
	assert.Equal(t, kerr.UnsupportedVersion.Code, resp.ErrorCode)
	require.Len(t, resp.ApiKeys, 1)
	assert.Equal(t, int16(18), resp.ApiKeys[0].ApiKey)
	assert.Equal(t, int16(5), resp.ApiKeys[0].MaxVersion)
}

func TestApiVersionsAdvertisesLowMinimums(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "librdkafka", "2.0.2"
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.ApiVersionsResponse)
	got := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		got[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	// librdkafka 2.0.2 turns compression off unless Produce's minimum is 0.
	assert.Equal(t, [2]int16{0, 11}, got[0], "Produce")
	assert.Equal(t, [2]int16{4, 12}, got[1], "Fetch")
	assert.Equal(t, [2]int16{0, 12}, got[3], "Metadata")
	assert.Equal(t, [2]int16{0, 5}, got[22], "InitProducerId")
	// librdkafka 2.0.2 uses FindCoordinator v0 as its proxy for lz4 support.
	assert.Equal(t, [2]int16{0, 4}, got[10], "FindCoordinator")
	// Consumer groups: librdkafka 2.0.2 switches them off unless JoinGroup,
	// SyncGroup, Heartbeat and LeaveGroup start at 0.
	assert.Equal(t, [2]int16{0, 9}, got[11], "JoinGroup")
	assert.Equal(t, [2]int16{0, 4}, got[12], "Heartbeat")
	assert.Equal(t, [2]int16{0, 5}, got[13], "LeaveGroup")
	assert.Equal(t, [2]int16{0, 5}, got[14], "SyncGroup")
	assert.Equal(t, [2]int16{0, 8}, got[8], "OffsetCommit")
	assert.Equal(t, [2]int16{0, 8}, got[9], "OffsetFetch")
	assert.Equal(t, [2]int16{0, 5}, got[15], "DescribeGroups")
	assert.Equal(t, [2]int16{0, 4}, got[16], "ListGroups")
	assert.NotContains(t, got, int16(68), "KIP-848 ConsumerGroupHeartbeat is not implemented and must not be advertised")
	// Transactions, capped below KIP-890 part 2 (Produce 12, EndTxn 5,
	// TxnOffsetCommit 5, AddPartitionsToTxn 4+), so clients add partitions
	// with AddPartitionsToTxn.
	assert.Equal(t, [2]int16{0, 3}, got[24], "AddPartitionsToTxn")
	assert.Equal(t, [2]int16{0, 4}, got[25], "AddOffsetsToTxn")
	assert.Equal(t, [2]int16{0, 4}, got[26], "EndTxn")
	assert.Equal(t, [2]int16{0, 4}, got[28], "TxnOffsetCommit")
	assert.NotContains(t, got, int16(27), "WriteTxnMarkers is broker-to-broker and not needed on one node")
	assert.Equal(t, [2]int16{0, 0}, got[61], "DescribeProducers")
	assert.Equal(t, [2]int16{0, 0}, got[65], "DescribeTransactions")
	assert.Equal(t, [2]int16{0, 1}, got[66], "ListTransactions")

	bad := kmsg.NewPtrApiVersionsRequest()
	bad.Version = 3
	bad.ClientSoftwareName, bad.ClientSoftwareVersion = "bad name!", "1"
	badResp := dialRaw(t, b.Addr).roundTrip(bad).(*kmsg.ApiVersionsResponse)
	assert.Equal(t, kerr.InvalidRequest.Code, badResp.ErrorCode)
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"socket.request.max.bytes": "1048576"})
	// A long-lived, healthy connection that must survive the others.
	healthy := dialRaw(t, b.Addr)
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 4
	healthy.roundTrip(md)

	cases := map[string][]byte{
		"http probe":        []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"oversized":         {0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0},
		"negative size":     {0xff, 0xff, 0xff, 0xff},
		"tiny frame":        {0, 0, 0, 2, 0, 3},
		"unknown key":       {0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0},
		"unsupported ver":   {0, 0, 0, 10, 0, 3, 0, 99, 0, 0, 0, 1, 0, 0},
		"truncated body":    {0, 0, 0, 10, 0, 3, 0, 4, 0, 0, 0, 1, 0, 0},
		"garbage body":      append([]byte{0, 0, 0, 16, 0, 3, 0, 4, 0, 0, 0, 1, 0, 0}, 0x7f, 0xff, 0xff, 0xff, 0, 0),
		"bad header string": {0, 0, 0, 10, 0, 3, 0, 4, 0, 0, 0, 1, 0x7f, 0xff},
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, b.Addr)
			c.write(payload)
			c.expectClosed()
		})
	}
	// A frame cut off mid-body, then the client goes away.
	c := dialRaw(t, b.Addr)
	c.write([]byte{0, 0, 1, 0, 0, 3})
	c.nc.Close()

	healthy.roundTrip(md)
	stillServes(t, b.Addr)
}

func TestProduceErrorsArePerPartition(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "mixed", 5, map[string]*string{"max.message.bytes": ptr("2000")})
	good, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, []batch.Record{{Key: []byte("k"), Value: []byte("v"), Timestamp: time.Now().UnixMilli()}})
	require.NoError(t, err)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-1] ^= 0xff
	big, err := batch.Encode(batch.EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, []batch.Record{{Value: make([]byte, 5000), Timestamp: time.Now().UnixMilli()}})
	require.NoError(t, err)
	two := append(append([]byte(nil), good...), good...)

	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "mixed"
	for i, recs := range [][]byte{good, corrupt, big, two, good} {
		p := kmsg.NewProduceRequestTopicPartition()
		p.Partition = int32(i)
		p.Records = recs
		rt.Partitions = append(rt.Partitions, p)
	}
	unknown := kmsg.NewProduceRequestTopicPartition()
	unknown.Partition = 9
	unknown.Records = good
	rt.Partitions = append(rt.Partitions, unknown)
	req.Topics = append(req.Topics, rt)

	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.ProduceResponse)
	codes := map[int32]int16{}
	for _, p := range resp.Topics[0].Partitions {
		codes[p.Partition] = p.ErrorCode
	}
	assert.Equal(t, map[int32]int16{
		0: 0,
		1: kerr.CorruptMessage.Code,
		2: kerr.MessageTooLarge.Code,
		3: kerr.InvalidRecord.Code,
		4: 0,
		9: kerr.UnknownTopicOrPartition.Code,
	}, codes)

	// Only the good batches are readable.
	recs := consumeAll(t, b.Addr, "mixed", 2)
	require.Len(t, recs, 2)
	stillServes(t, b.Addr)
}

func TestProduceV2IsRefusedNotCrashed(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "old", 1, nil)
	req := kmsg.NewPtrProduceRequest()
	req.Version = 2
	req.Acks = 1
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "old"
	p := kmsg.NewProduceRequestTopicPartition()
	p.Records = []byte{1, 2, 3}
	rt.Partitions = append(rt.Partitions, p)
	req.Topics = append(req.Topics, rt)
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.ProduceResponse)
	assert.Equal(t, kerr.UnsupportedVersion.Code, resp.Topics[0].Partitions[0].ErrorCode)
}

func TestFetchOutOfRange(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "range", 1, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic("range"))
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Value: []byte("a")}, &kgo.Record{Value: []byte("b")}).FirstErr())

	fetch := func(offset int64) kmsg.FetchResponseTopicPartition {
		req := kmsg.NewPtrFetchRequest()
		req.Version = 11
		req.MaxWaitMillis = 100
		req.MaxBytes = 1 << 20
		req.IsolationLevel = 1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "range"
		p := kmsg.NewFetchRequestTopicPartition()
		p.FetchOffset = offset
		p.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, p)
		req.Topics = append(req.Topics, rt)
		return dialRaw(t, b.Addr).roundTrip(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	}
	p := fetch(5)
	assert.Equal(t, kerr.OffsetOutOfRange.Code, p.ErrorCode)
	assert.Equal(t, int64(2), p.HighWatermark)
	p = fetch(2) // at the high watermark: valid, empty after the wait
	assert.Zero(t, p.ErrorCode)
	assert.NotNil(t, p.RecordBatches, "empty records must be zero-length, not null (librdkafka rejects -1)")
	assert.Empty(t, p.RecordBatches)
	p = fetch(1)
	assert.Zero(t, p.ErrorCode)
	assert.Equal(t, int64(2), p.LastStableOffset)
	assert.NotEmpty(t, p.RecordBatches)
}

func ptr(s string) *string { return &s }

func TestMetadataOldVersionsAutoCreate(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"num.partitions": "2"})
	// kafka-python sends Metadata v1 and relies on it creating topics, as
	// every version before the AllowAutoTopicCreation flag (v4) did.
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 1
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("fresh")}}
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	require.Len(t, resp.Topics, 1)
	assert.Zero(t, resp.Topics[0].ErrorCode)
	assert.Len(t, resp.Topics[0].Partitions, 2)
	assert.Equal(t, int32(1), resp.ControllerID)

	// v4+ without the flag does not create.
	req = kmsg.NewPtrMetadataRequest()
	req.Version = 9
	req.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("other")}}
	resp = dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	assert.Equal(t, kerr.UnknownTopicOrPartition.Code, resp.Topics[0].ErrorCode)

	// v0 with an empty list means every topic; v1+ with an empty list means none.
	req = kmsg.NewPtrMetadataRequest()
	req.Version = 0
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp = dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	var names []string
	for _, rt := range resp.Topics {
		names = append(names, *rt.Topic)
	}
	// Every topic includes the group coordinator's internal topic.
	assert.ElementsMatch(t, []string{"fresh", "__consumer_offsets"}, names)
	req.Version = 5
	resp = dialRaw(t, b.Addr).roundTrip(req).(*kmsg.MetadataResponse)
	assert.Empty(t, resp.Topics)
	require.Len(t, resp.Brokers, 1)
	assert.NotNil(t, resp.ClusterID)
}

func TestFindCoordinatorNamesThisNode(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	for _, v := range []int16{0, 3} {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = v
		req.CoordinatorKey = "group-a"
		resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.FindCoordinatorResponse)
		assert.Zero(t, resp.ErrorCode)
		assert.Equal(t, int32(1), resp.NodeID)
		assert.Equal(t, b.Addr, fmt.Sprintf("%s:%d", resp.Host, resp.Port))
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version = 4
	req.CoordinatorType = 1
	req.CoordinatorKeys = []string{"txn-a", "txn-b"}
	resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.FindCoordinatorResponse)
	require.Len(t, resp.Coordinators, 2)
	for _, co := range resp.Coordinators {
		assert.Zero(t, co.ErrorCode)
		assert.Equal(t, int32(1), co.NodeID)
	}
	req.CoordinatorType = 7
	resp = dialRaw(t, b.Addr).roundTrip(req).(*kmsg.FindCoordinatorResponse)
	assert.Equal(t, kerr.InvalidRequest.Code, resp.Coordinators[0].ErrorCode)
}

func TestFetchSizeLimits(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	createTopic(t, b.Addr, "sizes", 2, nil)
	cl := newClient(t, b.Addr, kgo.DefaultProduceTopic("sizes"), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	for p := range int32(2) {
		for i := range 5 { // five batches of ~2 KiB per partition
			require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Partition: p, Value: make([]byte, 2000+i)}).FirstErr())
		}
	}
	fetch := func(maxBytes, partMax int32) []int {
		req := kmsg.NewPtrFetchRequest()
		req.Version = 11
		req.MaxBytes = maxBytes
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "sizes"
		for p := range int32(2) {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition = p
			rp.PartitionMaxBytes = partMax
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp := dialRaw(t, b.Addr).roundTrip(req).(*kmsg.FetchResponse)
		var batches []int
		for _, p := range resp.Topics[0].Partitions {
			require.Zero(t, p.ErrorCode)
			bs, err := batch.Split(p.RecordBatches)
			require.NoError(t, err, "only whole batches are served")
			batches = append(batches, len(bs))
		}
		return batches
	}
	assert.Equal(t, []int{5, 5}, fetch(1<<20, 1<<20))
	// A partition limit below one batch still returns one whole batch, but as
	// in Kafka only for the first partition with data (KIP-74).
	assert.Equal(t, []int{1, 0}, fetch(1<<20, 10))
	assert.Equal(t, []int{2, 2}, fetch(1<<20, 4500))
	assert.Equal(t, []int{1, 0}, fetch(10, 1<<20), "past MaxBytes only the first partition gets its one batch (KIP-74)")
	assert.Equal(t, []int{3, 0}, fetch(7000, 1<<20))
}
