package broker

// Fetch: v4-12.
//
// Long-poll: the response is sent as soon as MinBytes are available or
// MaxWait passes, whichever is first; an append to any requested partition
// wakes the waiting fetch. MaxBytes bounds the response and PartitionMaxBytes
// each partition, except that the first partition with data always gets at
// least one whole batch (KIP-74). Batches are served byte for byte as stored,
// starting with the one holding the fetch offset.
//
// Fetch sessions (KIP-227) are declined: every response carries session id 0,
// which makes clients send full fetches. Every partition carries its last
// stable offset (the first offset of its oldest open transaction, else the
// high watermark). A read_committed fetch (isolation level 1, librdkafka's
// and kafkajs's default) gets only batches below it, and the aborted
// transactions overlapping the range, which the client uses to skip their
// records; a list, empty rather than null, is always sent. Empty partitions carry zero-length, not null, records. A fetch below
// the log start or past the high watermark gets OFFSET_OUT_OF_RANGE; at the
// high watermark it waits. v13+ (topic ids) is not served.

import (
	"reflect"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var fetchAPI = api{key: 1, min: 4, max: 12, handle: handleFetch}

// maxFetchWait caps a client's MaxWaitMillis.
const maxFetchWait = 30 * time.Second

func handleFetch(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.FetchRequest)
	bufs := &readBuffers{}
	p := c.later(func() kmsg.Response { return c.s.fetch(c, req, bufs) })
	p.release = bufs.release
	return p
}

// readBufferSize is the pooled buffer size: Kafka clients' default
// max.partition.fetch.bytes is 1 MiB.
const readBufferSize = 1 << 20

var readBufferPool = sync.Pool{New: func() any { b := make([]byte, 0, readBufferSize); return &b }}

// readBuffers are the pooled buffers one fetch response reads into; they go
// back to the pool once the response is encoded.
type readBuffers struct{ held []*[]byte }

func (r *readBuffers) get(n int) []byte {
	if n > readBufferSize {
		return nil
	}
	b := readBufferPool.Get().(*[]byte)
	r.held = append(r.held, b)
	return (*b)[:0]
}

func (r *readBuffers) release() {
	for _, b := range r.held {
		readBufferPool.Put(b)
	}
	r.held = nil
}

func (s *Server) fetch(c *conn, req *kmsg.FetchRequest, bufs *readBuffers) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	if req.Version >= 7 && req.SessionID != 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp
	}
	wait := min(time.Duration(req.MaxWaitMillis)*time.Millisecond, maxFetchWait)
	deadline := time.Now().Add(wait)
	var timer *time.Timer
	for {
		var waitChans []<-chan struct{}
		resp.Topics = resp.Topics[:0]
		bufs.release()
		size, hasErr := s.fillFetch(req, resp, &waitChans, bufs)
		if size >= int(req.MinBytes) || size > 0 && req.MinBytes <= 0 || hasErr || time.Until(deadline) <= 0 || len(waitChans) == 0 {
			return resp
		}
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
			defer timer.Stop()
		}
		cases := make([]reflect.SelectCase, 0, len(waitChans)+2)
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.ctx.Done())})
		for _, ch := range waitChans {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
		chosen, _, _ := reflect.Select(cases)
		if chosen < 2 {
			resp.Topics = resp.Topics[:0]
			bufs.release()
			s.fillFetch(req, resp, nil, bufs)
			return resp
		}
	}
}

// fillFetch reads every requested partition into resp and returns the
// bytes of records gathered and whether any partition has an error. When
// waitChans is not nil it collects each partition's append notification,
// taken before the read so no append between the two is missed.
func (s *Server) fillFetch(req *kmsg.FetchRequest, resp *kmsg.FetchResponse, waitChans *[]<-chan struct{}, bufs *readBuffers) (int, bool) {
	remaining := int(req.MaxBytes)
	if req.Version < 3 || remaining <= 0 {
		remaining = 1 << 30
	}
	total, hasErr := 0, false
	for _, rt := range req.Topics {
		tr := kmsg.NewFetchResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewFetchResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = -1, -1, -1
			pr.PreferredReadReplica = -1
			pr.RecordBatches = []byte{}
			part, err := s.store.Partition(rt.Topic, rp.Partition)
			switch {
			case err != nil:
			case rp.CurrentLeaderEpoch > log.LeaderEpoch:
				pr.ErrorCode = kerr.UnknownLeaderEpoch.Code
			case rp.CurrentLeaderEpoch >= 0 && rp.CurrentLeaderEpoch < log.LeaderEpoch:
				pr.ErrorCode = kerr.FencedLeaderEpoch.Code
			default:
				if waitChans != nil {
					*waitChans = append(*waitChans, part.Wait())
				}
				limit := min(int(rp.PartitionMaxBytes), remaining)
				var res log.ReadResult
				lso := part.LastStableOffset()
				res, err = part.Read(rp.FetchOffset, limit, total == 0, bufs.get(limit))
				pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = res.HighWatermark, lso, res.LogStartOffset
				if err == nil && res.Records != nil && req.IsolationLevel == 1 {
					res.Records = belowOffset(res.Records, lso)
					pr.AbortedTransactions = abortedIn(part, rp.FetchOffset, lso)
				}
				if err == nil && len(res.Records) > 0 {
					// Never null: librdkafka rejects a -1 MessageSetSize.
					pr.RecordBatches = res.Records
					total += len(res.Records)
					remaining -= len(res.Records)
				}
			}
			if err != nil {
				pr.ErrorCode = errorCode(err)
			}
			if pr.ErrorCode != 0 {
				hasErr = true
			}
			if req.IsolationLevel == 1 && pr.AbortedTransactions == nil {
				pr.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return total, hasErr
}
