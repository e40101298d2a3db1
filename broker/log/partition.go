package log

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
)

// Partition is one partition's log: an ordered list of segments, the last of
// which takes appends.
//
// Lock order: flushMu before mu. mu guards the segment list, the end offset,
// the producer states and the sticky write error; reads take it only to
// capture a segment and its published size, then read the file unlocked.
type Partition struct {
	Topic string
	ID    int32

	dir   string
	fs    FS
	files *fileCache
	log   *slog.Logger
	cfg   atomic.Pointer[Config]
	now   func() time.Time
	store *Store

	mu        sync.RWMutex
	segments  []*segment
	leo       int64 // log end offset: next offset to assign (= high watermark on one node)
	logStart  int64
	producers producerStates
	txns      txnState
	// werr is sticky: set by a failed write or sync, it refuses writes
	// until recoverWrites repairs the partition (failure.go).
	werr            error
	wfail           failKind // what the failures since werr left behind
	werrAt, retryAt time.Time
	backoff         time.Duration
	notify          chan struct{}
	closed          bool
	deleting        []pendingDelete
	// snapshotAt is the log end offset of the last producer state
	// snapshot written; -1 before the first.
	snapshotAt int64

	unflushed     int64 // messages appended since the last fsync (flush.messages)
	lastFlushTime time.Time

	flushMu sync.Mutex
	durable atomic.Int64 // every offset below this is fsynced
	// generation changes when a recovery drops offsets that were not
	// durable; FlushAppended compares it with the append's.
	generation atomic.Uint64
}

type pendingDelete struct {
	seg *segment
	at  time.Time
}

// AppendResult describes where a batch landed.
type AppendResult struct {
	BaseOffset int64
	LastOffset int64
	// LogAppendTime is the broker timestamp stamped on the batch, or -1 when
	// the topic keeps producers' CreateTime.
	LogAppendTime int64
	// Duplicate is set when an idempotent producer resent a batch already in
	// the log; the offsets are the original ones and nothing was written.
	Duplicate bool
	// Generation is the partition's generation at the append (see
	// FlushAppended).
	Generation uint64
}

// Config returns the partition's current effective config.
func (p *Partition) Config() Config { return *p.cfg.Load() }

// Append writes one validated batch (the caller checked CRC and records).
// It stamps the batch's base offset and leader epoch in place, and the log
// append time when the topic asks for it. The data is in the page cache when
// Append returns; call Flush to make it durable.
func (p *Partition) Append(b []byte) (AppendResult, error) {
	h, err := batch.ParseHeader(b)
	if err != nil {
		return AppendResult{}, err
	}
	var ctl int16
	if h.Control() {
		if ctl, err = ControlType(b); err != nil {
			return AppendResult{}, err
		}
	}
	cfg := p.cfg.Load()
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return AppendResult{}, fmt.Errorf("append to %s-%d: %w", p.Topic, p.ID, ErrClosed)
	}
	if p.werr != nil {
		return AppendResult{}, fmt.Errorf("append to %s-%d: %w: %w", p.Topic, p.ID, ErrStorage, p.werr)
	}
	if h.ProducerID >= 0 && !h.Control() {
		dup, err := p.producers.check(h)
		if err != nil {
			return AppendResult{}, err
		}
		if dup != nil {
			return AppendResult{BaseOffset: dup.FirstOffset, LastOffset: dup.LastOffset, LogAppendTime: dup.Timestamp,
				Duplicate: true, Generation: p.generation.Load()}, nil
		}
	}
	if err := p.maybeRollLocked(len(b), cfg, now); err != nil {
		return AppendResult{}, err
	}
	batch.SetBaseOffset(b, p.leo)
	batch.SetLeaderEpoch(b, LeaderEpoch)
	appendTime := int64(-1)
	if cfg.LogAppendTime {
		appendTime = now.UnixMilli()
		batch.SetLogAppendTime(b, appendTime)
	}
	h.BaseOffset = p.leo
	if appendTime >= 0 {
		h.MaxTimestamp = appendTime
	}
	seg := p.segments[len(p.segments)-1]
	if err := seg.appendBatch(b, h, cfg.IndexIntervalBytes); err != nil {
		p.failLocked(err, failWrite)
		return AppendResult{}, fmt.Errorf("append to %s-%d: %w: %w", p.Topic, p.ID, ErrStorage, err)
	}
	p.leo = h.LastOffset() + 1
	p.producers.update(h, appendTime, now.UnixMilli())
	p.txns.update(h, ctl)
	p.unflushed += int64(h.NumRecords)
	close(p.notify)
	p.notify = make(chan struct{})
	return AppendResult{BaseOffset: h.BaseOffset, LastOffset: h.LastOffset(), LogAppendTime: appendTime, Generation: p.generation.Load()}, nil
}

// LeaderEpoch is the leader epoch of every partition: one node is always the
// leader, and a constant epoch never goes backwards across restarts.
const LeaderEpoch = 0

