package group

import (
	"context"
	"fmt"
	"time"
)

// JoinRequest is one JoinGroup.
type JoinRequest struct {
	Group, MemberID, InstanceID string // InstanceID "" for a dynamic member
	ClientID, ClientHost        string
	ProtocolType                string
	Protocols                   []Protocol
	SessionTimeout              time.Duration
	RebalanceTimeout            time.Duration
	// RequireMemberID is set from JoinGroup v4: a new dynamic member first
	// gets ErrMemberIDRequired with its id and joins again with it.
	RequireMemberID bool
}

// JoinResult is what a member learns when the join step completes.
// Members is filled for the leader only.
type JoinResult struct {
	Generation   int32
	ProtocolType string
	Protocol     string
	Leader       string
	MemberID     string
	Members      []MemberMetadata
	Err          error // with ErrMemberIDRequired, MemberID is set
}

// MemberMetadata is one member's metadata for the chosen protocol.
type MemberMetadata struct {
	MemberID, InstanceID string
	Metadata             []byte
}

// Join adds or rejoins a member and waits for the rebalance's join step to
// complete, or ctx to end.
func (c *Coordinator) Join(ctx context.Context, req JoinRequest) JoinResult {
	ch, res, writes := c.join(req)
	c.sync(writes)
	if ch == nil {
		return res
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return JoinResult{Err: errClosed}
	}
}

