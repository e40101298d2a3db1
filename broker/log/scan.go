package log

import "github.com/sluicehq/sluice/broker/batch"

// EachRecord calls fn with every data record from the log start to the
// current end, in offset order, skipping control batches. The coordinators
// use it to replay their internal topics at start-up.
func (p *Partition) EachRecord(fn func(batch.Record)) error {
	at, end := p.Offsets()
	for at < end {
		res, err := p.Read(at, 1<<20, true, nil)
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
