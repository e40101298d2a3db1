package broker

// Transactions: the glue between the wire APIs (add_partitions_to_txn.go,
// add_offsets_to_txn.go, txn_offset_commit.go, end_txn.go, InitProducerId
// with a transactional id) and the coordinator in broker/txn, and the
// read_committed helpers Fetch uses.

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnConfig reads the transaction coordinator's broker properties.
func txnConfig(props map[string]string) (txn.Config, error) {
	var cfg txn.Config
	if v, ok := props["transaction.max.timeout.ms"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("transaction.max.timeout.ms=%q: want a whole number of milliseconds, at least 1", v)
		}
		cfg.MaxTimeout = time.Duration(n) * time.Millisecond
	}
	if v, ok := props["transaction.state.log.num.partitions"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return cfg, fmt.Errorf("transaction.state.log.num.partitions=%q: want a whole number from 1 to 10000", v)
		}
		cfg.StatePartitions = n
	}
	if v, ok := props["transaction.abort.timed.out.transaction.cleanup.interval.ms"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("transaction.abort.timed.out.transaction.cleanup.interval.ms=%q: want a whole number of milliseconds, at least 1", v)
		}
		cfg.Tick = time.Duration(n) * time.Millisecond
	}
	expiration, err := wholeNumber(props, "transactional.id.expiration.ms", 604800000, 1, math.MaxInt32)
	if err != nil {
		return cfg, err
	}
	cfg.IDExpiration = time.Duration(expiration) * time.Millisecond
	interval, err := wholeNumber(props, "transaction.remove.expired.transaction.cleanup.interval.ms", 3600000, 1, math.MaxInt32)
	if err != nil {
		return cfg, err
	}
	cfg.RemoveExpiredInterval = time.Duration(interval) * time.Millisecond
	return cfg, nil
}

// belowOffset cuts records (whole batches) to those starting below lso. A
// batch never straddles the LSO: the LSO is the base offset of the oldest
// open transaction's first batch, or the high watermark.
func belowOffset(records []byte, lso int64) []byte {
	pos := 0
	for pos+batch.HeaderSize <= len(records) {
		h, err := batch.ParseHeader(records[pos:])
		if err != nil || h.BaseOffset >= lso {
			break
		}
		pos += h.Size()
	}
	return records[:min(pos, len(records))]
}

// abortedIn lists the aborted transactions a read_committed fetch of
// [from, lso) must skip.
func abortedIn(part *log.Partition, from, lso int64) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	ab := part.AbortedTransactions(from, lso)
	out := make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, 0, len(ab))
	for _, a := range ab {
		t := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		t.ProducerID, t.FirstOffset = a.ProducerID, a.FirstOffset
		out = append(out, t)
	}
	return out
}
