package log

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
)

// One cleaner pass over a partition:
//
//  1. The cleanable section is the sealed segments (never the active one)
//     up to the first whose largest timestamp is within min.compaction.lag.ms.
//     Its part past the checkpoint's CleanedTo is dirty.
//  2. An offset map, key → latest offset, is built from the dirty segments.
//  3. Every cleanable segment, from the log start, is rewritten in groups of
//     consecutive segments up to segment.bytes, keeping a record unless the
//     map holds a later offset for its key, or it is a tombstone past its
//     delete horizon. Kept records keep their offsets, timestamps and
//     headers; a batch whose records all stay is copied byte for byte, a
//     thinned one is re-encoded with its codec, base offset, last offset
//     delta and producer id, epoch and base sequence; an emptied one is
//     dropped; control batches are copied untouched.
//  4. Each group's cleaned segment replaces the old ones (compact_swap.go).
//
// Dropping emptied batches would lose idempotent producers' state if
// recovery replayed the log to rebuild it, so before the first swap the
// cleaner writes a producer state snapshot at a fsynced offset past every
// batch it may remove: recovery then starts from that snapshot.

// maxOffsetMapKeys bounds one pass's offset map; the pass stops taking
// dirty segments once the map holds this many keys, and the next pass goes on.
const maxOffsetMapKeys = 1 << 20

// cleanHook lets tests stop a pass at a named step; nil in production.
type cleanHook func(step string) error

// cleanStats describes one pass.
type cleanStats struct {
	readBytes    int64
	writtenBytes int64
	removed      int64 // records
	cleanedTo    int64
}

// cleanView is what a pass works on, captured under the lock: the cleanable
// segments, their published sizes, and where each ends (the next segment's
// base).
type cleanView struct {
	segs   []*segment
	ends   []int64
	bounds []int64
	leo    int64
}

func (p *Partition) cleanView(now time.Time, cfg *Config) cleanView {
	p.mu.RLock()
	defer p.mu.RUnlock()
	v := cleanView{leo: p.leo}
	if p.closed {
		return v
	}
	cutoff := now.UnixMilli() - cfg.MinCompactionLagMs
	lso := p.txns.lso(p.leo)
	for i, s := range p.segments[:len(p.segments)-1] {
		if cfg.MinCompactionLagMs > 0 && s.maxTS > cutoff {
			break
		}
		// Never clean data of a transaction still open: its outcome decides
		// whether those records count.
		if p.segments[i+1].base > lso {
			break
		}
		v.segs = append(v.segs, s)
		v.ends = append(v.ends, s.size.Load())
		v.bounds = append(v.bounds, p.segments[i+1].base)
	}
	return v
}

// cleanable returns the partition's dirty ratio (dirty bytes over
// cleanable bytes) and whether a pass is due: the ratio reaches
// min.cleanable.dirty.ratio, kept tombstones are past their horizon, or the
// oldest dirty record is older than max.compaction.lag.ms.
func (p *Partition) cleanable(now time.Time) (float64, bool, error) {
	cfg := p.cfg.Load()
	cp, err := p.readCleanerCheckpoint()
	if err != nil {
		return 0, false, err
	}
	v := p.cleanView(now, cfg)
	cp.clamp(v.leo)
	var total, dirty int64
	for i := range v.segs {
		total += v.ends[i]
		if v.bounds[i] > cp.CleanedTo {
			dirty += v.ends[i]
		}
	}
	if total == 0 {
		return 0, false, nil
	}
	ratio := float64(dirty) / float64(total)
	due := dirty > 0 && ratio >= cfg.MinCleanableRatio ||
		len(v.segs) > 0 && cp.tombstonesDue(now.UnixMilli(), cfg.DeleteRetentionMs) ||
		dirty > 0 && p.pastMaxCompactionLag(v, cp.CleanedTo, now)
	return ratio, due, nil
}

