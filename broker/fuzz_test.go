package broker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fuzzAllocConstant is what one fuzzed request may allocate beyond
// decodeAmplification bytes per byte of its frame: a fetch's pooled 1 MiB
// read buffer for each of the fuzz topic's two partitions, and slack for
// the response and the handler's bookkeeping.
const fuzzAllocConstant = 2*readBufferSize + 1<<20

// FuzzDispatch feeds arbitrary request frames through a connection's whole
// read path (size prefix, pool reservation, body, header, decode, handler,
// response encode): any input must either be answered or close the
// connection, never panic, and must allocate at most decodeAmplification
// bytes per byte of the frame plus fuzzAllocConstant.
func FuzzDispatch(f *testing.F) {
	dir := f.TempDir()
	cfg, err := NewConfig(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir})
	if err != nil {
		f.Fatal(err)
	}
	store, err := log.Open(log.Options{Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	srv, err := New(cfg, store, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := store.CreateTopic("t", 2, nil, false); err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // long polls return at once
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &conn{s: srv, nc: a, log: slog.New(slog.DiscardHandler), ctx: ctx, fetchSlot: make(chan struct{}, 1)}
	fuzzSeeds(f)

	r := bufio.NewReaderSize(nil, 64<<10)
	var framed, out []byte
	f.Fuzz(func(t *testing.T, body []byte) {
		framed = binary.BigEndian.AppendUint32(framed[:0], uint32(len(body)))
		framed = append(framed, body...)
		r.Reset(bytes.NewReader(framed))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p, err := c.readRequest(context.Background(), r)
		if err == nil {
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Fatal("handler did not finish")
			}
			if p.resp != nil {
				out = appendResponse(out[:0], p.corrID, p.resp)
			}
			p.finish(c)
		}
		runtime.ReadMemStats(&after)
		if inUse := srv.pool.inUse(); inUse != 0 {
			t.Fatalf("%d pool bytes still reserved after the request", inUse)
		}
		if cap(out) > 4<<20 {
			out = nil
		}
		limit := uint64(decodeAmplification*len(framed) + fuzzAllocConstant)
		if got := after.TotalAlloc - before.TotalAlloc; got > limit && !raceEnabled {
			t.Fatalf("request of %d bytes allocated %d bytes, bound %d", len(framed), got, limit)
		}
	})
}

// fuzzSeeds adds one request of each shape worth mutating, and the attacks
// of issue 12 at small scale.
func fuzzSeeds(f *testing.F) {
	seed := func(req kmsg.Request, version int16) {
		req.SetVersion(version)
		body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
		body = binary.BigEndian.AppendUint16(body, uint16(version))
		body = binary.BigEndian.AppendUint32(body, 1)
		body = binary.BigEndian.AppendUint16(body, 1)
		body = append(body, 'c')
		if req.IsFlexible() {
			body = append(body, 0)
		}
		f.Add(req.AppendTo(body))
	}
	seed(kmsg.NewPtrApiVersionsRequest(), 3)
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("t")}}
	seed(md, 9)
	seed(md, 1)
	// Many empty topic names (issue 12: 10 M of them took 4.2 GB).
	mdEmpty := kmsg.NewPtrMetadataRequest()
	mdEmpty.Topics = make([]kmsg.MetadataRequestTopic, 2000)
	for i := range mdEmpty.Topics {
		mdEmpty.Topics[i].Topic = kmsg.StringPtr("")
	}
	seed(mdEmpty, 9)
	fetch := kmsg.NewPtrFetchRequest()
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	ft.Partitions = []kmsg.FetchRequestTopicPartition{kmsg.NewFetchRequestTopicPartition()}
	fetch.Topics = append(fetch.Topics, ft)
	seed(fetch, 11)
	seed(fetch, 12)
	// One partition named 16 times with a 2 GiB MaxBytes (issue 12: a
	// 976 MiB response).
	dupFetch := kmsg.NewPtrFetchRequest()
	dupFetch.MaxBytes = 1<<31 - 1
	dt := kmsg.NewFetchRequestTopic()
	dt.Topic = "t"
	for range 16 {
		p := kmsg.NewFetchRequestTopicPartition()
		p.PartitionMaxBytes = 1<<31 - 1
		dt.Partitions = append(dt.Partitions, p)
	}
	dupFetch.Topics = []kmsg.FetchRequestTopic{dt}
	seed(dupFetch, 11)
	prod := kmsg.NewPtrProduceRequest()
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "t"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = make([]byte, 70)
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	prod.Acks = 1
	seed(prod, 7)
	seed(prod, 9)
	// A produce request that is all structure and no records.
	hollow := kmsg.NewPtrProduceRequest()
	hollow.Acks = 1
	hollow.Topics = make([]kmsg.ProduceRequestTopic, 500)
	seed(hollow, 9)
	lo := kmsg.NewPtrListOffsetsRequest()
	seed(lo, 1)
	seed(lo, 7)
	loDup := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = "t"
	lt.Partitions = make([]kmsg.ListOffsetsRequestTopicPartition, 3)
	loDup.Topics = []kmsg.ListOffsetsRequestTopic{lt}
	seed(loDup, 7)
}
