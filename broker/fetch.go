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
//
// A partition named more than once is answered once, as Kafka does (its
// position is the first occurrence, its fetch offset and size the last).
// MaxBytes is capped by the broker's fetch.max.bytes (55 MiB by default).
// A connection answers one fetch at a time, as Kafka handles one request
// per connection at a time: a client that pipelines fetches and never reads
// the answers holds at most one fetch response. Records are read into
// memory taken from the broker-wide pool (queued.max.request.bytes)
// without waiting: when it is spent the fetch answers with what it has or,
// with nothing, long-polls for memory as it does for data.

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
	mergeFetchPartitions(req)
	bufs := &readBuffers{pool: c.s.pool}
	var slotHeld bool
	p := c.later(func() kmsg.Response {
		select {
		case c.fetchSlot <- struct{}{}:
			slotHeld = true
		case <-c.ctx.Done():
			return req.ResponseKind() // the connection is closing
		}
		return c.s.fetch(c, req, bufs)
	})
	p.release = bufs.releaseBuffers
	p.written = func() {
		bufs.releaseCharge()
		if slotHeld {
			<-c.fetchSlot
		}
	}
	return p
}

// mergeFetchPartitions leaves one entry per topic-partition, as Kafka's
// FetchRequest does by putting them in a LinkedHashMap: the entry sits where
// the partition first appears and carries its last occurrence's fetch
// offset and sizes; consecutive partitions of one topic share a topic entry.
func mergeFetchPartitions(req *kmsg.FetchRequest) {
	type key struct {
		topic     string
		partition int32
	}
	n := 0
	for _, t := range req.Topics {
		n += len(t.Partitions)
	}
	if n < 2 || !fetchNeedsMerge(req.Topics, n) {
		return
	}
	type entry struct {
		topic string
		p     kmsg.FetchRequestTopicPartition
	}
	index := make(map[key]int, n)
	flat := make([]entry, 0, n)
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			k := key{t.Topic, p.Partition}
			if i, dup := index[k]; dup {
				flat[i].p = p
				continue
			}
			index[k] = len(flat)
			flat = append(flat, entry{t.Topic, p})
		}
	}
	topics := make([]kmsg.FetchRequestTopic, 0, len(req.Topics))
	for _, e := range flat {
		if len(topics) == 0 || topics[len(topics)-1].Topic != e.topic {
			t := kmsg.NewFetchRequestTopic()
			t.Topic = e.topic
			topics = append(topics, t)
		}
		last := &topics[len(topics)-1]
		last.Partitions = append(last.Partitions, e.p)
	}
	req.Topics = topics
}

// fetchNeedsMerge reports whether a fetch names a partition twice or splits
// one topic over two entries; a consumer's fetch never does, and is then
// served as sent without building a map.
func fetchNeedsMerge(topics []kmsg.FetchRequestTopic, n int) bool {
	if n > 64 {
		return true // a map is cheaper than the quadratic scan
	}
	for i, t := range topics {
		for j, p := range t.Partitions {
			for _, q := range t.Partitions[j+1:] {
				if p.Partition == q.Partition {
					return true
				}
			}
		}
		for _, u := range topics[i+1:] {
			if u.Topic == t.Topic {
				return true
			}
		}
	}
	return false
}

// readBufferSize is the pooled buffer size: Kafka clients' default
// max.partition.fetch.bytes is 1 MiB.
const readBufferSize = 1 << 20

var readBufferPool = sync.Pool{New: func() any { b := make([]byte, 0, readBufferSize); return &b }}

// readBuffers are what one fetch response reads into: pooled buffers, which
// go back to the pool once the response is encoded, and the bytes reserved
// in the broker's memory pool for the records, given back once the
// response is written.
type readBuffers struct {
	pool    *memPool
	held    []*[]byte
	charged int64
}

// read reads one partition into memory taken from the pool: at most limit
// bytes and at most what the pool has free, except that KIP-74's first
// batch is read whole. short reports that the pool had less than limit.
func (r *readBuffers) read(part *log.Partition, offset int64, limit int, minOne bool) (res log.ReadResult, short bool, err error) {
	got := r.pool.takeUpTo(int64(max(limit, 0)))
	if got == 0 && limit > 0 {
		// Nothing free: answer without this partition's records.
		res, err = part.Read(offset, 0, false, nil)
		res.Records = nil
		return res, true, err
	}
	var pooled *[]byte
	var dst []byte
	if got >= readBufferSize/2 && got <= readBufferSize {
		pooled = readBufferPool.Get().(*[]byte)
		dst = (*pooled)[:0]
		r.pool.force(readBufferSize - got)
		got = readBufferSize
	}
	res, err = part.Read(offset, int(got), minOne, dst)
	used := int64(0)
	if len(res.Records) > 0 {
		used = int64(cap(res.Records))
	}
	if pooled != nil {
		if used > 0 && &res.Records[:1][0] == &(*pooled)[:1][0] {
			r.held = append(r.held, pooled)
		} else {
			readBufferPool.Put(pooled)
		}
	}
	if used > got {
		r.pool.force(used - got) // KIP-74's first batch, past the limit
	} else {
		r.pool.release(got - used)
	}
	r.charged += used
	return res, got < int64(limit), err
}

func (r *readBuffers) releaseBuffers() {
	for _, b := range r.held {
		readBufferPool.Put(b)
	}
	r.held = nil
}

func (r *readBuffers) releaseCharge() {
	r.pool.release(r.charged)
	r.charged = 0
}

func (r *readBuffers) release() {
	r.releaseBuffers()
	r.releaseCharge()
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
		// Asked before reading, so a release in between is not missed.
		freed := s.pool.freedChan()
		size, hasErr, short := s.fillFetch(req, resp, &waitChans, bufs)
		if short {
			// Short of memory: wait for some to be freed as for data.
			waitChans = append(waitChans, freed)
		}
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

// fetchBudget is the response size a fetch may reach: its MaxBytes, capped
// by the broker's fetch.max.bytes as in Kafka.
func (s *Server) fetchBudget(req *kmsg.FetchRequest) int {
	if req.Version < 3 || req.MaxBytes <= 0 {
		return s.cfg.FetchMaxBytes
	}
	return min(int(req.MaxBytes), s.cfg.FetchMaxBytes)
}

// fillFetch reads every requested partition into resp and returns the
// bytes of records gathered, whether any partition has an error, and
// whether the memory pool had less than the partitions asked for. When
// waitChans is not nil it collects each partition's append notification,
// taken before the read so no append between the two is missed.
func (s *Server) fillFetch(req *kmsg.FetchRequest, resp *kmsg.FetchResponse, waitChans *[]<-chan struct{}, bufs *readBuffers) (int, bool, bool) {
	remaining := s.fetchBudget(req)
	total, hasErr, short := 0, false, false
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
				var partShort bool
				lso := part.LastStableOffset()
				res, partShort, err = bufs.read(part, rp.FetchOffset, limit, total == 0)
				short = short || partShort
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
	return total, hasErr, short
}