func (c *Coordinator) join(req JoinRequest) (chan JoinResult, JoinResult, []write) {
	fail := func(err error) (chan JoinResult, JoinResult, []write) {
		return nil, JoinResult{MemberID: req.MemberID, Err: err}, nil
	}
	if req.Group == "" {
		return fail(ErrInvalidGroupID)
	}
	if req.SessionTimeout < c.cfg.MinSessionTimeout || req.SessionTimeout > c.cfg.MaxSessionTimeout {
		return fail(fmt.Errorf("session timeout %v outside [%v, %v]: %w", req.SessionTimeout, c.cfg.MinSessionTimeout, c.cfg.MaxSessionTimeout, ErrInvalidSessionTimeout))
	}
	if req.RebalanceTimeout <= 0 {
		req.RebalanceTimeout = req.SessionTimeout
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkLocked(); err != nil {
		return fail(err)
	}
	now := c.now()
	g := c.groups[req.Group]
	if g == nil {
		if req.MemberID != "" {
			return fail(ErrUnknownMemberID)
		}
		g = newGroup(req.Group, now)
	}
	if req.ProtocolType == "" || len(req.Protocols) == 0 ||
		(len(g.members) > 0 && g.protocolType != req.ProtocolType) ||
		(len(g.members) > 0 && len(g.candidates(&member{protocols: req.Protocols})) == 0) {
		return fail(ErrInconsistentProtocol)
	}
	c.groups[req.Group] = g

	var m *member
	if req.InstanceID != "" {
		if old, ok := g.statics[req.InstanceID]; ok {
			switch {
			case req.MemberID == "":
				return c.rejoinStaticLocked(g, g.members[old], req, now)
			case req.MemberID != old:
				return fail(fmt.Errorf("instance %s is member %s, not %s: %w", req.InstanceID, old, req.MemberID, ErrFencedInstanceID))
			}
		} else if req.MemberID != "" {
			return fail(ErrUnknownMemberID)
		}
	}
	switch {
	case req.MemberID == "" && req.RequireMemberID && req.InstanceID == "":
		id := newMemberID(req.ClientID)
		g.pending[id] = now.Add(req.SessionTimeout)
		return nil, JoinResult{MemberID: id, Err: ErrMemberIDRequired}, nil
	case req.MemberID == "":
		m = &member{id: newMemberID(req.ClientID), instanceID: req.InstanceID}
	default:
		if _, ok := g.pending[req.MemberID]; ok {
			delete(g.pending, req.MemberID)
			m = &member{id: req.MemberID}
		} else if m = g.members[req.MemberID]; m == nil {
			return fail(ErrUnknownMemberID)
		}
	}
	c.updateMember(g, m, req, now)
	m.answerJoin(JoinResult{Err: ErrRebalanceInProgress}) // a duplicate join replaces the older one
	return c.awaitJoinLocked(g, m, now)
}

// awaitJoinLocked parks m's join until the rebalance completes, starting
// one if needed, and completes it now when m was the last to join.
func (c *Coordinator) awaitJoinLocked(g *group, m *member, now time.Time) (chan JoinResult, JoinResult, []write) {
	ch := make(chan JoinResult, 1)
	m.joinCh = ch
	m.joinedThisRebalance = true
	if g.state != PreparingRebalance {
		c.prepareLocked(g, now)
	}
	var writes []write
	if g.allJoined() && !g.delayed {
		writes = c.completeJoinLocked(g, now)
	}
	return ch, JoinResult{}, writes
}

func (c *Coordinator) updateMember(g *group, m *member, req JoinRequest, now time.Time) {
	m.clientID, m.host = req.ClientID, req.ClientHost
	m.sessionTimeout, m.rebalanceTimeout = req.SessionTimeout, req.RebalanceTimeout
	m.protocols = req.Protocols
	m.lastSeen = now
	g.members[m.id] = m
	if m.instanceID != "" {
		g.statics[m.instanceID] = m.id
	}
	g.protocolType = req.ProtocolType
}

// rejoinStaticLocked handles a known group.instance.id joining with no
// member id (a restarted static member): it takes a new member id, and the
// old one is fenced. With unchanged protocols in a Stable group there is no
// rebalance: the member gets the current generation back.
func (c *Coordinator) rejoinStaticLocked(g *group, old *member, req JoinRequest, now time.Time) (chan JoinResult, JoinResult, []write) {
	m := &member{id: newMemberID(req.ClientID), instanceID: req.InstanceID, assignment: old.assignment}
	unchanged := sameProtocols(old.protocols, req.Protocols) && g.state == Stable
	old.answerJoin(JoinResult{Err: ErrFencedInstanceID})
	old.answerSync(SyncResult{Err: ErrFencedInstanceID})
	delete(g.members, old.id)
	if g.leader == old.id {
		g.leader = m.id
	}
	c.updateMember(g, m, req, now)
	if unchanged {
		return nil, JoinResult{
			Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol,
			Leader: g.leader, MemberID: m.id,
		}, []write{c.groupRecordLocked(g)}
	}
	return c.awaitJoinLocked(g, m, now)
}

// prepareLocked starts a rebalance: every member must join again before
// the deadline. Members waiting in Sync are told to rejoin.
func (c *Coordinator) prepareLocked(g *group, now time.Time) {
	g.delayed = g.state == Empty && c.cfg.InitialRebalanceDelay > 0
	g.transition(PreparingRebalance, now)
	if g.delayed {
		g.deadline = now.Add(c.cfg.InitialRebalanceDelay)
	} else {
		g.deadline = now.Add(g.rebalanceTimeout())
	}
	for _, m := range g.members {
		m.answerSync(SyncResult{Err: ErrRebalanceInProgress})
		if m.joinCh == nil {
			m.joinedThisRebalance = false
		}
	}
}

// completeJoinLocked ends the join step: members that did not rejoin are
// removed, a new generation starts, and every joined member is answered.
func (c *Coordinator) completeJoinLocked(g *group, now time.Time) []write {
	if g.delayed && now.Before(g.deadline) {
		return nil
	}
	g.delayed = false
	for _, m := range g.members {
		if !m.joinedThisRebalance {
			c.log.Debug("group member did not rejoin in time", "group", g.id, "member", m.id)
			g.remove(m)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.transition(Empty, now)
		g.protocol, g.leader = "", ""
		return []write{c.groupRecordLocked(g)}
	}
	g.protocol = g.selectProtocol()
	if g.members[g.leader] == nil {
		for id := range g.members {
			if g.leader == "" || id < g.leader {
				g.leader = id
			}
		}
	}
	g.transition(CompletingRebalance, now)
	g.deadline = now.Add(g.rebalanceTimeout())
	var all []MemberMetadata
	for _, m := range g.members {
		all = append(all, MemberMetadata{MemberID: m.id, InstanceID: m.instanceID, Metadata: m.metadataFor(g.protocol)})
	}
	for _, m := range g.members {
		m.joinedThisRebalance = false
		m.lastSeen = now
		r := JoinResult{Generation: g.generation, ProtocolType: g.protocolType, Protocol: g.protocol, Leader: g.leader, MemberID: m.id}
		if m.id == g.leader {
			r.Members = all
		}
		m.answerJoin(r)
	}
	return nil
}
