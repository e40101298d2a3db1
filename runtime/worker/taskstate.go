package worker

import (
	"context"
	"sync"
)

// taskState is a running task's target (paused or not) and the status it
// last reported. The task loop waits on it while paused; the herder flips
// it from the REST goroutines.
type taskState struct {
	mu      sync.Mutex
	paused  bool
	changed chan struct{}
	cur     State
	report  func(State, string)
}

func newTaskState(paused bool, report func(State, string)) *taskState {
	return &taskState{paused: paused, changed: make(chan struct{}), report: report}
}

// setPaused pauses or resumes the task.
func (s *taskState) setPaused(p bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paused == p {
		return
	}
	s.paused = p
	close(s.changed)
	s.changed = make(chan struct{})
	if !p && s.cur == StatePaused {
		s.cur = StateRunning
		s.report(StateRunning, "")
	}
}

// set records and reports a status change.
func (s *taskState) set(st State, trace string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == StateRunning && s.paused {
		st = StatePaused
	}
	if s.cur == st && trace == "" {
		return
	}
	s.cur = st
	s.report(st, trace)
}

// waitRunnable returns nil when the task may run, waiting while it is
// paused; it returns ctx's error when ctx ends first.
func (s *taskState) waitRunnable(ctx context.Context) error {
	for {
		s.mu.Lock()
		paused, ch := s.paused, s.changed
		if paused && s.cur != StatePaused {
			s.cur = StatePaused
			s.report(StatePaused, "")
		}
		s.mu.Unlock()
		if !paused {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
