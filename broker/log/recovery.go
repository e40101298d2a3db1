package log

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/broker/batch"
)

// openPartition loads a partition directory, creating it if needed.
//
// After an unclean shutdown the last segment, the only one that can hold
// unsynced data (a segment is fsynced when it rolls), is scanned batch by
// batch: each batch's length and offsets are checked, and past the recovery
// point (offsets known fsynced) its CRC too; the file is cut at the first
// bad batch — a torn write, or garbage a crash left behind. Sealed segments
// are trusted: their indexes are loaded, or rebuilt when missing or
// inconsistent, and a corrupt batch found in one (bit rot, a stray write) is
// never cut and never fatal: it is logged, the batches before it stay
// readable, and a read that reaches it fails with batch.ErrCorrupt.
func openPartition(st *Store, topic string, id int32, cfg *Config, recoveryPoint int64, clean bool) (*Partition, error) {
	p := &Partition{
		Topic: topic, ID: id, store: st,
		dir: filepath.Join(st.opts.Dir, fmt.Sprintf("%s-%d", topic, id)),
		fs:  st.opts.FS, files: st.files, now: st.opts.Now,
		log: st.log.With("topic", topic, "partition", id),
	}
	p.cfg.Store(cfg)
	if err := p.fs.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create partition directory %s-%d: %w", topic, id, err)
	}
	if err := p.load(recoveryPoint, clean); err != nil {
		p.closeFiles()
		return nil, fmt.Errorf("open partition %s-%d: %w", topic, id, err)
	}
	return p, nil
}

// resetLocked clears the in-memory state load rebuilds.
func (p *Partition) resetLocked() {
	p.segments = nil
	p.leo, p.logStart = 0, 0
	p.producers = producerStates{}
	p.txns = txnState{}
	if p.notify == nil {
		p.notify = make(chan struct{}) // a reload keeps the channel fetches wait on
	}
	p.snapshotAt = -1
	p.unflushed = 0
	p.lastFlushTime = p.now()
}

func (p *Partition) load(recoveryPoint int64, clean bool) error {
	p.resetLocked()
	entries, err := p.fs.ReadDir(p.dir)
	if err != nil {
		return err
	}
	if err := p.completeSwaps(entries); err != nil {
		return err
	}
	if entries, err = p.fs.ReadDir(p.dir); err != nil {
		return err
	}
	var segs []*segment
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, ".deleted"), strings.HasSuffix(name, ".tmp"), strings.HasSuffix(name, ".cleaned"), strings.HasSuffix(name, ".swap"):
			if err := p.fs.Remove(filepath.Join(p.dir, name)); err != nil {
				return err
			}
		case strings.HasSuffix(name, ".log"):
			base, err := strconv.ParseInt(strings.TrimSuffix(name, ".log"), 10, 64)
			if err != nil || len(name) != 24 {
				return fmt.Errorf("unexpected file %s", name)
			}
			info, err := e.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", name, err)
			}
			segs = append(segs, openSegment(p.files, p.dir, base, info.Size(), info.ModTime()))
		}
	}
	slices.SortFunc(segs, func(a, b *segment) int { return cmp.Compare(a.base, b.base) })
	if b, err := readFile(p.fs, filepath.Join(p.dir, logStartFile)); err == nil {
		p.logStart, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", logStartFile, err)
	}
	if len(segs) == 0 {
		seg, err := createSegment(p.files, p.dir, p.logStart, p.now())
		if err != nil {
			return err
		}
		p.segments = []*segment{seg}
		p.leo = p.logStart
		p.durable.Store(p.leo)
		return nil
	}
	p.segments = segs
	if err := p.recoverSegments(recoveryPoint, clean); err != nil {
		return err
	}
	last := p.segments[len(p.segments)-1]
	p.leo = last.next
	p.logStart = max(p.logStart, p.segments[0].base)
	p.logStart = min(p.logStart, p.leo)
	p.durable.Store(p.leo)
	return p.loadProducers()
}

