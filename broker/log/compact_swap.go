package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/broker/batch"
)

// Swapping a cleaned segment in, crash-safely. The cleaned segment takes the
// base offset (so the file names) of the first segment it replaces:
//
//	1. 000…100.{index,timeindex,log}.cleaned written and fsynced (createCleaned, seal)
//	2. renamed to .swap, the .log last; fsync the directory
//	3. the old segments' files renamed to .deleted; fsync the directory
//	4. the .swap files renamed to their final names; fsync the directory
//
// Steps 2 to 4 run under the partition lock, which also swaps the segment
// list; readers that captured an old segment keep reading its open files,
// which are closed file.delete.delay later, as retention does.
//
// Recovery (completeSwaps, called by load before anything else): a .log.swap
// file was complete before it was renamed, so the swap is finished: every
// .log whose base lies in [swap base, the swap's last offset] is removed (the
// old segments whose step 3 did not persist), the swap's indexes are dropped
// to be rebuilt, and the .swap becomes the .log. Old segments renamed in step
// 3 are .deleted files, removed as always; so are .cleaned files of step 1.
// An old segment past the swap's last offset whose rename did not persist is
// kept: every record of it was superseded, so keeping it is only less
// compaction. No offset is lost, and none is served twice.

// swapCleaned replaces the segments old with their cleaned form seg.
func (p *Partition) swapCleaned(old []*segment, seg *segment, hook cleanHook) error {
	step := func(name string) error {
		if hook == nil {
			return nil
		}
		return hook(name)
	}
	if err := step("cleaned"); err != nil {
		p.discardCleaned(seg, ".cleaned")
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.segments, old[0])
	if p.closed || p.werr != nil || i < 0 || i+len(old) >= len(p.segments) || !slices.Equal(p.segments[i:i+len(old)], old) {
		p.discardCleaned(seg, ".cleaned")
		return errCleanAborted
	}
	for _, ext := range []string{".index", ".timeindex"} {
		if err := p.fs.Rename(seg.path(ext)+".cleaned", seg.path(ext)+".swap"); err != nil {
			p.discardCleaned(seg, ".cleaned", ".swap")
			return fmt.Errorf("swap in cleaned segment %s: %w", filepath.Base(seg.path(ext)), err)
		}
	}
	// From the rename of the .log on, recovery completes the swap; a failure
	// leaves the files in an unknown state, so the partition refuses writes
	// until a restart recovers it.
	fail := func(err error) error {
		p.failLocked(err, failReload)
		return fmt.Errorf("swap in cleaned segment %s: %w: %w", seg.fileName(".log"), ErrStorage, err)
	}
	if err := seg.log.rename(seg.path(".log") + ".swap"); err != nil {
		return fail(err)
	}
	if err := p.fs.SyncDir(p.dir); err != nil {
		return fail(err)
	}
	if err := step("swap"); err != nil {
		return fail(err)
	}
	for _, s := range old {
		if err := s.renameFiles(p.fs, "", ".deleted"); err != nil {
			return fail(err)
		}
	}
	if err := p.fs.SyncDir(p.dir); err != nil {
		return fail(err)
	}
	if err := step("deleted"); err != nil {
		return fail(err)
	}
	if err := seg.renameFiles(p.fs, ".swap", ""); err != nil {
		return fail(err)
	}
	seg.idxSuffix = ""
	if err := p.fs.SyncDir(p.dir); err != nil {
		return fail(err)
	}
	// A new slice: readers hold subslices of the old one, captured under
	// the lock and read after it.
	segs := make([]*segment, 0, len(p.segments)-len(old)+1)
	segs = append(append(append(segs, p.segments[:i]...), seg), p.segments[i+len(old):]...)
	p.segments = segs
	now := p.now()
	for _, s := range old {
		p.deleting = append(p.deleting, pendingDelete{seg: s, at: now})
	}
	return step("done")
}

