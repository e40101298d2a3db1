package log

import (
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
// After an unclean shutdown every segment that may hold data past the
// recovery point (offsets known to be fsynced) is scanned batch by batch:
// each batch's length, offsets and CRC are checked and the file is cut at the
// first bad one — a torn write, or garbage a crash left behind — and any
// later segments are removed. Segments before the recovery point are trusted,
// and their indexes are rebuilt only when missing or inconsistent.
func openPartition(st *Store, topic string, id int32, cfg *Config, recoveryPoint int64, clean bool) (*Partition, error) {
	p := &Partition{
		Topic: topic, ID: id, store: st,
		dir: filepath.Join(st.opts.Dir, fmt.Sprintf("%s-%d", topic, id)),
		fs:  st.opts.FS, now: st.opts.Now,
		log:        st.log.With("topic", topic, "partition", id),
		producers:  producerStates{},
		notify:     make(chan struct{}),
		snapshotAt: -1,
	}
	p.cfg.Store(cfg)
	p.lastFlushTime = p.now()
	if err := p.fs.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create partition directory %s: %w", p.dir, err)
	}
	if err := p.load(recoveryPoint, clean); err != nil {
		p.closeFiles()
		return nil, fmt.Errorf("open partition %s-%d: %w", topic, id, err)
	}
	return p, nil
}

func (p *Partition) load(recoveryPoint int64, clean bool) error {
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
	var bases []int64
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
				return fmt.Errorf("unexpected file %s in %s", name, p.dir)
			}
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	if b, err := readFile(p.fs, filepath.Join(p.dir, logStartFile)); err == nil {
		p.logStart, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", logStartFile, err)
	}
	if len(bases) == 0 {
		seg, err := createSegment(p.fs, p.dir, p.logStart, p.now())
		if err != nil {
			return err
		}
		p.segments = []*segment{seg}
		p.leo = p.logStart
		p.durable.Store(p.leo)
		return nil
	}
	for _, base := range bases {
		seg, err := openSegment(p.fs, p.dir, base)
		if err != nil {
			return err
		}
		p.segments = append(p.segments, seg)
	}
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
		// Only the last segment can hold unsynced data: a segment is fsynced
		// when it rolls, before the next one is created, and the cleaner
		// fsyncs what it swaps in.
		unsafe := !clean && last
		if !unsafe && !last && seg.loadIndexes() == nil {
			if i+1 < len(p.segments) {
				seg.next = p.segments[i+1].base
			}
			continue
		}
		verifyFrom := int64(-1) // no CRC checks
		if unsafe {
			verifyFrom = recoveryPoint
		}
		truncated, err := seg.rebuild(interval, verifyFrom)
		if err != nil {
			return err
		}
		if truncated {
			p.log.Warn("truncated a torn or corrupt log tail", "segment", seg.path(".log"), "size", seg.size.Load())
			for _, later := range p.segments[i+1:] {
				p.log.Warn("removing segment after a corrupt one", "segment", later.path(".log"))
				if err := later.remove(p.fs); err != nil {
					return err
				}
			}
			p.segments = p.segments[:i+1]
			if err := p.fs.SyncDir(p.dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadIndexes reads a sealed segment's index files and checks them.
func (s *segment) loadIndexes() error {
	size := s.size.Load()
	oe, err := loadOffsetIndex(s.index.file, size)
	if err != nil {
		return err
	}
	te, err := loadTimeIndex(s.tindex.file)
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

// rebuild scans the segment, rebuilding its indexes. Batches at or past
// verifyFrom (when it is not -1) also have their CRC checked, and the file is
// cut at the first bad one; batches below it were fsynced before the last
// checkpoint and only need their headers read.
func (s *segment) rebuild(interval int, verifyFrom int64) (truncated bool, err error) {
	s.index.entries, s.tindex.entries = nil, nil
	s.maxTS, s.maxTSAt, s.next, s.sinceIndex, s.sinceTime = -1, 0, s.base, 0, 0
	end := s.size.Load()
	pos := int64(0)
	var buf []byte
	for pos < end {
		h, err := s.readHeader(pos, end)
		if err != nil && !errors.Is(err, batch.ErrCorrupt) {
			return false, err
		}
		if err != nil || h.BaseOffset < s.next || h.LastOffsetDelta < 0 || h.LastOffset()-s.base > math.MaxInt32 {
			break
		}
		if verifyFrom >= 0 && h.LastOffset() >= verifyFrom {
			// Past the recovery point the base offset, which the CRC does
			// not cover, may be garbage: appends are contiguous there.
			if h.BaseOffset != s.next {
				break
			}
			buf = slices.Grow(buf[:0], h.Size())[:h.Size()]
			if _, err := s.log.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
				return false, fmt.Errorf("read %s at %d: %w", s.path(".log"), pos, err)
			}
			if batch.CheckCRC(buf) != nil {
				break
			}
		}
		if err := s.indexBatch(h, pos, interval, false); err != nil {
			return false, err
		}
		pos += int64(h.Size())
	}
	if pos < end {
		if err := s.log.Truncate(pos); err != nil {
			return false, fmt.Errorf("truncate %s at %d: %w", s.path(".log"), pos, err)
		}
		if err := s.log.Sync(); err != nil {
			return false, fmt.Errorf("sync %s: %w", s.path(".log"), err)
		}
		s.size.Store(pos)
		truncated = true
	}
	if err := s.index.rewrite(); err != nil {
		return truncated, fmt.Errorf("rewrite %s: %w", s.path(".index"), err)
	}
	if err := s.tindex.rewrite(); err != nil {
		return truncated, fmt.Errorf("rewrite %s: %w", s.path(".timeindex"), err)
	}
	return truncated, nil
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
		end := seg.size.Load()
		pos, _, err := seg.find(from, end)
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return err
		}
		for pos < end {
			h, err := seg.readHeader(pos, end)
			if err != nil {
				return err
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
			return fmt.Errorf("read %s at %d: %w", seg.path(".log"), pos, err)
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
			last := p.segments[len(p.segments)-1]
			if err := last.sync(); err != nil {
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
	errs = append(errs, p.closeFiles())
	return errors.Join(errs...)
}

func (p *Partition) closeFiles() error {
	var errs []error
	for _, s := range p.segments {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}
