package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// joined is one generation as JoinGroup answered it.
type joined struct {
	generation       int32
	memberID, leader string
	protocol         string
	version          int16
	members          []kmsg.JoinGroupResponseMember // the leader's only
}

// generation takes the member through one generation: join, sync, deliver
// the assignment, then heartbeat until a rebalance is due. A nil error
// means rejoin now.
func (m *Member) generation(ctx context.Context) error {
	m.unstable()
	j, err := m.join(ctx)
	if err != nil {
		return err
	}
	// Heartbeats start with the generation: a leader's Assign and the
	// Handler's Assigned may take a while.
	hb := m.startHeartbeat(ctx, j)
	defer hb.stop()
	a, err := m.sync(ctx, j)
	if err != nil {
		return err
	}
	m.setState(memberState{generation: j.generation, memberID: j.memberID, leaderID: j.leader, stable: true})
	if j.generation == m.delivered && j.memberID == m.deliveredTo {
		// A Kafka coordinator answers a follower that rejoins with
		// unchanged metadata with the current generation: its assignment
		// was delivered already. Wait for the leader's rebalance.
		m.log.Debug("worker group kept the current generation", "generation", j.generation)
		return m.await(ctx, Assignment{}, hb)
	}
	m.delivered, m.deliveredTo = j.generation, j.memberID
	m.deliver(ctx, j, a)
	return m.await(ctx, a, hb)
}

// join sends JoinGroup with the Handler's metadata for every offered
// protocol, taking the member id the coordinator requires (KIP-394).
func (m *Member) join(ctx context.Context) (joined, error) {
	select { // a Rejoin from now on needs a later round
	case <-m.rejoin:
	default:
	}
	md := m.o.Handler.Metadata()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group = m.o.GroupID
	req.SessionTimeoutMillis = millis(m.o.SessionTimeout)
	req.RebalanceTimeoutMillis = millis(m.o.RebalanceTimeout)
	req.ProtocolType = ProtocolType
	for _, o := range m.offers {
		md.Version = o.version
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = o.name, EncodeMetadata(md)
		req.Protocols = append(req.Protocols, p)
	}
	for range 3 {
		req.MemberID = m.memberID
		resp, err := req.RequestWith(ctx, m.o.Client)
		if err != nil {
			return joined{}, fmt.Errorf("join worker group %s: %w", m.o.GroupID, err)
		}
		err = kerr.ErrorForCode(resp.ErrorCode)
		if errors.Is(err, kerr.MemberIDRequired) {
			m.memberID = resp.MemberID
			continue
		}
		if err != nil {
			return joined{}, fmt.Errorf("join worker group %s as %q: %w", m.o.GroupID, m.memberID, err)
		}
		return m.joined(resp)
	}
	return joined{}, fmt.Errorf("join worker group %s: the coordinator keeps asking for a member id", m.o.GroupID)
}

func (m *Member) joined(resp *kmsg.JoinGroupResponse) (joined, error) {
	m.touch()
	m.memberID = resp.MemberID
	var name string
	if resp.Protocol != nil {
		name = *resp.Protocol
	}
	version, ok := protocolVersion(name)
	if !ok {
		return joined{}, fmt.Errorf("join worker group %s: the coordinator chose protocol %q, which this worker does not speak: %w",
			m.o.GroupID, name, kerr.InconsistentGroupProtocol)
	}
	return joined{generation: resp.Generation, memberID: resp.MemberID, leader: resp.LeaderID,
		protocol: name, version: version, members: resp.Members}, nil
}

