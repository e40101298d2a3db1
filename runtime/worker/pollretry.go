package worker

import (
	"fmt"
	"time"
)

// pollRetry paces a source task's polls after retriable errors with the
// connector's errors.retry.* settings, as the tolerance operator paces
// its retries: the waits start at retryInitialDelay and double, with
// jitter, up to errors.retry.delay.max.ms. A positive
// errors.retry.timeout fails the task once its polls have been failing
// for that long; 0 (the default) and -1 retry without limit, since a
// source that lost its connection (a database restarting) is expected to
// come back, and Kafka's worker retries a poll without limit too.
type pollRetry struct {
	s     connectorSettings
	delay time.Duration
	// since is when polls started failing; zero after a poll succeeded.
	since time.Time
}

// succeeded resets the backoff after a poll that did not fail.
func (r *pollRetry) succeeded() { r.delay, r.since = 0, time.Time{} }

// failed returns how long to wait before polling again after a retriable
// error at now, or an error when errors.retry.timeout has passed.
func (r *pollRetry) failed(now time.Time, err error) (time.Duration, error) {
	if r.since.IsZero() {
		r.since = now
	}
	if r.s.retryTimeout > 0 && now.Sub(r.since) >= r.s.retryTimeout {
		return 0, fmt.Errorf("polls failed for %s, past errors.retry.timeout=%d: %w",
			now.Sub(r.since).Round(time.Millisecond), r.s.retryTimeout.Milliseconds(), err)
	}
	if r.delay == 0 {
		r.delay = retryInitialDelay
	} else {
		r.delay *= 2
	}
	r.delay = max(min(r.delay, r.s.retryDelayMax), minRetryDelay)
	return jittered(r.delay), nil
}
