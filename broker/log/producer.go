package log

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/broker/batch"
)

// batchesToRetain is how many recent batches per producer are remembered for
// de-duplication; Kafka keeps 5, which is why clients cap in-flight requests
// at 5 when idempotent.
const batchesToRetain = 5

// producerEntry is the idempotence state of one producer id on one
// partition: its epoch and the metadata of its last few batches.
type producerEntry struct {
	Epoch      int16       `json:"epoch"`
	Batches    []batchMeta `json:"batches"`
	LastAppend int64       `json:"lastAppendMs"` // wall clock, for expiry
}

type batchMeta struct {
	FirstSeq    int32 `json:"firstSeq"`
	LastSeq     int32 `json:"lastSeq"`
	FirstOffset int64 `json:"firstOffset"`
	LastOffset  int64 `json:"lastOffset"`
	Timestamp   int64 `json:"ts"` // log append time or -1
}

type producerStates map[int64]*producerEntry

// check decides what to do with a batch from an idempotent producer: a
// duplicate of a remembered batch returns that batch, a batch that does not
// follow on returns an error, anything else returns nil, nil.
//
// It follows Kafka's ProducerAppendInfo: an unknown producer (its state was
// never seen or was removed with its segments) may start at any sequence; a
// new epoch must start at sequence 0; an older epoch is fenced.
func (ps producerStates) check(h batch.Header) (*batchMeta, error) {
	e := ps[h.ProducerID]
	if e == nil {
		return nil, nil
	}
	switch {
	case h.ProducerEpoch < e.Epoch:
		return nil, fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, e.Epoch)
	case h.ProducerEpoch > e.Epoch:
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d new epoch %d starts at sequence %d, want 0", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	}
	for i := range e.Batches {
		b := &e.Batches[i]
		if b.FirstSeq == h.BaseSequence && b.LastSeq == h.LastSequence() {
			return b, nil
		}
	}
	if n := len(e.Batches); n > 0 {
		last := e.Batches[n-1].LastSeq
		if !inSequence(last, h.BaseSequence) {
			return nil, fmt.Errorf("%w: producer %d sequence %d does not follow %d", ErrOutOfOrderSequence, h.ProducerID, h.BaseSequence, last)
		}
	}
	return nil, nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || last == math.MaxInt32 && next == 0
}

// update records an appended batch; h carries its final offsets.
func (ps producerStates) update(h batch.Header, appendTime, nowMs int64) {
	if h.ProducerID < 0 {
		return
	}
	e := ps[h.ProducerID]
	if h.Control() {
		// A marker written with a bumped epoch fences the older one.
		if e == nil || h.ProducerEpoch > e.Epoch {
			ps[h.ProducerID] = &producerEntry{Epoch: h.ProducerEpoch, LastAppend: nowMs}
		}
		return
	}
	if e == nil || h.ProducerEpoch != e.Epoch {
		e = &producerEntry{Epoch: h.ProducerEpoch}
		ps[h.ProducerID] = e
	}
	if len(e.Batches) == batchesToRetain {
		copy(e.Batches, e.Batches[1:])
		e.Batches = e.Batches[:batchesToRetain-1]
	}
	e.Batches = append(e.Batches, batchMeta{
		FirstSeq: h.BaseSequence, LastSeq: h.LastSequence(),
		FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(), Timestamp: appendTime,
	})
	e.LastAppend = nowMs
}

// expire forgets producers idle since before cutoffMs, as Kafka does after
// producer.id.expiration.ms.
func (ps producerStates) expire(cutoffMs int64) {
	for id, e := range ps {
		if e.LastAppend < cutoffMs {
			delete(ps, id)
		}
	}
}

// producerSnapshot is the file form of the producer states as of Offset:
// recovery loads it and replays only the batches after Offset.
type producerSnapshot struct {
	Offset    int64                    `json:"offset"`
	Producers map[int64]*producerEntry `json:"producers"`
	Txns      txnState                 `json:"txns"`
}

const producerSnapshotFile = "producer-state.snapshot"

func (ps producerStates) encode(offset int64, txns txnState) ([]byte, error) {
	return json.Marshal(producerSnapshot{Offset: offset, Producers: ps, Txns: txns})
}

func decodeProducerSnapshot(b []byte) (producerSnapshot, error) {
	var s producerSnapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return s, err
	}
	if s.Producers == nil {
		s.Producers = map[int64]*producerEntry{}
	}
	return s, nil
}

func (ps producerStates) clone() producerStates {
	c := make(producerStates, len(ps))
	for id, e := range ps {
		ce := *e
		ce.Batches = append([]batchMeta(nil), e.Batches...)
		c[id] = &ce
	}
	return c
}
