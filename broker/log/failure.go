package log

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Write failures and the way back.
//
// A failed write or fsync makes the partition refuse writes (the sticky
// werr): appends and flushes fail at once with ErrStorage naming the cause.
// The store's background loop then retries, with backoff, to re-open the
// partition from its last durable state (recoverWrites):
//
//   - A failed write (ENOSPC on a write, say) left the file's earlier
//     writes intact in the page cache: the file is cut back to what was
//     published (dropping a partly written batch) and fsynced. No offset is
//     lost, acks=1 records included.
//   - A failed fsync leaves the page cache unreliable: Linux may have
//     dropped the dirty pages' error after reporting it once, so a later
//     fsync could succeed without writing them. The active segment is cut
//     back to the durable offset (every offset below it was fsynced) and the
//     partition reloaded from disk, as at start-up. Offsets appended after
//     the durable one are dropped: their producers were not answered
//     acks=all (their flush failed), acks=1/0 producers were answered and
//     lose them, and consumers that read them see the log end move back (a
//     fetch past it is OFFSET_OUT_OF_RANGE). The partition's generation
//     changes, so a flush for an append made before the cut fails instead of
//     acknowledging records that are gone (FlushAppended).
//   - A failed segment swap of the cleaner leaves the files in an unknown
//     state: the partition is reloaded from disk, which completes the swap.
//
// Before any of it, a small probe file is written and fsynced in the
// partition's directory: while the disk is still full nothing changes.

const (
	minRecoveryBackoff = time.Second
	maxRecoveryBackoff = 30 * time.Second
)

// failKind is what a failure left behind, in increasing need of repair.
type failKind int

const (
	failWrite  failKind = iota // a write failed: the file holds its published content and maybe a torn batch
	failSync                   // an fsync failed: only durable data can be trusted
	failReload                 // the files may not match the segment list
)

// syncError marks an error from an fsync.
type syncError struct{ error }

func (e syncError) Unwrap() error { return e.error }

// failLocked makes the partition refuse writes after err. p.mu is held.
func (p *Partition) failLocked(err error, kind failKind) {
	if kind == failWrite && errors.As(err, new(syncError)) {
		kind = failSync
	}
	p.wfail = max(p.wfail, kind)
	if p.werr != nil {
		return
	}
	now := p.now()
	p.werr, p.werrAt = err, now
	p.backoff = minRecoveryBackoff
	p.retryAt = now.Add(p.backoff)
	p.log.Error("partition refuses writes after a storage error; retrying to recover", "err", err)
}

// writeError returns the error that makes the partition refuse writes, and
// since when; nil when it accepts them.
func (p *Partition) writeError() (time.Time, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.werrAt, p.werr
}

// recoverWrites tries, once the backoff has passed, to re-open a partition
// that refuses writes from its last durable state; see above.
func (p *Partition) recoverWrites(now time.Time) error {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.werr == nil || p.closed || now.Before(p.retryAt) {
		return nil
	}
	oldLeo := p.leo
	if err := p.reopenLocked(); err != nil {
		p.backoff = min(2*p.backoff, maxRecoveryBackoff)
		p.retryAt = now.Add(p.backoff)
		p.log.Warn("partition still refuses writes", "err", err, "retry_in", p.backoff)
		return err
	}
	if p.leo < oldLeo {
		p.generation.Add(1)
		p.log.Warn("dropped offsets that were not durable when the storage error hit", "from", p.leo, "to", oldLeo)
	}
	p.log.Info("partition accepts writes again", "refused_for", now.Sub(p.werrAt), "log_end_offset", p.leo)
	p.werr, p.wfail = nil, failWrite
	close(p.notify)
	p.notify = make(chan struct{})
	return nil
}

// reopenLocked repairs the partition after a failure of kind p.wfail.
// Both locks are held.
func (p *Partition) reopenLocked() error {
	if err := p.probe(); err != nil {
		return err
	}
	active := p.segments[len(p.segments)-1]
	if p.wfail == failWrite {
		if err := cutFile(p.files, active.log.name(), active.size.Load()); err != nil {
			return err
		}
		p.advanceDurable(p.leo)
		return nil
	}
	durable := min(p.durable.Load(), p.leo)
	if p.wfail == failSync {
		cut, err := positionOf(active, durable, p.leo)
		if err != nil {
			return err
		}
		if err := cutFile(p.files, active.log.name(), cut); err != nil {
			return err
		}
	}
	return p.reloadLocked(durable)
}