func (p *Partition) recoverSegments(recoveryPoint int64, clean bool) error {
	interval := p.cfg.Load().IndexIntervalBytes
	for i := 0; i < len(p.segments); i++ {
		seg := p.segments[i]
		last := i == len(p.segments)-1
		if !last && seg.loadIndexes() == nil {
			seg.next = p.segments[i+1].base
			continue
		}
		if !clean && last {
			// May hold unsynced data: cut at the first bad batch.
			if err := p.recoverTail(seg, interval, recoveryPoint); err != nil {
				return err
			}
			continue
		}
		corruptAt, err := seg.rebuild(interval, -1)
		if err != nil {
			return err
		}
		if corruptAt >= 0 {
			p.log.Error("segment has a corrupt batch; the batches before it stay readable, a read that reaches it fails",
				"segment", filepath.Base(seg.path(".log")), "position", corruptAt, "offset", seg.next)
		}
		if !last {
			seg.next = p.segments[i+1].base
			if err := seg.writeIndexes(); err != nil {
				return err
			}
			continue
		}
		if corruptAt >= 0 {
			// The active segment of a clean shutdown: keep it whole as a
			// sealed segment ending where the log ended, and append to a
			// new one.
			return p.sealCorruptLast(seg, recoveryPoint)
		}
	}
	return nil
}

// recoverTail cuts the last segment of an unclean shutdown at its first bad
// batch.
func (p *Partition) recoverTail(seg *segment, interval int, recoveryPoint int64) error {
	corruptAt, err := seg.rebuild(interval, recoveryPoint)
	if err != nil || corruptAt < 0 {
		return err
	}
	if err := seg.log.Truncate(corruptAt); err != nil {
		return fmt.Errorf("truncate %s at %d: %w", seg.fileName(".log"), corruptAt, err)
	}
	if err := seg.log.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", seg.fileName(".log"), err)
	}
	p.log.Warn("truncated a torn or corrupt log tail", "segment", seg.fileName(".log"),
		"from_bytes", seg.size.Load(), "to_bytes", corruptAt, "log_end_offset", seg.next)
	seg.size.Store(corruptAt)
	return nil
}

// sealCorruptLast seals a last segment found corrupt after a clean shutdown,
// whose end offset the checkpoint knows, and starts a new active segment.
func (p *Partition) sealCorruptLast(seg *segment, recoveryPoint int64) error {
	seg.next = max(seg.next, recoveryPoint)
	if err := seg.writeIndexes(); err != nil {
		return err
	}
	next, err := createSegment(p.files, p.dir, seg.next, p.now())
	if err != nil {
		return err
	}
	p.segments = append(p.segments, next)
	return nil
}

// loadIndexes reads a sealed segment's index files and checks them.
func (s *segment) loadIndexes() error {
	size := s.size.Load()
	b, err := s.files.readFile(s.path(".index"))
	if err != nil {
		return err
	}
	oe, err := loadOffsetIndex(b, size)
	if err != nil {
		return err
	}
	if b, err = s.files.readFile(s.path(".timeindex")); err != nil {
		return err
	}
	te, err := loadTimeIndex(b)
	if err != nil {
		return err
	}
	if size > 0 && len(te) == 0 {
		return errors.New("time index is empty")
	}
	if n := len(oe); n > 0 {
		// The last entry must point at a batch with the offset it claims.
		h, err := s.readHeader(int64(oe[n-1].pos), size)
		if err != nil || h.BaseOffset != s.base+int64(oe[n-1].rel) {
			return errors.New("offset index does not match the log")
		}
	}
	s.index.entries, s.tindex.entries = oe, te
	if n := len(te); n > 0 {
		s.maxTS, s.maxTSAt = te[n-1].ts, s.base+int64(te[n-1].rel)
	}
	return nil
}

// rebuild scans the segment, rebuilding its in-memory indexes, and returns
// the position of the first bad batch, or -1 when every batch is good. A
// batch is bad when its header does not parse, it runs past the end, or its
// offsets go backwards; at or past verifyFrom (when it is not -1) also when
// its CRC fails or its offsets do not follow on. The caller decides whether
// to cut the file there.
func (s *segment) rebuild(interval int, verifyFrom int64) (int64, error) {
	s.index.entries, s.tindex.entries = nil, nil
	s.maxTS, s.maxTSAt, s.next, s.sinceIndex, s.sinceTime = -1, 0, s.base, 0, 0
	end := s.size.Load()
	pos := int64(0)
	var buf []byte
	for pos < end {
		h, err := s.readHeader(pos, end)
		if err != nil && !errors.Is(err, batch.ErrCorrupt) {
			return -1, err
		}
		if err != nil || h.BaseOffset < s.next || h.LastOffsetDelta < 0 || h.LastOffset()-s.base > math.MaxInt32 {
			return pos, nil
		}
		if verifyFrom >= 0 && h.LastOffset() >= verifyFrom {
			// Past the recovery point the base offset, which the CRC does
			// not cover, may be garbage: appends are contiguous there.
			if h.BaseOffset != s.next {
				return pos, nil
			}
			buf = slices.Grow(buf[:0], h.Size())[:h.Size()]
			if _, err := s.log.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
				return -1, fmt.Errorf("read %s at %d: %w", s.fileName(".log"), pos, err)
			}
			if batch.CheckCRC(buf) != nil {
				return pos, nil
			}
		}
		s.indexBatch(h, pos, interval)
		pos += int64(h.Size())
	}
	return -1, nil
}