// maybeRollLocked starts a new segment when the active one would pass
// segment.bytes or is older than segment.ms. The old segment is sealed and
// fsynced first, so everything before the new segment's base is durable.
func (p *Partition) maybeRollLocked(n int, cfg *Config, now time.Time) error {
	active := p.segments[len(p.segments)-1]
	size := active.size.Load()
	if size == 0 {
		return nil
	}
	if size+int64(n) <= cfg.SegmentBytes && now.Sub(active.created) < time.Duration(cfg.SegmentMs)*time.Millisecond {
		return nil
	}
	if err := active.seal(); err != nil {
		p.failLocked(err, failWrite)
		return fmt.Errorf("roll %s-%d: %w: %w", p.Topic, p.ID, ErrStorage, err)
	}
	seg, err := createSegment(p.files, p.dir, p.leo, now)
	if err != nil {
		p.failLocked(err, failWrite)
		return fmt.Errorf("roll %s-%d: %w: %w", p.Topic, p.ID, ErrStorage, err)
	}
	p.segments = append(p.segments, seg)
	p.advanceDurable(active.next)
	p.log.Debug("rolled segment", "base", p.leo)
	return nil
}

func (p *Partition) advanceDurable(off int64) {
	for {
		cur := p.durable.Load()
		if off <= cur || p.durable.CompareAndSwap(cur, off) {
			return
		}
	}
}

// Flush makes every offset below upTo durable. Concurrent callers share
// fsyncs: while one fsync runs the others queue, and the next fsync covers
// all of them (group commit).
func (p *Partition) Flush(upTo int64) error {
	if p.durable.Load() >= upTo {
		return nil
	}
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	if p.durable.Load() >= upTo {
		return nil
	}
	return p.flushLocked()
}

// FlushAppended makes an append durable, like Flush(res.LastOffset+1), and
// fails with ErrStorage when a recovery from a storage error dropped
// offsets since the append: the appended records may be gone even though
// the log now reaches past them.
func (p *Partition) FlushAppended(res AppendResult) error {
	if err := p.Flush(res.LastOffset + 1); err != nil {
		return err
	}
	// Flush and recoverWrites both hold flushMu, and a recovery that drops
	// offsets changes the generation before it lets go of it: a flush that
	// covered the append finished before any such recovery.
	if p.generation.Load() != res.Generation {
		return fmt.Errorf("flush %s-%d: %w: offsets from %d may have been lost to a storage error", p.Topic, p.ID, ErrStorage, res.BaseOffset)
	}
	return nil
}

// flushLocked fsyncs the active segment; flushMu is held.
func (p *Partition) flushLocked() error {
	p.mu.Lock()
	if p.werr != nil {
		err := p.werr
		p.mu.Unlock()
		return fmt.Errorf("flush %s-%d: %w: %w", p.Topic, p.ID, ErrStorage, err)
	}
	seg, end := p.segments[len(p.segments)-1], p.leo
	p.unflushed = 0
	p.lastFlushTime = p.now()
	p.mu.Unlock()
	if err := seg.sync(); err != nil {
		// After a failed fsync the page cache state is unknown: refuse writes.
		p.mu.Lock()
		p.failLocked(err, failSync)
		p.mu.Unlock()
		return fmt.Errorf("flush %s-%d: %w: %w", p.Topic, p.ID, ErrStorage, err)
	}
	p.advanceDurable(end)
	return nil
}

// NeedsFlush reports whether flush.messages asks for a flush now (acks=1
// waits for it).
func (p *Partition) NeedsFlush() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.unflushed > 0 && p.unflushed >= p.cfg.Load().FlushMessages
}

// flushIfOlder is the flush.ms background policy.
func (p *Partition) flushIfOlder(now time.Time) error {
	p.mu.RLock()
	due := p.unflushed > 0 && now.Sub(p.lastFlushTime) >= time.Duration(p.cfg.Load().FlushMs)*time.Millisecond
	leo := p.leo
	p.mu.RUnlock()
	if !due {
		return nil
	}
	return p.Flush(leo)
}

// Offsets returns the log start offset and the high watermark.
func (p *Partition) Offsets() (logStart, highWatermark int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.logStart, p.leo
}

// DurableOffset returns the offset below which everything is fsynced.
func (p *Partition) DurableOffset() int64 { return p.durable.Load() }

// Wait returns a channel closed at the next append, for long-polling fetches.
func (p *Partition) Wait() <-chan struct{} {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.notify
}

// ReadResult is what a fetch gets from one partition.
type ReadResult struct {
	// Records holds whole batches, the first of which contains the requested
	// offset (it may start before it: clients skip the records before).
	Records        []byte
	HighWatermark  int64
	LogStartOffset int64
}

