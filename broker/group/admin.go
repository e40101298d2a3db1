package group

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/broker/batch"
)

// MemberInfo describes one member for DescribeGroups.
type MemberInfo struct {
	MemberID, InstanceID, ClientID, ClientHost string
	Metadata, Assignment                       []byte
}

// Info describes a group for DescribeGroups.
type Info struct {
	ID                     string
	State                  State
	ProtocolType, Protocol string
	Members                []MemberInfo
}

// Describe returns a group's state; an unknown group is Dead.
func (c *Coordinator) Describe(groupID string) Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[groupID]
	if g == nil {
		return Info{ID: groupID, State: Dead}
	}
	in := Info{ID: g.id, State: g.state, ProtocolType: g.protocolType}
	if g.state == Stable || g.state == CompletingRebalance {
		in.Protocol = g.protocol
	}
	for _, m := range g.members {
		mi := MemberInfo{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.host}
		if g.state == Stable || g.state == CompletingRebalance {
			mi.Metadata = m.metadataFor(g.protocol)
		}
		if g.state == Stable {
			mi.Assignment = m.assignment
		}
		in.Members = append(in.Members, mi)
	}
	slices.SortFunc(in.Members, func(a, b MemberInfo) int { return strings.Compare(a.MemberID, b.MemberID) })
	return in
}

// Listed is one group for ListGroups.
type Listed struct {
	ID, ProtocolType string
	State            State
}

// List returns every group, filtered by state when states is not empty
// (compared case-insensitively, as Kafka does).
func (c *Coordinator) List(states []string) []Listed {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Listed
	for _, g := range c.groups {
		if len(states) > 0 && !slices.ContainsFunc(states, func(s string) bool { return strings.EqualFold(s, string(g.state)) }) {
			continue
		}
		out = append(out, Listed{ID: g.id, ProtocolType: g.protocolType, State: g.state})
	}
	slices.SortFunc(out, func(a, b Listed) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// DeleteGroup removes a group without members and its offsets.
func (c *Coordinator) DeleteGroup(groupID string) error {
	c.mu.Lock()
	g := c.groups[groupID]
	switch {
	case g == nil:
		c.mu.Unlock()
		return fmt.Errorf("group %q: %w", groupID, ErrGroupNotFound)
	case len(g.members) > 0 || g.state != Empty:
		c.mu.Unlock()
		return fmt.Errorf("group %q has %d members: %w", groupID, len(g.members), ErrNonEmptyGroup)
	}
	var w []write
	for t, ps := range g.offsets {
		for p := range ps {
			w = append(w, c.appendLocked(groupID, []batch.Record{offsetRecord(groupID, t, p, nil)}))
		}
	}
	g.state = Dead
	w = append(w, c.groupRecordLocked(g))
	delete(c.groups, groupID)
	c.mu.Unlock()
	return c.sync(w)
}
