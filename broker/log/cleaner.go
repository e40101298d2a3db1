package log

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The cleaner compacts partitions whose cleanup.policy includes compact: it
// keeps the latest record per key, and drops tombstones (null values)
// delete.retention.ms after the pass that first cleaned them. See compact.go
// for one pass over a partition and compact_swap.go for how cleaned segments
// replace the old ones crash-safely.
//
// Per partition, the cleaner keeps a small file, cleaner-offset-checkpoint,
// with the offset up to which the log was cleaned (what lies past it is
// "dirty") and when each part of the clean section was first cleaned: the
// tombstones' delete horizon is that time plus delete.retention.ms. Tracking
// the time per pass, rather than stamping a horizon into the batches
// (attribute bit 6), keeps every rewritten batch readable by clients that
// do not know the bit, with its timestamps untouched.

// DefaultCleanerBackoff is how often the cleaner looks for work
// (log.cleaner.backoff.ms is 15 s in Kafka).
const DefaultCleanerBackoff = 15 * time.Second

// cleanerCheckpointFile is the per-partition cleaner state.
const cleanerCheckpointFile = "cleaner-offset-checkpoint"

// cleanerCheckpoint is the persisted cleaner state of one partition.
type cleanerCheckpoint struct {
	// CleanedTo: every offset below it was cleaned at least once.
	CleanedTo int64 `json:"cleanedTo"`
	// Passes partition [0, CleanedTo): pass i covers the offsets from the
	// End of pass i-1 up to its own End, first cleaned at AtMs.
	Passes []cleanPass `json:"passes"`
}

type cleanPass struct {
	End  int64 `json:"end"`
	AtMs int64 `json:"atMs"`
	// Tombstones: the pass kept tombstones that a later pass must remove
	// once the horizon passes.
	Tombstones bool `json:"tombstones,omitempty"`
}

// maxCleanPasses bounds the pass list: older passes merge, keeping the
// later time, which only keeps tombstones longer.
const maxCleanPasses = 32

// cleanedAt returns when offset was first cleaned; false if never.
func (c *cleanerCheckpoint) cleanedAt(offset int64) (int64, bool) {
	for _, ps := range c.Passes {
		if offset < ps.End {
			return ps.AtMs, true
		}
	}
	return 0, false
}

// tombstonesDue reports whether some tombstones kept by an earlier pass are
// past their horizon, so a pass is worth running even without dirty data.
func (c *cleanerCheckpoint) tombstonesDue(nowMs, retentionMs int64) bool {
	for _, ps := range c.Passes {
		if ps.Tombstones && ps.AtMs+retentionMs <= nowMs {
			return true
		}
	}
	return false
}

// record adds a pass that cleaned up to end at nowMs. Passes below end
// whose horizon has passed were cleared of tombstones by this pass and merge
// into one.
func (c *cleanerCheckpoint) record(end, nowMs, retentionMs int64, tombstones bool) {
	var out []cleanPass
	for _, ps := range c.Passes {
		if ps.End <= end && ps.AtMs+retentionMs <= nowMs {
			ps.Tombstones = false
			if n := len(out); n > 0 && !out[n-1].Tombstones && out[n-1].AtMs+retentionMs <= nowMs {
				out[n-1].End, out[n-1].AtMs = ps.End, max(out[n-1].AtMs, ps.AtMs)
				continue
			}
		}
		out = append(out, ps)
	}
	if end > c.CleanedTo {
		out = append(out, cleanPass{End: end, AtMs: nowMs, Tombstones: tombstones})
		c.CleanedTo = end
	}
	for len(out) > maxCleanPasses {
		out[1].AtMs = max(out[0].AtMs, out[1].AtMs)
		out[1].Tombstones = out[0].Tombstones || out[1].Tombstones
		out = out[1:]
	}
	c.Passes = out
}

// clamp drops what lies past leo: recovery may have cut the log below
// what was cleaned, and offsets past leo will be new data.
func (c *cleanerCheckpoint) clamp(leo int64) {
	c.CleanedTo = min(c.CleanedTo, leo)
	n := 0
	for n < len(c.Passes) && c.Passes[n].End < leo {
		n++
	}
	if n < len(c.Passes) {
		c.Passes[n].End = min(c.Passes[n].End, leo)
		n++
	}
	c.Passes = c.Passes[:n]
}

func (p *Partition) readCleanerCheckpoint() (cleanerCheckpoint, error) {
	var c cleanerCheckpoint
	b, err := readFile(p.fs, filepath.Join(p.dir, cleanerCheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read %s: %w", cleanerCheckpointFile, err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		// Losing the checkpoint only means more cleaning and tombstones
		// kept longer.
		p.log.Warn("ignoring unreadable cleaner checkpoint", "err", err)
		return cleanerCheckpoint{}, nil
	}
	return c, nil
}

func (p *Partition) writeCleanerCheckpoint(c cleanerCheckpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p.fs, p.dir, cleanerCheckpointFile, b); err != nil {
		return fmt.Errorf("write %s: %w", cleanerCheckpointFile, err)
	}
	return nil
}

// Compact runs one cleaner pass now over every partition that needs it:
// those of compacted topics whose dirty ratio reaches
// min.cleanable.dirty.ratio, that hold tombstones past their horizon, or
// whose oldest dirty record is older than max.compaction.lag.ms; dirtiest
// first. Run calls it every CleanerBackoff; tests call it directly.
// Calls are serialized.
func (s *Store) Compact() error {
	s.cleanMu.Lock()
	defer s.cleanMu.Unlock()
	now := s.opts.Now()
	type candidate struct {
		p     *Partition
		ratio float64
	}
	var todo []candidate
	var errs []error
	s.eachPartition(func(p *Partition) {
		if !p.cfg.Load().CleanupCompact {
			return
		}
		ratio, due, err := p.cleanable(now)
		if err != nil {
			errs = append(errs, fmt.Errorf("clean %s-%d: %w", p.Topic, p.ID, err))
			return
		}
		if due {
			todo = append(todo, candidate{p, ratio})
		}
	})
	slices.SortStableFunc(todo, func(a, b candidate) int { return cmp.Compare(b.ratio, a.ratio) })
	for _, c := range todo {
		st, err := c.p.clean(now, s.cleanerHook)
		if err != nil {
			errs = append(errs, fmt.Errorf("clean %s-%d: %w", c.p.Topic, c.p.ID, err))
			continue
		}
		c.p.log.Debug("cleaned partition", "dirty_ratio", c.ratio, "read_bytes", st.readBytes,
			"written_bytes", st.writtenBytes, "removed_records", st.removed, "cleaned_to", st.cleanedTo)
	}
	return errors.Join(errs...)
}
