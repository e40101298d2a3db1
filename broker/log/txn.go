package log

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sluicehq/sluice/broker/batch"
)

// Transactions in the log.
//
// A transactional producer's batches carry the transactional attribute; the
// first one a producer appends opens its transaction on this partition at
// that batch's base offset. The coordinator ends it by appending a control
// batch (a commit or abort marker, see ControlType). While any transaction
// is open, the last stable offset (LSO) is the first offset of the oldest
// one; otherwise it is the high watermark. read_committed consumers read only
// below the LSO and skip the data of aborted transactions, which the
// partition remembers as (producer id, first offset, marker offset).
//
// The open and aborted transactions are kept with the producer state
// snapshot and rebuilt from the batches after it on recovery.

// Control record types (the int16 after the version in a marker's key).
const (
	ControlAbort  int16 = 0
	ControlCommit int16 = 1
)

// AbortedTxn is one aborted transaction on a partition: its data lies in
// [FirstOffset, LastOffset), LastOffset being the abort marker's offset.
type AbortedTxn struct {
	ProducerID  int64 `json:"pid"`
	FirstOffset int64 `json:"first"`
	LastOffset  int64 `json:"last"`
}

// txnState is a partition's open and aborted transactions.
type txnState struct {
	Ongoing map[int64]int64 `json:"ongoing,omitempty"` // producer id → first offset
	Aborted []AbortedTxn    `json:"aborted,omitempty"` // in marker offset order
}

func (t *txnState) clone() txnState {
	c := txnState{Ongoing: make(map[int64]int64, len(t.Ongoing)), Aborted: slices.Clone(t.Aborted)}
	for id, off := range t.Ongoing {
		c.Ongoing[id] = off
	}
	return c
}

// update applies one appended batch; controlType is the marker's type for a
// control batch and ignored otherwise.
func (t *txnState) update(h batch.Header, controlType int16) {
	if !h.Transactional() || h.ProducerID < 0 {
		return
	}
	if t.Ongoing == nil {
		t.Ongoing = map[int64]int64{}
	}
	first, open := t.Ongoing[h.ProducerID]
	if !h.Control() {
		if !open {
			t.Ongoing[h.ProducerID] = h.BaseOffset
		}
		return
	}
	delete(t.Ongoing, h.ProducerID)
	if open && controlType == ControlAbort {
		t.Aborted = append(t.Aborted, AbortedTxn{ProducerID: h.ProducerID, FirstOffset: first, LastOffset: h.BaseOffset})
	}
}

// lso returns the last stable offset given the log end offset.
func (t *txnState) lso(leo int64) int64 {
	lso := leo
	for _, first := range t.Ongoing {
		lso = min(lso, first)
	}
	return lso
}

// trim forgets aborted transactions wholly below the log start offset.
func (t *txnState) trim(logStart int64) {
	i := 0
	for i < len(t.Aborted) && t.Aborted[i].LastOffset < logStart {
		i++
	}
	if i > 0 {
		t.Aborted = slices.Delete(t.Aborted, 0, i)
	}
}

// ControlType returns the marker type (ControlAbort or ControlCommit) of a
// control batch b.
func ControlType(b []byte) (int16, error) {
	recs, err := batch.Records(b)
	if err != nil {
		return 0, fmt.Errorf("read control batch: %w", err)
	}
	if len(recs) == 0 || len(recs[0].Key) < 4 {
		return 0, fmt.Errorf("read control batch: no control record key: %w", batch.ErrInvalidRecord)
	}
	return int16(binary.BigEndian.Uint16(recs[0].Key[2:])), nil
}

// EncodeMarker builds the control batch that ends producerID's transaction
// with a commit or an abort, as the coordinator writes it.
func EncodeMarker(producerID int64, epoch int16, commit bool, coordinatorEpoch int32, nowMs int64) ([]byte, error) {
	typ := ControlAbort
	if commit {
		typ = ControlCommit
	}
	key := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), uint16(typ))
	val := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 0), uint32(coordinatorEpoch))
	return batch.Encode(batch.EncodeOptions{
		ProducerID: producerID, ProducerEpoch: epoch, BaseSequence: -1,
		Transactional: true, Control: true,
	}, []batch.Record{{Timestamp: nowMs, Key: key, Value: val}})
}

// LastStableOffset returns the offset below which every transaction is
// decided: the first offset of the oldest open transaction, else the high
// watermark.
func (p *Partition) LastStableOffset() int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.txns.lso(p.leo)
}

// AbortedTransactions returns the aborted transactions whose data overlaps
// [from, to): what a read_committed fetch of that range must skip.
func (p *Partition) AbortedTransactions(from, to int64) []AbortedTxn {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var out []AbortedTxn
	for _, a := range p.txns.Aborted {
		if a.LastOffset >= from && a.FirstOffset < to {
			out = append(out, a)
		}
	}
	return out
}

// ProducerInfo describes one producer active on a partition, for
// DescribeProducers.
type ProducerInfo struct {
	ProducerID   int64
	Epoch        int16
	LastSequence int32 // -1 when none is remembered
	// LastTimestamp is the wall-clock time of its last append (ms).
	LastTimestamp int64
	// TxnStartOffset is the first offset of its open transaction, or -1.
	TxnStartOffset int64
}

// Producers returns the producers whose state the partition holds.
func (p *Partition) Producers() []ProducerInfo {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]ProducerInfo, 0, len(p.producers))
	for id, e := range p.producers {
		info := ProducerInfo{ProducerID: id, Epoch: e.Epoch, LastSequence: -1, LastTimestamp: e.LastAppend, TxnStartOffset: -1}
		if n := len(e.Batches); n > 0 {
			info.LastSequence = e.Batches[n-1].LastSeq
		}
		if first, ok := p.txns.Ongoing[id]; ok {
			info.TxnStartOffset = first
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ProducerInfo) int { return cmp.Compare(a.ProducerID, b.ProducerID) })
	return out
}
