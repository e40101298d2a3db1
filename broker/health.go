package broker

import (
	"errors"
	"fmt"
	"time"
)

// listenerState is what Healthy reports about the Kafka listener.
type listenerState struct {
	serving bool // Run is accepting (or retrying accept errors)
	ended   bool // Run has returned
	endErr  error
	// failingSince is when the current run of accept errors began, zero
	// when the last accept succeeded; failErr is the latest error.
	failingSince time.Time
	failErr      error
	failures     int       // accept errors since the last warning
	lastWarn     time.Time // when the last accept warning was logged
}

// acceptWarnInterval rate-limits the accept warning: running out of file
// descriptors fails every accept, and one line per few seconds with a
// count says as much as thousands.
const acceptWarnInterval = 5 * time.Second

// Healthy reports whether the broker serves: nil while its listener
// accepts connections and every partition takes writes; otherwise an error
// naming each problem — accepting has been failing (since when, and the
// latest error, such as "too many open files"), serving has not begun or
// has ended, or partitions refuse writes after a storage error (which, and
// why, such as "no space left on device"). `sluice up` serves it on
// /health.
func (s *Server) Healthy() error {
	return errors.Join(s.listenerHealthy(), s.store.Healthy())
}

func (s *Server) listenerHealthy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.listening
	switch {
	case st.ended && st.endErr != nil:
		return fmt.Errorf("kafka listener stopped: %w", st.endErr)
	case st.ended:
		return fmt.Errorf("kafka listener stopped")
	case !st.serving:
		return fmt.Errorf("kafka listener not serving yet")
	case !st.failingSince.IsZero():
		return fmt.Errorf("kafka listener accept failing since %s: %w", st.failingSince.UTC().Format(time.RFC3339), st.failErr)
	}
	return nil
}

func (s *Server) setServing() {
	s.mu.Lock()
	s.listening.serving = true
	s.mu.Unlock()
}

func (s *Server) setEnded(err error) {
	s.mu.Lock()
	s.listening.ended, s.listening.endErr = true, err
	s.mu.Unlock()
}

// acceptFailed records an accept error and logs it at most once per
// acceptWarnInterval, with the number of errors since the last line.
func (s *Server) acceptFailed(err error) {
	now := time.Now()
	s.mu.Lock()
	st := &s.listening
	if st.failingSince.IsZero() {
		st.failingSince = now
	}
	st.failErr = err
	st.failures++
	warn := now.Sub(st.lastWarn) >= acceptWarnInterval
	n, since := st.failures, st.failingSince
	if warn {
		st.lastWarn, st.failures = now, 0
	}
	s.mu.Unlock()
	if warn {
		s.log.Warn("kafka listener cannot accept connections; retrying", "err", err, "errors", n, "failing_since", since)
	}
}

// acceptSucceeded clears a run of accept errors, saying so if one was
// logged.
func (s *Server) acceptSucceeded() {
	s.mu.Lock()
	st := &s.listening
	recovered := !st.failingSince.IsZero()
	since := st.failingSince
	st.failingSince, st.failErr, st.failures = time.Time{}, nil, 0
	s.mu.Unlock()
	if recovered {
		s.log.Info("kafka listener accepting connections again", "failing_since", since)
	}
}