// loadProducers restores idempotent producers' state from the snapshot and
// replays the batches after it; without a usable snapshot it replays the
// whole log.
func (p *Partition) loadProducers() error {
	from := p.segments[0].base
	b, err := readFile(p.fs, filepath.Join(p.dir, producerSnapshotFile))
	switch {
	case err == nil:
		snap, derr := decodeProducerSnapshot(b)
		if derr == nil && snap.Offset <= p.leo && snap.Offset >= from {
			p.producers, p.txns, from = snap.Producers, snap.Txns, snap.Offset
		} else {
			p.log.Warn("ignoring producer state snapshot", "offset", snap.Offset, "err", derr)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("read %s: %w", producerSnapshotFile, err)
	}
	nowMs := p.now().UnixMilli()
	for _, seg := range p.segments[p.segmentForLocked(from):] {
		err := p.replaySegment(seg, from, nowMs)
		if errors.Is(err, batch.ErrCorrupt) {
			// A corrupt sealed segment: replay what can be read. A producer
			// whose batches are lost to it only looks new to the partition.
			p.log.Warn("producer state replay skipped the rest of a segment with a corrupt batch",
				"segment", filepath.Base(seg.path(".log")), "err", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// replaySegment applies the batches of seg from offset from on to the
// producer and transaction states.
func (p *Partition) replaySegment(seg *segment, from, nowMs int64) error {
	end := seg.size.Load()
	pos, _, err := seg.find(from, end)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	for pos < end {
		h, err := seg.readHeader(pos, end)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if h.LastOffset() >= seg.next {
			return nil // past the end of a sealed corrupt segment
		}
		if h.BaseOffset >= from {
			ts := int64(-1)
			if h.LogAppendTime() {
				ts = h.MaxTimestamp
			}
			p.producers.update(h, ts, nowMs)
			if err := p.replayTxn(seg, pos, h); err != nil {
				return err
			}
		}
		pos += int64(h.Size())
	}
	return nil
}

// replayTxn applies the batch at pos to the transaction state on recovery;
// only a control batch needs its body read.
func (p *Partition) replayTxn(seg *segment, pos int64, h batch.Header) error {
	if !h.Transactional() {
		return nil
	}
	var ctl int16
	if h.Control() {
		buf := make([]byte, h.Size())
		if _, err := seg.log.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s at %d: %w", seg.fileName(".log"), pos, err)
		}
		var err error
		if ctl, err = ControlType(buf); err != nil {
			return fmt.Errorf("replay marker at offset %d: %w", h.BaseOffset, err)
		}
	}
	p.txns.update(h, ctl)
	return nil
}

// snapshotProducers writes the producer states as of the log end.
// It skips the write when nothing was appended since the last snapshot.
func (p *Partition) snapshotProducers() error {
	p.mu.RLock()
	if p.leo == p.snapshotAt {
		p.mu.RUnlock()
		return nil
	}
	ps, txns, leo := p.producers.clone(), p.txns.clone(), p.leo
	p.mu.RUnlock()
	b, err := ps.encode(leo, txns)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p.fs, p.dir, producerSnapshotFile, b); err != nil {
		return err
	}
	p.mu.Lock()
	p.snapshotAt = leo
	p.mu.Unlock()
	return nil
}

// close flushes (when clean) and closes every file of the partition.
func (p *Partition) close(clean bool) error {
	var errs []error
	if clean {
		p.flushMu.Lock()
		p.mu.Lock()
		werr := p.werr
		p.mu.Unlock()
		if werr == nil {
			if err := p.flushLocked(); err != nil {
				errs = append(errs, err)
			}
			if err := p.snapshotProducers(); err != nil {
				errs = append(errs, err)
			}
		}
		p.flushMu.Unlock()
	}
	p.mu.Lock()
	p.closed = true
	close(p.notify)
	p.notify = make(chan struct{})
	p.mu.Unlock()
	p.removeDeleted(p.now(), 0)
	p.closeFiles()
	return errors.Join(errs...)
}

func (p *Partition) closeFiles() {
	for _, s := range p.segments {
		s.close()
	}
}