// reloadLocked rebuilds the partition's state from its directory, as at
// start-up after an unclean stop with recovery point durable, keeping the
// old state if that fails.
func (p *Partition) reloadLocked(durable int64) error {
	saved := *p.savedState()
	for _, s := range p.segments {
		s.close()
	}
	if err := p.load(durable, false); err != nil {
		for _, s := range p.segments {
			s.close()
		}
		p.restoreState(saved)
		return err
	}
	return nil
}

// loadedState is what load rebuilds.
type loadedState struct {
	segments       []*segment
	leo, logStart  int64
	producers      producerStates
	txns           txnState
	snapshotAt     int64
	unflushed      int64
	lastFlushTime  time.Time
	durableOffset  int64
	pendingDeletes []pendingDelete
}

func (p *Partition) savedState() *loadedState {
	return &loadedState{p.segments, p.leo, p.logStart, p.producers, p.txns, p.snapshotAt,
		p.unflushed, p.lastFlushTime, p.durable.Load(), p.deleting}
}

func (p *Partition) restoreState(s loadedState) {
	p.segments, p.leo, p.logStart, p.producers, p.txns = s.segments, s.leo, s.logStart, s.producers, s.txns
	p.snapshotAt, p.unflushed, p.lastFlushTime, p.deleting = s.snapshotAt, s.unflushed, s.lastFlushTime, s.pendingDeletes
	p.durable.Store(s.durableOffset)
}

// probe checks that the partition's directory takes a write and an fsync.
func (p *Partition) probe() error {
	path := filepath.Join(p.dir, ".write-probe.tmp")
	defer p.fs.Remove(path)
	if err := p.files.writeFile(path, make([]byte, 4096)); err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	return nil
}

// positionOf returns the file position where offset starts in seg: the
// batch whose last offset reaches it starts there, since durable offsets
// are batch boundaries.
func positionOf(seg *segment, offset, leo int64) (int64, error) {
	end := seg.size.Load()
	if offset <= seg.base {
		return 0, nil
	}
	if offset >= leo {
		return end, nil
	}
	pos, _, err := seg.find(offset, end)
	if errors.Is(err, io.EOF) {
		return end, nil
	}
	return pos, err
}

// cutFile truncates a file to size and fsyncs it, through a fresh handle:
// the segment's own may hold a sticky error.
func cutFile(files *fileCache, path string, size int64) error {
	f := files.file(path)
	defer f.close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", filepath.Base(path), size, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	return nil
}

// recoverFailed gives every partition that refuses writes a chance to
// recover; the background loop calls it.
func (s *Store) recoverFailed(now time.Time) {
	s.eachPartition(func(p *Partition) {
		if _, err := p.writeError(); err != nil {
			p.recoverWrites(now) // logs its outcome
		}
	})
}

// maxUnhealthyListed bounds how many partitions Healthy names.
const maxUnhealthyListed = 10

// Healthy reports the partitions that refuse writes after a storage error
// and why, without server paths; nil when every partition accepts writes.
// It is meant for a health endpoint.
func (s *Store) Healthy() error {
	var errs []error
	n := 0
	s.eachPartition(func(p *Partition) {
		since, err := p.writeError()
		if err == nil {
			return
		}
		n++
		if n <= maxUnhealthyListed {
			errs = append(errs, fmt.Errorf("partition %s-%d refuses writes since %s: %s",
				p.Topic, p.ID, since.UTC().Format(time.RFC3339), ClientMessage(err)))
		}
	})
	if n > maxUnhealthyListed {
		errs = append(errs, fmt.Errorf("and %d more partitions refuse writes", n-maxUnhealthyListed))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrStorage, errors.Join(errs...))
	}
	return nil
}

// ClientMessage is err's text with every filesystem error in it reduced to
// its operation and the system's reason ("write: no space left on device"),
// so that no server path reaches a client.
func ClientMessage(err error) string {
	msg := err.Error()
	for _, e := range fsErrors(err) {
		msg = strings.ReplaceAll(msg, e.full, e.short)
	}
	return msg
}

type fsErrorText struct{ full, short string }

// fsErrors finds the filesystem errors in err's tree.
func fsErrors(err error) []fsErrorText {
	var out []fsErrorText
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *fs.PathError:
			out = append(out, fsErrorText{e.Error(), e.Op + ": " + e.Err.Error()})
			return
		case *os.LinkError:
			out = append(out, fsErrorText{e.Error(), e.Op + ": " + e.Err.Error()})
			return
		case *os.SyscallError:
			out = append(out, fsErrorText{e.Error(), e.Error()})
			return
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}
