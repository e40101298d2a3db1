package broker

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDispatch feeds arbitrary request frames to the decoder and handlers:
// any input must either be answered or close the connection, never panic.
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
	c := &conn{s: srv, nc: a, log: slog.New(slog.DiscardHandler), ctx: ctx}

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
	fetch := kmsg.NewPtrFetchRequest()
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "t"
	ft.Partitions = []kmsg.FetchRequestTopicPartition{kmsg.NewFetchRequestTopicPartition()}
	fetch.Topics = append(fetch.Topics, ft)
	seed(fetch, 11)
	seed(fetch, 12)
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
	lo := kmsg.NewPtrListOffsetsRequest()
	seed(lo, 1)
	seed(lo, 7)

	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := c.dispatch(body)
		if err != nil {
			return
		}
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatal("handler did not finish")
		}
		if p.resp != nil {
			appendResponse(nil, p.corrID, p.resp)
		}
	})
}
