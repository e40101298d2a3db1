package group

import (
	"context"
	"fmt"
)

// SyncRequest is one SyncGroup. Assignments is the leader's, by member id;
// followers send none.
type SyncRequest struct {
	Group, MemberID, InstanceID string
	Generation                  int32
	ProtocolType, Protocol      string // "" when the client did not send them (before v5)
	Assignments                 map[string][]byte
}

// SyncResult is a member's assignment for the generation.
type SyncResult struct {
	ProtocolType, Protocol string
	Assignment             []byte
	Err                    error
}

// Sync waits for the leader's assignment (or delivers it, for the leader)
// and returns this member's part. The leader's assignment is durable in
// __consumer_offsets before any member gets it.
func (c *Coordinator) Sync(ctx context.Context, req SyncRequest) SyncResult {
	ch, res, writes, answers := c.syncGroup(req)
	if len(writes) > 0 {
		if err := c.sync(writes); err != nil {
			for _, a := range answers {
				a.ch <- SyncResult{Err: err}
			}
			return SyncResult{Err: err}
		}
	}
	for _, a := range answers {
		a.ch <- a.res
	}
	if ch == nil {
		return res
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return SyncResult{Err: errClosed}
	}
}

type syncAnswer struct {
	ch  chan SyncResult
	res SyncResult
}

func (c *Coordinator) syncGroup(req SyncRequest) (chan SyncResult, SyncResult, []write, []syncAnswer) {
	fail := func(err error) (chan SyncResult, SyncResult, []write, []syncAnswer) {
		return nil, SyncResult{Err: err}, nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLocked(); err != nil {
		return fail(err)
	}
	g, m, err := c.memberLocked(req.Group, req.MemberID, req.InstanceID)
	if err != nil {
		return fail(err)
	}
	if req.Generation != g.generation {
		return fail(ErrIllegalGeneration)
	}
	if (req.ProtocolType != "" && req.ProtocolType != g.protocolType) || (req.Protocol != "" && req.Protocol != g.protocol) {
		return fail(ErrInconsistentProtocol)
	}
	m.lastSeen = c.now()
	switch g.state {
	case PreparingRebalance:
		return fail(ErrRebalanceInProgress)
	case Stable:
		return nil, SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: m.assignment}, nil, nil
	}
	// CompletingRebalance
	m.answerSync(SyncResult{Err: ErrRebalanceInProgress})
	ch := make(chan SyncResult, 1)
	m.syncCh = ch
	if m.id != g.leader {
		return ch, SyncResult{}, nil, nil
	}
	for _, o := range g.members {
		o.assignment = req.Assignments[o.id]
	}
	g.transition(Stable, c.now())
	writes := []write{c.groupRecordLocked(g)}
	var answers []syncAnswer
	for _, o := range g.members {
		if o.syncCh != nil {
			answers = append(answers, syncAnswer{o.syncCh, SyncResult{ProtocolType: g.protocolType, Protocol: g.protocol, Assignment: o.assignment}})
			o.syncCh = nil
		}
	}
	return ch, SyncResult{}, writes, answers
}

// memberLocked finds a member, checking its static instance id.
func (c *Coordinator) memberLocked(groupID, memberID, instanceID string) (*group, *member, error) {
	g := c.groups[groupID]
	if g == nil {
		return nil, nil, fmt.Errorf("group %q: %w", groupID, ErrUnknownMemberID)
	}
	if instanceID != "" {
		if cur, ok := g.statics[instanceID]; ok && cur != memberID {
			return nil, nil, fmt.Errorf("instance %s is member %s, not %s: %w", instanceID, cur, memberID, ErrFencedInstanceID)
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, nil, fmt.Errorf("group %q member %q: %w", groupID, memberID, ErrUnknownMemberID)
	}
	return g, m, nil
}

// Heartbeat keeps a member's session alive. During a rebalance it answers
// ErrRebalanceInProgress so the member rejoins.
func (c *Coordinator) Heartbeat(groupID, memberID, instanceID string, generation int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLocked(); err != nil {
		return err
	}
	g, m, err := c.memberLocked(groupID, memberID, instanceID)
	if err != nil {
		return err
	}
	m.lastSeen = c.now()
	switch {
	case g.state == PreparingRebalance:
		return ErrRebalanceInProgress
	case generation != g.generation:
		return ErrIllegalGeneration
	}
	return nil
}

// Leaver names one member leaving: by member id, or (static) by instance id.
type Leaver struct{ MemberID, InstanceID string }

// Leave removes members and starts a rebalance for the rest. It returns one
// error per leaver; the error for the whole request is for an unknown group.
func (c *Coordinator) Leave(groupID string, leavers []Leaver) ([]error, error) {
	c.mu.Lock()
	if err := c.checkLocked(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	g := c.groups[groupID]
	if g == nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("group %q: %w", groupID, ErrUnknownMemberID)
	}
	errs := make([]error, len(leavers))
	removed := false
	for i, l := range leavers {
		id := l.MemberID
		if l.InstanceID != "" {
			cur, ok := g.statics[l.InstanceID]
			switch {
			case !ok:
				errs[i] = ErrUnknownMemberID
				continue
			case id != "" && id != cur:
				errs[i] = ErrFencedInstanceID
				continue
			}
			id = cur
		}
		m := g.members[id]
		if m == nil {
			if _, ok := g.pending[id]; ok {
				delete(g.pending, id)
				continue
			}
			errs[i] = ErrUnknownMemberID
			continue
		}
		g.remove(m)
		removed = true
	}
	var writes []write
	now := c.now()
	if removed {
		switch g.state {
		case Stable, CompletingRebalance:
			c.prepareLocked(g, now)
		}
		if g.state == PreparingRebalance && g.allJoined() {
			writes = c.completeJoinLocked(g, now)
		}
	}
	c.mu.Unlock()
	c.sync(writes)
	return errs, nil
}
