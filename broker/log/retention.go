package log

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// enforceRetention removes whole segments past retention.ms or
// retention.bytes, or wholly below the log start offset. The active segment
// is never removed. Removed segments are renamed to .deleted at once and
// closed after file.delete.delay, so reads already under way finish.
func (p *Partition) enforceRetention(now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	cfg := p.cfg.Load()
	var total int64
	for _, s := range p.segments {
		total += s.size.Load()
	}
	n := 0
	for n < len(p.segments)-1 {
		s := p.segments[n]
		below := p.segments[n+1].base <= p.logStart
		expired := cfg.CleanupDelete && cfg.RetentionMs >= 0 && s.maxTS >= 0 && now.UnixMilli()-s.maxTS > cfg.RetentionMs
		oversize := cfg.CleanupDelete && cfg.RetentionBytes >= 0 && total-s.size.Load() >= cfg.RetentionBytes
		if !below && !expired && !oversize {
			break
		}
		total -= s.size.Load()
		n++
	}
	if n == 0 {
		return nil
	}
	for _, s := range p.segments[:n] {
		if err := s.renameFiles(p.fs, "", ".deleted"); err != nil {
			return fmt.Errorf("retention %s-%d: %w", p.Topic, p.ID, err)
		}
		p.deleting = append(p.deleting, pendingDelete{seg: s, at: now})
		p.log.Info("retention removed segment", "base", s.base, "next", s.next)
	}
	// A new slice: readers hold subslices of the old one.
	p.segments = slices.Clone(p.segments[n:])
	p.logStart = max(p.logStart, p.segments[0].base)
	p.txns.trim(p.logStart)
	return p.fs.SyncDir(p.dir)
}

// removeDeleted closes and deletes segments retention removed long enough ago.
func (p *Partition) removeDeleted(now time.Time, delay time.Duration) {
	p.mu.Lock()
	var due []pendingDelete
	keep := p.deleting[:0]
	for _, d := range p.deleting {
		if now.Sub(d.at) >= delay {
			due = append(due, d)
		} else {
			keep = append(keep, d)
		}
	}
	p.deleting = keep
	p.mu.Unlock()
	for _, d := range due {
		d.seg.close()
		for _, ext := range []string{".log", ".index", ".timeindex"} {
			if err := p.fs.Remove(d.seg.path(ext) + ".deleted"); err != nil && !errors.Is(err, os.ErrNotExist) {
				p.log.Warn("remove deleted segment", "err", err)
			}
		}
	}
}
