package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ownership is what this worker runs. A standalone or single worker owns
// everything; a worker in a group owns its assignment, set by the group
// handler at every generation.
type ownership struct {
	mu          sync.RWMutex
	all         bool // own every connector and task (no group)
	generation  int32
	leader      bool
	leaderURL   string
	rebalancing bool
	connectors  map[string]bool
	tasks       map[ConnectorTaskID]bool
	// settled is closed when a rebalance ends (and replaced when one
	// starts), for requests that wait for a leader.
	settled chan struct{}
	// probe, in a group, reports whether the membership is settled (no
	// rebalance under way).
	probe func() bool
}

func newOwnership(all bool) *ownership {
	o := &ownership{all: all, leader: all, connectors: map[string]bool{}, tasks: map[ConnectorTaskID]bool{}, settled: make(chan struct{})}
	if all {
		close(o.settled)
	} else {
		o.rebalancing = true
	}
	return o
}

func (o *ownership) ownsConnector(name string) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.all || o.connectors[name]
}

func (o *ownership) ownsTask(id ConnectorTaskID) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.all || o.tasks[id]
}

func (o *ownership) gen() int32 {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.generation
}

// connectorNames lists every connector this worker has a piece of.
func (o *ownership) connectorNames() map[string]bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make(map[string]bool, len(o.connectors))
	for c := range o.connectors {
		out[c] = true
	}
	for t := range o.tasks {
		out[t.Connector] = true
	}
	return out
}

// startRebalance marks the group as rebalancing: requests needing the
// leader wait.
func (o *ownership) startRebalance() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.rebalancing && !o.all {
		o.rebalancing = true
		o.settled = make(chan struct{})
	}
}

// set installs a generation's assignment.
func (o *ownership) set(generation int32, leader bool, leaderURL string, connectors map[string]bool, tasks map[ConnectorTaskID]bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.generation, o.leader, o.leaderURL = generation, leader, leaderURL
	o.connectors, o.tasks = connectors, tasks
	if o.rebalancing {
		o.rebalancing = false
		close(o.settled)
	}
}

// ErrRedirect is wrapped by RedirectError.
var ErrRedirect = errors.New("redirect")

// RedirectError says a request must be served by another worker: the
// leader for writes, the owner for a task restart. The REST layer forwards
// it to URL (Kafka's RequestTargetException).
type RedirectError struct {
	URL string
	Why string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("request must be served by %s (%s)", e.URL, e.Why)
}

// Is makes errors.Is(err, ErrRedirect) hold.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }

// leaderWait bounds how long a request waits for a rebalance to end before
// it gets a 409, so clients rarely see one.
const leaderWait = 15 * time.Second

// errNoLeaderNow says the group is rebalancing; the caller retries later.
var errNoLeaderNow = fmt.Errorf("%w: the worker group is rebalancing", ErrConflict)

// leaderNow is requireLeader without waiting: errNoLeaderNow while the
// group rebalances. Connector actors use it, since an actor blocked on a
// rebalance would hold up this worker's part in it.
func (h *Herder) leaderNow() error {
	h.own.mu.RLock()
	leader, url, rebalancing, probe := h.own.leader, h.own.leaderURL, h.own.rebalancing, h.own.probe
	h.own.mu.RUnlock()
	if rebalancing || (probe != nil && !probe()) {
		return errNoLeaderNow
	}
	if leader {
		return nil
	}
	if url == "" {
		return errNoLeaderNow
	}
	return &RedirectError{URL: url, Why: "not the leader"}
}

// requireLeader returns nil on the leader, a RedirectError naming the
// leader elsewhere, and ErrConflict when no leader is known in time.
func (h *Herder) requireLeader(ctx context.Context) error {
	deadline := time.NewTimer(leaderWait)
	defer deadline.Stop()
	for {
		h.own.mu.RLock()
		leader, url, rebalancing, settled := h.own.leader, h.own.leaderURL, h.own.rebalancing, h.own.settled
		probe := h.own.probe
		h.own.mu.RUnlock()
		if probe != nil && !probe() {
			rebalancing = true
			settled = nil // poll: the probe has no channel
		}
		if !rebalancing {
			if leader {
				return nil
			}
			if url != "" {
				return &RedirectError{URL: url, Why: "not the leader"}
			}
		}
		var poll <-chan time.Time
		if settled == nil {
			poll = time.After(50 * time.Millisecond)
		}
		select {
		case <-settled:
		case <-poll:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%w: Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.", ErrConflict)
		}
	}
}
