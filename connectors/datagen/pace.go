package datagen

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
)

// maxLag is how far behind schedule a task may fall (a slow broker, a
// paused task) before the schedule restarts from now instead of bursting
// to catch up.
const maxLag = time.Second

// pacer spaces records: evenly at rate records per second, or by random
// gaps of up to maxInterval (as Confluent's datagen waits), or not at all
// when both are zero.
type pacer struct {
	rate        float64
	maxInterval time.Duration

	start time.Time // rate: when the schedule began
	sent  int64     // rate: records released since start
	next  time.Time // maxInterval: when the next record is due
}

// take waits until at least one record is due and returns how many are,
// at most limit; it returns 0 when ctx is done first.
func (p *pacer) take(ctx context.Context, limit int) int {
	if ctx.Err() != nil {
		return 0
	}
	switch {
	case p.rate > 0:
		return p.takeRate(ctx, limit)
	case p.maxInterval > 0:
		return p.takeInterval(ctx, limit)
	}
	return limit
}

func (p *pacer) takeRate(ctx context.Context, limit int) int {
	now := time.Now()
	if p.start.IsZero() || now.Sub(p.dueAt(p.sent)) > maxLag {
		p.start, p.sent = now, 0
	}
	if due := p.dueAt(p.sent); due.After(now) {
		if kit.Sleep(ctx, due.Sub(now)) != nil {
			return 0
		}
		now = time.Now()
	}
	// Records 0..k are due by now, where k = elapsed × rate.
	due := int64(now.Sub(p.start).Seconds()*p.rate) + 1 - p.sent
	n := int(max(1, min(due, int64(limit))))
	p.sent += int64(n)
	return n
}

// dueAt is when record i of the schedule is due.
func (p *pacer) dueAt(i int64) time.Time {
	return p.start.Add(time.Duration(float64(i) / p.rate * float64(time.Second)))
}

func (p *pacer) takeInterval(ctx context.Context, limit int) int {
	now := time.Now()
	if p.next.IsZero() || now.Sub(p.next) > maxLag {
		p.next = now
	}
	if p.next.After(now) {
		if kit.Sleep(ctx, p.next.Sub(now)) != nil {
			return 0
		}
		now = time.Now()
	}
	n := 0
	for n < limit && !p.next.After(now) {
		n++
		p.next = p.next.Add(time.Duration(rand.Int64N(int64(p.maxInterval) + 1)))
	}
	return n
}

// sleep waits for d and reports true, or reports false when ctx is done
// first; kept for task.go's caller.
func sleep(ctx context.Context, d time.Duration) bool { return kit.Sleep(ctx, d) == nil }
