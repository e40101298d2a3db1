package worker

import (
	"encoding/json"
	"reflect"
	"sync"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/storage"
)

// submitted tracks a source task's records from Poll until the broker
// acknowledges them (Kafka's SubmittedRecords). A source offset becomes
// committable only when its record and every earlier record of the same
// source partition were acknowledged, so a commit never covers a record
// that could still be lost.
type submitted struct {
	mu    sync.Mutex
	parts map[string]*partQueue
	// last* cache the key of the previous record's partition map: tasks
	// usually reuse one map per source partition.
	lastMap map[string]any
	lastKey string
	pending int
	drained *sync.Cond
}

type partQueue struct {
	partition map[string]any
	queue     []*pendingRecord
	head      int
	committed map[string]any // latest committable offset not yet taken
	hasCommit bool
}

// pendingRecord is one submitted record; ack marks it done.
type pendingRecord struct {
	offset map[string]any
	acked  bool
	q      *partQueue
}

func newSubmitted() *submitted {
	s := &submitted{parts: map[string]*partQueue{}}
	s.drained = sync.NewCond(&s.mu)
	return s
}

// submit registers a record with source partition and offset, in poll
// order. A record without a source partition is tracked by a shared
// partition, so its position is still respected.
func (s *submitted) submit(partition, offset map[string]any) *pendingRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := s.keyLocked(partition)
	q := s.parts[key]
	if q == nil {
		q = &partQueue{partition: partition}
		s.parts[key] = q
	}
	p := &pendingRecord{offset: offset, q: q}
	q.queue = append(q.queue, p)
	s.pending++
	return p
}

func (s *submitted) keyLocked(partition map[string]any) string {
	if partition != nil && s.lastMap != nil && reflect.ValueOf(partition).UnsafePointer() == reflect.ValueOf(s.lastMap).UnsafePointer() {
		return s.lastKey
	}
	b, err := json.Marshal(partition) // sorted keys: a canonical key
	if err != nil {
		b = []byte("?")
	}
	s.lastMap, s.lastKey = partition, string(b)
	return s.lastKey
}

// ack marks p acknowledged and advances its partition's committable
// offset over the acknowledged prefix.
func (s *submitted) ack(p *pendingRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.acked {
		return
	}
	p.acked = true
	s.pending--
	q := p.q
	for q.head < len(q.queue) && q.queue[q.head].acked {
		r := q.queue[q.head]
		q.queue[q.head] = nil
		q.head++
		if r.offset != nil {
			q.committed, q.hasCommit = r.offset, true
		}
	}
	if q.head > 1024 && q.head*2 > len(q.queue) {
		q.queue = append([]*pendingRecord(nil), q.queue[q.head:]...)
		q.head = 0
	}
	if s.pending == 0 {
		s.drained.Broadcast()
	}
}

// take returns the committable offsets gathered since the last take.
func (s *submitted) take() []storage.OffsetEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.OffsetEntry
	for key, q := range s.parts {
		if q.hasCommit {
			out = append(out, storage.OffsetEntry{Partition: q.partition, Offset: q.committed})
			q.hasCommit, q.committed = false, nil
		}
		if q.head == len(q.queue) {
			delete(s.parts, key)
			if s.lastKey == key {
				s.lastMap, s.lastKey = nil, ""
			}
		}
	}
	return out
}

// restore puts entries back after a failed commit, unless newer offsets
// have been gathered meanwhile.
func (s *submitted) restore(entries []storage.OffsetEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		key := s.keyLocked(e.Partition)
		q := s.parts[key]
		if q == nil {
			q = &partQueue{partition: e.Partition}
			s.parts[key] = q
		}
		if !q.hasCommit {
			q.committed, q.hasCommit = e.Offset, true
		}
	}
}

// committedOffsets is what take returned, as SourceTaskCommitter.Commit
// receives it once the offsets are durable.
func committedOffsets(entries []storage.OffsetEntry) []connect.SourceOffset {
	out := make([]connect.SourceOffset, len(entries))
	for i, e := range entries {
		out[i] = connect.SourceOffset{Partition: e.Partition, Offset: e.Offset}
	}
	return out
}

// outstanding returns how many records await acknowledgement.
func (s *submitted) outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending
}
