package broker

// Produce: v0-11 advertised, v3-11 served.
//
// Minimum 0 is advertised because librdkafka 2.0.2 sends gzip, snappy and lz4
// uncompressed when it is higher; v0-2 (message format v0/v1) are answered
// UNSUPPORTED_VERSION per partition, as Kafka 4 does. v12 (KIP-890
// transactions) and v13 (topic ids) are not served.
//
// Each partition's data must be exactly one RecordBatch v2 (INVALID_RECORD
// otherwise). It is validated the way Kafka's LogValidator does — CRC-32C,
// header, every record after decompression — and stored as the producer
// sent it, with its base offset (and, for LogAppendTime topics, its
// timestamp) stamped. Errors are per partition; the other partitions of
// the request still succeed.
//
// acks=all is answered only after the partition is fsynced (group commit);
// acks=1 after the write reaches the page cache, or after fsync when the
// topic's flush.messages is due; acks=0 is not answered at all. The append
// happens in request order; only the wait for durability runs aside, so a
// client may pipeline produce requests on one connection.
//
// Transactional batches must come with the request's transactional id (and
// only they may carry one); the producer must be the current epoch of its
// transactional id (else INVALID_PRODUCER_EPOCH or PRODUCER_FENCED) and have
// added the partition to its ongoing transaction with AddPartitionsToTxn
// (else INVALID_TXN_STATE), so nothing lands after EndTxn.

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var produceAPI = api{key: 0, min: 0, max: 11, handle: handleProduce}

// flushWait is a partition the response waits on before it is sent.
type flushWait struct {
	p    *log.Partition
	res  log.AppendResult
	resp *kmsg.ProduceResponseTopicPartition
}

func handleProduce(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	var waits []flushWait
	for _, rt := range req.Topics {
		tr := kmsg.NewProduceResponseTopic()
		tr.Topic = rt.Topic
		tr.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		for i, rp := range rt.Partitions {
			pr := &tr.Partitions[i]
			*pr = kmsg.NewProduceResponseTopicPartition()
			pr.Partition = rp.Partition
			part, res, err := c.produceOne(req, rt.Topic, rp)
			if err != nil {
				// Produce has no PRODUCER_FENCED: Kafka answers a fenced
				// transactional producer INVALID_PRODUCER_EPOCH here.
				pr.ErrorCode = txnErrorCode(err, req.Version, math.MaxInt16)
				pr.ErrorMessage = errorMessage(err)
				pr.BaseOffset, pr.LogAppendTime, pr.LogStartOffset = -1, -1, -1
				c.log.Debug("produce refused", "topic", rt.Topic, "partition", rp.Partition, "err", err)
				continue
			}
			pr.BaseOffset, pr.LogAppendTime = res.BaseOffset, res.LogAppendTime
			pr.LogStartOffset, _ = part.Offsets()
			if req.Acks == -1 || req.Acks == 1 && part.NeedsFlush() {
				waits = append(waits, flushWait{part, res, pr})
			}
		}
		resp.Topics = append(resp.Topics, tr)
	}
	if req.Acks == 0 {
		if len(waits) > 0 {
			go flushAll(waits) // flush.messages still applies
		}
		return ready(nil)
	}
	if len(waits) == 0 {
		return ready(resp)
	}
	return c.later(func() kmsg.Response {
		flushAll(waits)
		return resp
	})
}

var (
	errUnsupportedProduceVersion = errors.New("produce v0-2 (message format v0/v1) is not supported; use a client that sends record batch v2")
	errTransactionalProduce      = errors.New("transactional batches need a transactional id in the request, and only they may carry one")
	errInvalidAcks               = errors.New("acks must be -1, 0 or 1")
)

// produceOne validates and appends one partition's data.
func (c *conn) produceOne(req *kmsg.ProduceRequest, topic string, rp kmsg.ProduceRequestTopicPartition) (*log.Partition, log.AppendResult, error) {
	var none log.AppendResult
	if req.Version < 3 {
		return nil, none, errUnsupportedProduceVersion
	}
	if req.Acks != -1 && req.Acks != 0 && req.Acks != 1 {
		return nil, none, fmt.Errorf("%w: got %d", errInvalidAcks, req.Acks)
	}
	if err := refuseInternalAppend(c.clientID, topic); err != nil {
		return nil, none, err
	}
	part, err := c.s.store.Partition(topic, rp.Partition)
	if err != nil {
		return nil, none, err
	}
	batches, err := batch.Split(rp.Records)
	if err != nil {
		return nil, none, err
	}
	if len(batches) != 1 {
		return nil, none, fmt.Errorf("%w: want exactly one record batch per partition, got %d", batch.ErrInvalidRecord, len(batches))
	}
	cfg := part.Config()
	h, err := batch.Validate(batches[0], cfg.MaxMessageBytes, cfg.CleanupCompact)
	if err != nil {
		return nil, none, err
	}
	if h.Transactional() != (req.TransactionID != nil) {
		return nil, none, errTransactionalProduce
	}
	if h.Transactional() {
		err := c.s.txns.CheckProduce(txn.Producer{ID: h.ProducerID, Epoch: h.ProducerEpoch}, txn.TopicPartition{Topic: topic, Partition: rp.Partition})
		if err != nil {
			return nil, none, err
		}
	}
	res, err := part.Append(batches[0])
	return part, res, err
}

// flushAll makes every waited-on partition durable, in parallel; a failed
// flush turns that partition's answer into an error, since the records may
// not survive a crash (or, after a recovery from a storage error, may be
// gone: FlushAppended tells).
func flushAll(waits []flushWait) {
	var wg sync.WaitGroup
	for _, w := range waits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.p.FlushAppended(w.res); err != nil {
				w.resp.ErrorCode = errorCode(err)
				w.resp.ErrorMessage = errorMessage(err)
				w.resp.BaseOffset = -1
			}
		}()
	}
	wg.Wait()
}
