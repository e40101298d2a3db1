package bench

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// progressInterval is how often a running benchmark prints a progress line.
const progressInterval = time.Second

// counter tracks records and bytes done; the hot path only adds.
type counter struct {
	records atomic.Int64
	bytes   atomic.Int64
}

func (c *counter) add(records, bytes int64) {
	c.records.Add(records)
	c.bytes.Add(bytes)
}

// startProgress prints a line to w every interval (progressInterval in
// real runs) with the total done, the
// share of want (if want > 0) and the rate over the last interval. The
// returned stop ends the printing goroutine and waits for it; a nil w prints
// nothing and starts nothing.
func startProgress(w io.Writer, interval time.Duration, verb string, want int64, c *counter) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		start := time.Now()
		last := start
		var lastRecords, lastBytes int64
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				records, bytes := c.records.Load(), c.bytes.Load()
				secs := now.Sub(last).Seconds()
				share := ""
				if want > 0 {
					share = fmt.Sprintf(" (%.1f%%)", 100*float64(records)/float64(want))
				}
				fmt.Fprintf(w, "%s: %s: %d records%s, %.1f records/s, %.2f MB/s (MiB)\n",
					verb, now.Sub(start).Round(interval), records, share,
					float64(records-lastRecords)/secs, float64(bytes-lastBytes)/secs/(1<<20))
				last, lastRecords, lastBytes = now, records, bytes
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