// sync sends SyncGroup, with everyone's assignments if this member leads,
// and decodes this member's assignment.
func (m *Member) sync(ctx context.Context, j joined) (Assignment, error) {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.Generation, req.MemberID = m.o.GroupID, j.generation, j.memberID
	req.ProtocolType, req.Protocol = kmsg.StringPtr(ProtocolType), kmsg.StringPtr(j.protocol)
	if j.leader == j.memberID {
		assignments, err := m.assign(ctx, j)
		if err != nil {
			return Assignment{}, err
		}
		req.GroupAssignment = assignments
	}
	resp, err := req.RequestWith(ctx, m.o.Client)
	if err != nil {
		return Assignment{}, fmt.Errorf("sync worker group %s generation %d: %w", m.o.GroupID, j.generation, err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return Assignment{}, fmt.Errorf("sync worker group %s generation %d: %w", m.o.GroupID, j.generation, err)
	}
	m.touch()
	a, err := DecodeAssignment(resp.MemberAssignment)
	if err != nil {
		return Assignment{}, fmt.Errorf("worker group %s generation %d: %w", m.o.GroupID, j.generation, err)
	}
	return a, nil
}

// assign runs the Handler's assignment on the leader and encodes it in the
// chosen protocol's version. A member whose metadata cannot be read is
// assigned as a newcomer; one the Handler left out gets an empty
// assignment.
func (m *Member) assign(ctx context.Context, j joined) ([]kmsg.SyncGroupRequestGroupAssignment, error) {
	members := make(map[string]MemberMetadata, len(j.members))
	for _, jm := range j.members {
		md, err := DecodeMetadata(jm.ProtocolMetadata)
		if err != nil {
			m.log.Error("cannot read a worker group member's metadata; assigning it as a newcomer",
				"member", jm.MemberID, "err", err)
			md = MemberMetadata{}
		}
		md.Version = j.version
		members[jm.MemberID] = md
	}
	out, err := m.o.Handler.Assign(ctx, j.generation, members)
	if err != nil {
		return nil, fmt.Errorf("assign worker group %s generation %d: %w", m.o.GroupID, j.generation, err)
	}
	leader := members[j.memberID]
	var sync []kmsg.SyncGroupRequestGroupAssignment
	for _, id := range slices.Sorted(maps.Keys(members)) {
		a, ok := out[id]
		if !ok {
			m.log.Warn("no assignment for a worker group member; giving it nothing", "member", id)
			a = Assignment{Leader: j.memberID, LeaderURL: leader.URL, ConfigOffset: leader.ConfigOffset}
		}
		a.Version = j.version
		s := kmsg.NewSyncGroupRequestGroupAssignment()
		s.MemberID, s.MemberAssignment = id, EncodeAssignment(a)
		sync = append(sync, s)
	}
	return sync, nil
}

// deliver hands the assignment to the Handler and keeps track of what it
// runs.
func (m *Member) deliver(ctx context.Context, j joined, a Assignment) {
	if j.version == VersionEager {
		a.RevokedConnectors, a.RevokedTasks = m.alloc.Connectors, m.alloc.Tasks
		m.alloc = Allocation{Connectors: slices.Clone(a.Connectors), Tasks: slices.Clone(a.Tasks)}
	} else {
		m.alloc = m.alloc.apply(a)
	}
	// Debug: the worker logs each assignment it takes at Info.
	m.log.Debug("joined worker group", "generation", j.generation, "member", j.memberID,
		"leader", j.leader == j.memberID, "protocol", j.protocol, "error", a.Error,
		"assigned", len(a.Connectors)+len(a.Tasks), "revoked", len(a.RevokedConnectors)+len(a.RevokedTasks),
		"delay_ms", a.Delay)
	m.o.Handler.Assigned(ctx, j.generation, j.memberID, a)
}

// await waits for the end of a generation: at once after cooperative
// revocations (the follow-up round assigns the revoked work), else on a
// Rejoin, when the assignment's Delay expires, or when the heartbeat
// reports a rebalance or a lost membership.
func (m *Member) await(ctx context.Context, a Assignment, hb *heartbeat) error {
	if a.Version >= VersionCompatible && len(a.RevokedConnectors)+len(a.RevokedTasks) > 0 {
		return nil
	}
	var delay <-chan time.Time
	if a.Delay > 0 {
		t := time.NewTimer(time.Duration(a.Delay) * time.Millisecond)
		defer t.Stop()
		delay = t.C
	}
	select {
	case <-ctx.Done():
		return nil
	case <-m.rejoin:
		return nil
	case <-delay:
		m.log.Debug("scheduled rebalance delay expired; rejoining", "delay_ms", a.Delay)
		return nil
	case err := <-hb.failed:
		return err
	}
}

// apply is the allocation after a cooperative assignment: revoked work
// removed, assigned work added.
func (al Allocation) apply(a Assignment) Allocation {
	var out Allocation
	revoked := make(map[TaskID]bool)
	for _, c := range a.RevokedConnectors {
		revoked[TaskID{Connector: c, Task: ConnectorTask}] = true
	}
	for _, t := range a.RevokedTasks {
		revoked[t] = true
	}
	have := make(map[TaskID]bool)
	for _, c := range slices.Concat(al.Connectors, a.Connectors) {
		if id := (TaskID{Connector: c, Task: ConnectorTask}); !revoked[id] && !have[id] {
			have[id] = true
			out.Connectors = append(out.Connectors, c)
		}
	}
	for _, t := range slices.Concat(al.Tasks, a.Tasks) {
		if !revoked[t] && !have[t] {
			have[t] = true
			out.Tasks = append(out.Tasks, t)
		}
	}
	return out
}
