package kit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Sleep waits d and returns nil, or returns ctx's error as soon as ctx is
// done. A d of zero or less returns nil at once, as time.Sleep would.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Backoff says how long to wait between attempts: Initial, multiplied by
// Multiplier after each failure, never above Max, less up to Jitter of it
// so that many clients failing together do not retry together. The zero
// value waits 100ms, doubling up to 30s, with 20% jitter.
type Backoff struct {
	Initial    time.Duration // first delay; 0 means 100ms
	Max        time.Duration // cap on any delay; 0 means 30s
	Multiplier float64       // growth per attempt; below 1 means 2
	// Jitter is the fraction, in [0,1], by which a delay is randomly
	// shortened; 0 means 0.2, a negative value means none.
	Jitter float64
	// MaxElapsed bounds the time Retry keeps trying (Kafka's
	// errors.retry.timeout); 0 means until its context ends.
	MaxElapsed time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Multiplier < 1 {
		b.Multiplier = 2
	}
	switch {
	case b.Jitter == 0:
		b.Jitter = 0.2
	case b.Jitter < 0:
		b.Jitter = 0
	case b.Jitter > 1:
		b.Jitter = 1
	}
	return b
}

// Delay returns the wait before retry number attempt (0 for the first
// retry): min(Max, Initial×Multiplier^attempt), shortened by a random part
// of up to Jitter of it. It is never above Max.
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	d := float64(b.Initial)
	for range attempt {
		if d *= b.Multiplier; d >= float64(b.Max) {
			break
		}
	}
	d = min(d, float64(b.Max))
	d -= d * b.Jitter * rand.Float64()
	return time.Duration(d)
}

// Retry calls op until it succeeds, fails with an error IsRetriable
// rejects, ctx ends, or b.MaxElapsed has passed, waiting b.Delay between
// attempts. notify, when not nil, is told of each failure about to be
// retried and the wait before the next attempt (to log it at Warn). Retry
// returns nil or op's last error; when ctx ended the wait, ctx's error is
// joined to it.
func Retry(ctx context.Context, b Backoff, op func(context.Context) error, notify func(err error, wait time.Duration)) error {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := op(ctx)
		if err == nil || !IsRetriable(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (retries stopped: %w)", err, ctx.Err())
		}
		wait := b.Delay(attempt)
		if b.MaxElapsed > 0 && time.Since(start)+wait > b.MaxElapsed {
			return err
		}
		if notify != nil {
			notify(err, wait)
		}
		if cerr := Sleep(ctx, wait); cerr != nil {
			return fmt.Errorf("%w (retries stopped: %w)", err, cerr)
		}
	}
}
