package group

import (
	"bytes"
	"slices"
	"strings"
	"time"
)

// State is a group's state, named as Kafka names it in DescribeGroups and
// ListGroups.
type State string

// The group states.
const (
	Empty               State = "Empty"
	PreparingRebalance  State = "PreparingRebalance"
	CompletingRebalance State = "CompletingRebalance"
	Stable              State = "Stable"
	Dead                State = "Dead"
)

// Protocol is one protocol a member supports, with its opaque metadata.
type Protocol struct {
	Name     string
	Metadata []byte
}

type member struct {
	id, instanceID      string
	clientID, host      string
	sessionTimeout      time.Duration
	rebalanceTimeout    time.Duration
	protocols           []Protocol
	assignment          []byte
	lastSeen            time.Time
	joinCh              chan JoinResult // set while the member waits in Join
	syncCh              chan SyncResult // set while the member waits in Sync
	joinedThisRebalance bool
}

func (m *member) answerJoin(r JoinResult) {
	if m.joinCh != nil {
		m.joinCh <- r // buffered, one slot
		m.joinCh = nil
	}
}

func (m *member) answerSync(r SyncResult) {
	if m.syncCh != nil {
		m.syncCh <- r
		m.syncCh = nil
	}
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

type offset struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	committed   time.Time
}

type group struct {
	id           string
	state        State
	generation   int32
	protocolType string
	protocol     string
	leader       string
	members      map[string]*member
	statics      map[string]string    // instance id → member id
	pending      map[string]time.Time // member ids handed out by MEMBER_ID_REQUIRED → expiry
	deadline     time.Time            // end of the current rebalance step
	delayed      bool                 // the rebalance waits out the initial delay
	offsets      map[string]map[int32]offset
	// stateSince is when the group entered its state (Kafka's
	// currentStateTimestamp): an Empty group's offsets expire counting
	// from it. Zero when unknown (a group loaded from a record without
	// it), and then each offset counts from its commit.
	stateSince time.Time
}

func newGroup(id string, now time.Time) *group {
	return &group{
		id: id, state: Empty, stateSince: now,
		members: map[string]*member{}, statics: map[string]string{},
		pending: map[string]time.Time{}, offsets: map[string]map[int32]offset{},
	}
}

// transition moves g to state s, noting when.
func (g *group) transition(s State, now time.Time) {
	g.state, g.stateSince = s, now
}

func (g *group) remove(m *member) {
	m.answerJoin(JoinResult{Err: ErrUnknownMemberID})
	m.answerSync(SyncResult{Err: ErrUnknownMemberID})
	delete(g.members, m.id)
	if m.instanceID != "" && g.statics[m.instanceID] == m.id {
		delete(g.statics, m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
	}
}

func (g *group) allJoined() bool {
	for _, m := range g.members {
		if !m.joinedThisRebalance {
			return false
		}
	}
	return true
}

// candidates are the protocols every member (and extra, a member about to
// join, if not nil) supports, in the preference order of extra, or else of
// the member with the smallest id.
func (g *group) candidates(extra *member) []string {
	all := make([]*member, 0, len(g.members)+1)
	for _, m := range g.members {
		all = append(all, m)
	}
	slices.SortFunc(all, func(a, b *member) int { return strings.Compare(a.id, b.id) })
	if extra != nil {
		all = append([]*member{extra}, all...)
	}
	if len(all) == 0 {
		return nil
	}
	var out []string
	for _, p := range all[0].protocols {
		if !slices.ContainsFunc(all, func(m *member) bool { return !m.supports(p.Name) }) {
			out = append(out, p.Name)
		}
	}
	return out
}

func (m *member) supports(name string) bool {
	return slices.ContainsFunc(m.protocols, func(p Protocol) bool { return p.Name == name })
}

// selectProtocol picks, as Kafka does, among the protocols all members
// support, the one most members list first among those candidates; ties go
// to the earlier candidate.
func (g *group) selectProtocol() string {
	cands := g.candidates(nil)
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(cands, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, c := range cands {
		if best == "" || votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

// sameProtocols reports whether a rejoining member offers exactly what it
// offered before.
func sameProtocols(a, b []Protocol) bool {
	return slices.EqualFunc(a, b, func(x, y Protocol) bool {
		return x.Name == y.Name && bytes.Equal(x.Metadata, y.Metadata)
	})
}

// rebalanceTimeout is the longest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}