// pastMaxCompactionLag reports whether the oldest dirty record is older
// than max.compaction.lag.ms, which forces a pass whatever the ratio. The
// first batch's timestamp of a segment is its first time index entry.
func (p *Partition) pastMaxCompactionLag(v cleanView, cleanedTo int64, now time.Time) bool {
	lag := p.maxCompactionLagMs()
	if lag <= 0 || lag == math.MaxInt64 {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for i, s := range v.segs {
		if v.bounds[i] > cleanedTo {
			return len(s.tindex.entries) > 0 && s.tindex.entries[0].ts < now.UnixMilli()-lag
		}
	}
	return false
}

// maxCompactionLagMs resolves max.compaction.lag.ms (Config does not carry
// it): the topic override, else the broker default, else the built-in one.
func (p *Partition) maxCompactionLagMs() int64 {
	v, ok := "", false
	if t, found := p.store.Topic(p.Topic); found {
		v, ok = t.Overrides["max.compaction.lag.ms"]
	}
	if !ok {
		v, ok = p.store.opts.Defaults["max.compaction.lag.ms"]
	}
	if !ok {
		d, _ := LookupTopicConfig("max.compaction.lag.ms")
		v = d.Default
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// clean runs one pass over the partition.
func (p *Partition) clean(now time.Time, hook cleanHook) (cleanStats, error) {
	var st cleanStats
	cfg := p.cfg.Load()
	cp, err := p.readCleanerCheckpoint()
	if err != nil {
		return st, err
	}
	v := p.cleanView(now, cfg)
	cp.clamp(v.leo)
	if len(v.segs) == 0 {
		return st, nil
	}
	f := &compactFilter{
		offsets: map[string]int64{}, cp: &cp,
		nowMs: now.UnixMilli(), retentionMs: cfg.DeleteRetentionMs,
		aborted: p.AbortedTransactions(0, v.leo),
	}
	n := len(v.segs)
	for i, s := range v.segs {
		if v.bounds[i] <= cp.CleanedTo {
			continue
		}
		if len(f.offsets) >= maxOffsetMapKeys {
			n = i
			break
		}
		if err := f.mapSegment(s, v.ends[i]); err != nil {
			return st, err
		}
	}
	st.cleanedTo = v.bounds[n-1]
	snapshotted := false
	for i := 0; i < n; {
		j, size := i+1, v.ends[i]
		for j < n && size+v.ends[j] <= cfg.SegmentBytes && v.bounds[j]-1-v.segs[i].base <= math.MaxInt32 {
			size += v.ends[j]
			j++
		}
		out, err := p.cleanGroup(v.segs[i:j], v.ends[i:j], v.bounds[j-1], f, cfg.IndexIntervalBytes)
		if err != nil {
			return st, err
		}
		st.readBytes += size
		if out != nil {
			if !snapshotted {
				if err := p.snapshotForCleaner(); err != nil {
					p.discardCleaned(out, ".cleaned")
					return st, err
				}
				snapshotted = true
			}
			st.writtenBytes += out.size.Load()
			if err := p.swapCleaned(v.segs[i:j], out, hook); err != nil {
				return st, err
			}
		} else {
			st.writtenBytes += size
		}
		i = j
	}
	st.removed = f.removed
	cp.record(st.cleanedTo, f.nowMs, cfg.DeleteRetentionMs, f.keptTombstones)
	return st, p.writeCleanerCheckpoint(cp)
}

// cleanGroup writes the cleaned form of a group of consecutive segments to
// .cleaned files, fsynced. It returns nil when the group is a single segment
// that cleaning would not change: there is nothing to swap.
func (p *Partition) cleanGroup(group []*segment, ends []int64, groupEnd int64, f *compactFilter, interval int) (*segment, error) {
	out, err := p.createCleaned(group[0].base, group[0].created)
	if err != nil {
		return nil, err
	}
	removedBefore := f.removed
	for k, s := range group {
		err := eachBatch(s, ends[k], func(raw []byte, h batch.Header) error {
			kept, err := f.batch(raw, h)
			if err != nil || kept == nil {
				return err
			}
			if len(kept) != len(raw) {
				if h, err = batch.ParseHeader(kept); err != nil {
					return err
				}
			}
			return out.appendBatch(kept, h, interval)
		})
		if err != nil {
			p.discardCleaned(out, ".cleaned")
			return nil, fmt.Errorf("clean segment %s: %w", s.fileName(".log"), err)
		}
	}
	if len(group) == 1 && f.removed == removedBefore {
		p.discardCleaned(out, ".cleaned")
		return nil, nil
	}
	out.next = groupEnd
	if err := out.seal(); err != nil {
		p.discardCleaned(out, ".cleaned")
		return nil, err
	}
	return out, nil
}

// createCleaned creates the .log.cleaned file of a segment with the given
// base; sealing it writes its .index.cleaned and .timeindex.cleaned. Its path
// method gives the final names, which the files get at the swap.
func (p *Partition) createCleaned(base int64, created time.Time) (*segment, error) {
	s := &segment{base: base, dir: p.dir, files: p.files, idxSuffix: ".cleaned", next: base, maxTS: -1, created: created}
	var err error
	if s.log, err = p.files.create(s.path(".log")+".cleaned", os.O_CREATE|os.O_RDWR|os.O_TRUNC); err != nil {
		return nil, fmt.Errorf("create %s: %w", s.fileName(".log")+".cleaned", err)
	}
	return s, nil
}

// eachBatch calls fn with every batch of s below end, read whole.
func eachBatch(s *segment, end int64, fn func(raw []byte, h batch.Header) error) error {
	var buf []byte
	for pos := int64(0); pos < end; {
		h, err := s.readHeader(pos, end)
		if err != nil {
			return err
		}
		if cap(buf) < h.Size() {
			buf = make([]byte, h.Size())
		}
		raw := buf[:h.Size()]
		if _, err := s.log.ReadAt(raw, pos); err != nil {
			return fmt.Errorf("read %s at %d: %w", s.fileName(".log"), pos, err)
		}
		if err := fn(raw, h); err != nil {
			return err
		}
		pos += int64(h.Size())
	}
	return nil
}

// compactFilter decides which records a pass keeps.
type compactFilter struct {
	offsets     map[string]int64 // key → latest offset in the dirty section
	cp          *cleanerCheckpoint
	nowMs       int64
	retentionMs int64

	removed        int64
	keptTombstones bool // tombstones seen for the first time, kept until their horizon
	// aborted are the partition's aborted transactions: their records never
	// count as a key's latest value, so they cannot displace committed ones.
	aborted []AbortedTxn
}

// inAborted reports whether a transactional batch belongs to an aborted
// transaction.
func (f *compactFilter) inAborted(h batch.Header) bool {
	if !h.Transactional() {
		return false
	}
	for _, a := range f.aborted {
		if a.ProducerID == h.ProducerID && a.FirstOffset <= h.BaseOffset && h.BaseOffset < a.LastOffset {
			return true
		}
	}
	return false
}

// mapSegment adds the keys of one segment's records to the offset map.
func (f *compactFilter) mapSegment(s *segment, end int64) error {
	err := eachBatch(s, end, func(raw []byte, h batch.Header) error {
		if h.Control() || f.inAborted(h) {
			return nil
		}
		recs, err := batch.Records(raw)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.Key != nil {
				f.offsets[string(r.Key)] = r.Offset
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("map keys of %s: %w", s.fileName(".log"), err)
	}
	return nil
}

// batch returns the cleaned form of one batch: raw itself when every record
// stays (raw is reused by the caller after), a re-encoded batch when some
// go, nil when all go.
func (f *compactFilter) batch(raw []byte, h batch.Header) ([]byte, error) {
	if h.Control() {
		return raw, nil
	}
	recs, err := batch.Records(raw)
	if err != nil {
		return nil, err
	}
	kept := recs[:0]
	for _, r := range recs {
		if !f.drop(r) {
			kept = append(kept, r)
		}
	}
	if len(kept) == len(recs) {
		return raw, nil
	}
	f.removed += int64(len(recs) - len(kept))
	if len(kept) == 0 {
		return nil, nil
	}
	b, err := batch.Encode(batch.EncodeOptions{
		BaseOffset: h.BaseOffset, Codec: h.Codec(),
		ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, BaseSequence: h.BaseSequence,
		Transactional: h.Transactional(), KeepOffsets: true, LastOffsetDelta: h.LastOffsetDelta,
	}, kept)
	if err != nil {
		return nil, err
	}
	batch.SetLeaderEpoch(b, h.LeaderEpoch)
	if h.LogAppendTime() {
		batch.SetLogAppendTime(b, h.MaxTimestamp)
	}
	return b, nil
}

// drop reports whether the pass removes r: a later record has its key, or
// it is a tombstone whose delete horizon has passed. Records without a key
// cannot be produced to a compacted topic; any found are kept.
func (f *compactFilter) drop(r batch.Record) bool {
	if r.Key == nil {
		return false
	}
	if latest, ok := f.offsets[string(r.Key)]; ok && latest > r.Offset {
		return true
	}
	if r.Value != nil {
		return false
	}
	if at, ok := f.cp.cleanedAt(r.Offset); ok {
		return at+f.retentionMs <= f.nowMs
	}
	f.keptTombstones = true
	return false
}

// errCleanAborted: the segments a pass cleaned changed under it (retention
// removed them, or the partition closed); the work is dropped.
var errCleanAborted = errors.New("segments changed during cleaning")