// Read returns whole batches starting with the one holding offset, up to
// maxBytes in total; with minOne, at least one whole batch even if it is
// larger (KIP-74). Reading at the high watermark returns no records. The
// records are read into dst when it has the capacity (callers pool buffers),
// else into a new slice.
func (p *Partition) Read(offset int64, maxBytes int, minOne bool, dst []byte) (ReadResult, error) {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ReadResult{}, fmt.Errorf("read %s-%d: %w", p.Topic, p.ID, ErrUnknownTopic)
	}
	res := ReadResult{HighWatermark: p.leo, LogStartOffset: p.logStart}
	if offset < p.logStart || offset > p.leo {
		p.mu.RUnlock()
		return res, fmt.Errorf("read %s-%d at %d, log is [%d, %d): %w", p.Topic, p.ID, offset, p.logStart, p.leo, ErrOffsetOutOfRange)
	}
	if offset == p.leo {
		p.mu.RUnlock()
		return res, nil
	}
	i := p.segmentForLocked(offset)
	segs := p.segments[i:]
	ends := make([]int64, len(segs))
	for j, s := range segs {
		ends[j] = s.size.Load()
	}
	p.mu.RUnlock()

	// Compaction can leave a segment without the offset; move on to the next.
	for j, seg := range segs {
		data, err := seg.read(offset, ends[j], maxBytes, minOne, dst)
		if err == nil {
			res.Records = data
			return res, nil
		}
		if errors.Is(err, batch.ErrCorrupt) && seg.corruptLogged.CompareAndSwap(false, true) {
			p.log.Error("read found a corrupt batch; fetches reaching it fail with CORRUPT_MESSAGE",
				"segment", filepath.Base(seg.path(".log")), "offset", offset, "err", err)
		}
		if !errors.Is(err, errNotInSegment) {
			return res, fmt.Errorf("read %s-%d at %d: %w", p.Topic, p.ID, offset, err)
		}
	}
	return res, nil
}

// segmentForLocked returns the index of the last segment whose base is at
// or below offset.
func (p *Partition) segmentForLocked(offset int64) int {
	i := sort.Search(len(p.segments), func(i int) bool { return p.segments[i].base > offset })
	return max(i-1, 0)
}

// OffsetForTimestamp returns the first offset whose record timestamp is at or
// after ts, and that timestamp; -1, -1 when there is none (ListOffsets).
func (p *Partition) OffsetForTimestamp(ts int64) (int64, int64, error) {
	p.mu.RLock()
	segs := append([]*segment(nil), p.segments...)
	ends := make([]int64, len(segs))
	maxTS := make([]int64, len(segs))
	for j, s := range segs {
		ends[j], maxTS[j] = s.size.Load(), s.maxTS
	}
	logStart := p.logStart
	p.mu.RUnlock()
	for j, seg := range segs {
		if maxTS[j] < ts {
			continue
		}
		start := seg.base
		if rel, ok := seg.tindex.lookup(ts); ok {
			start = seg.base + int64(rel)
		}
		off, rts, err := seg.firstAtOrAfter(max(start, logStart), ts, ends[j])
		if err != nil {
			return -1, -1, fmt.Errorf("list offsets %s-%d by timestamp %d: %w", p.Topic, p.ID, ts, err)
		}
		if off >= 0 {
			return max(off, logStart), rts, nil
		}
	}
	return -1, -1, nil
}

// MaxTimestamp returns the offset and timestamp of the record with the
// largest timestamp (ListOffsets -3); -1, -1 for an empty log.
func (p *Partition) MaxTimestamp() (int64, int64, error) {
	p.mu.RLock()
	var best *segment
	var end int64
	for _, s := range p.segments {
		if s.maxTS >= 0 && (best == nil || s.maxTS > best.maxTS) {
			best, end = s, s.size.Load()
		}
	}
	var at, ts int64 = -1, -1
	if best != nil {
		at, ts = best.maxTSAt, best.maxTS
	}
	p.mu.RUnlock()
	if best == nil {
		return -1, -1, nil
	}
	off, err := best.offsetOfTimestamp(at, ts, end)
	if err != nil {
		return -1, -1, fmt.Errorf("list offsets %s-%d max timestamp: %w", p.Topic, p.ID, err)
	}
	return off, ts, nil
}

// DeleteRecords moves the log start offset up to offset (DeleteRecords API;
// -1 means the high watermark) and persists it before returning. Whole
// segments below it are removed by the next retention pass.
func (p *Partition) DeleteRecords(offset int64) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if offset == -1 {
		offset = p.leo
	}
	if offset < 0 || offset > p.leo {
		return p.logStart, fmt.Errorf("delete records %s-%d before %d, log ends at %d: %w", p.Topic, p.ID, offset, p.leo, ErrOffsetOutOfRange)
	}
	if offset <= p.logStart {
		return p.logStart, nil
	}
	if err := writeFileAtomic(p.fs, p.dir, logStartFile, fmt.Appendf(nil, "%d\n", offset)); err != nil {
		return p.logStart, fmt.Errorf("delete records %s-%d: persist log start: %w", p.Topic, p.ID, err)
	}
	p.logStart = offset
	p.txns.trim(offset)
	return offset, nil
}

const logStartFile = "log-start-offset"
