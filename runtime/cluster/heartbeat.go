package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// heartbeat is the goroutine that keeps one generation's session alive.
type heartbeat struct {
	cancel context.CancelFunc
	done   chan struct{}
	// failed receives why the generation ended: a rebalance, a lost
	// membership, or errSessionExpired.
	failed chan error
}

// startHeartbeat heartbeats every HeartbeatInterval for generation j until
// stopped or until the coordinator says the generation is over.
func (m *Member) startHeartbeat(ctx context.Context, j joined) *heartbeat {
	ctx, cancel := context.WithCancel(ctx)
	hb := &heartbeat{cancel: cancel, done: make(chan struct{}), failed: make(chan error, 1)}
	go func() {
		defer close(hb.done)
		if err := m.heartbeatLoop(ctx, j); err != nil {
			hb.failed <- err
		}
	}()
	return hb
}

// stop ends the goroutine and waits for it.
func (hb *heartbeat) stop() {
	hb.cancel()
	<-hb.done
}

// heartbeatLoop returns nil when ctx ends, else the reason the generation
// is over. Transient failures are retried until a whole session timeout
// passed without a successful heartbeat.
func (m *Member) heartbeatLoop(ctx context.Context, j joined) error {
	last := time.Now()
	t := time.NewTicker(m.o.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := m.heartbeatOnce(ctx, j, last.Add(m.o.SessionTimeout))
		switch {
		case err == nil:
			last = time.Now()
			m.touch()
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.UnknownMemberID),
			errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.FencedInstanceID):
			return err
		case time.Since(last) >= m.o.SessionTimeout:
			return fmt.Errorf("heartbeat worker group %s: %w: %w", m.o.GroupID, errSessionExpired, err)
		default:
			m.log.Warn("worker group heartbeat failed; retrying", "generation", j.generation, "err", err)
		}
	}
}

// heartbeatOnce sends one Heartbeat, giving up at deadline (the session's
// end).
func (m *Member) heartbeatOnce(ctx context.Context, j joined, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.Generation, req.MemberID = m.o.GroupID, j.generation, j.memberID
	resp, err := req.RequestWith(ctx, m.o.Client)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("heartbeat worker group %s generation %d: %w", m.o.GroupID, j.generation, err)
	}
	return nil
}