// segmentExts are a segment's files, the .log last: renaming it is what
// commits a swap.
var segmentExts = []string{".index", ".timeindex", ".log"}

// discardCleaned closes a cleaned segment that will not be swapped in and
// removes its files under each suffix.
func (p *Partition) discardCleaned(seg *segment, suffixes ...string) {
	seg.close()
	for _, suf := range suffixes {
		for _, ext := range segmentExts {
			if err := p.fs.Remove(seg.path(ext) + suf); err != nil && !errors.Is(err, os.ErrNotExist) {
				p.log.Warn("remove cleaned segment file", "err", err)
			}
		}
	}
	if err := p.fs.SyncDir(p.dir); err != nil {
		p.log.Warn("sync directory after discarding a cleaned segment", "err", err)
	}
}

// snapshotForCleaner writes the producer state snapshot at an offset that is
// fsynced, past every batch the cleaner may remove, so recovery never has to
// replay removed batches to rebuild idempotent producers' state.
func (p *Partition) snapshotForCleaner() error {
	p.mu.RLock()
	ps, txns, leo := p.producers.clone(), p.txns.clone(), p.leo
	p.mu.RUnlock()
	if err := p.Flush(leo); err != nil {
		return err
	}
	b, err := ps.encode(leo, txns)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p.fs, p.dir, producerSnapshotFile, b); err != nil {
		return fmt.Errorf("write %s: %w", producerSnapshotFile, err)
	}
	p.mu.Lock()
	p.snapshotAt = leo
	p.mu.Unlock()
	return nil
}

// completeSwaps finishes the swaps a crash interrupted; see above.
func (p *Partition) completeSwaps(entries []os.DirEntry) error {
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".log.swap") {
			continue
		}
		base, err := strconv.ParseInt(strings.TrimSuffix(name, ".log.swap"), 10, 64)
		if err != nil {
			continue // removed with the other leftovers
		}
		last, err := lastOffsetOf(p.fs, filepath.Join(p.dir, name), base)
		if err != nil {
			return err
		}
		for _, o := range entries {
			ob, err := strconv.ParseInt(strings.TrimSuffix(o.Name(), ".log"), 10, 64)
			if !strings.HasSuffix(o.Name(), ".log") || err != nil || ob < base || ob > last {
				continue
			}
			old := &segment{base: ob, dir: p.dir}
			if err := old.remove(p.fs); err != nil {
				return fmt.Errorf("complete swap of %s: %w", name, err)
			}
		}
		sw := &segment{base: base, dir: p.dir}
		for _, path := range []string{sw.path(".index") + ".swap", sw.path(".timeindex") + ".swap", sw.path(".index"), sw.path(".timeindex")} {
			if err := p.fs.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("complete swap of %s: %w", name, err)
			}
		}
		if err := p.fs.Rename(filepath.Join(p.dir, name), sw.path(".log")); err != nil {
			return fmt.Errorf("complete swap of %s: %w", name, err)
		}
		if err := p.fs.SyncDir(p.dir); err != nil {
			return fmt.Errorf("complete swap of %s: %w", name, err)
		}
		p.log.Warn("completed an interrupted swap of a cleaned segment", "base", base, "last", last)
	}
	return nil
}

// lastOffsetOf returns the last offset of the batches in a segment file
// with the given base; base for an empty one.
func lastOffsetOf(fs FS, path string, base int64) (int64, error) {
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	last := base
	var hb [batch.HeaderSize]byte
	for pos := int64(0); ; {
		if _, err := f.ReadAt(hb[:], pos); err != nil {
			if errors.Is(err, io.EOF) {
				return last, nil
			}
			return 0, fmt.Errorf("read %s at %d: %w", path, pos, err)
		}
		h, err := batch.ParseHeader(hb[:])
		if err != nil || h.Length <= 0 {
			return last, nil
		}
		last = max(last, h.LastOffset())
		pos += int64(h.Size())
	}
}
