package log

import (
	"errors"

	"github.com/sluicehq/sluice/broker/batch"
)

// EachRecord calls fn with every data record from the log start to the
// current end, in offset order, skipping control batches. The coordinators
// use it to replay their internal topics at start-up. The unreadable rest of
// a segment with a corrupt batch is skipped (Read logs it), so a coordinator
// starts with what can be read.
func (p *Partition) EachRecord(fn func(batch.Record)) error {
	at, end := p.Offsets()
	for at < end {
		res, err := p.Read(at, 1<<20, true, nil)
		if errors.Is(err, batch.ErrCorrupt) {
			next, ok := p.nextReadable(at)
			if !ok {
				return nil
			}
			at = next
			continue
		}
		if err != nil {
			return err
		}
		if len(res.Records) == 0 {
			return nil
		}
		batches, err := batch.Split(res.Records)
		if err != nil {
			return err
		}
		for _, b := range batches {
			h, err := batch.ParseHeader(b)
			if err != nil {
				return err
			}
			if h.LastOffset() < at || h.Control() {
				at = max(at, h.LastOffset()+1)
				continue
			}
			recs, err := batch.Records(b)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if r.Offset >= at {
					fn(r)
				}
			}
			at = h.LastOffset() + 1
		}
	}
	return nil
}

// nextReadable returns where reading can go on after a corrupt batch at
// offset: the next indexed batch of its segment, else the next segment's
// base; false when there is none.
func (p *Partition) nextReadable(offset int64) (int64, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	i := p.segmentForLocked(offset)
	seg := p.segments[i]
	for _, e := range seg.index.entries {
		if next := seg.base + int64(e.rel); next > offset {
			return next, true
		}
	}
	if i+1 >= len(p.segments) {
		return 0, false
	}
	return p.segments[i+1].base, true
}
