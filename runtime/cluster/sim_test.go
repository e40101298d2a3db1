package cluster

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sim is a group of workers applying an Assignor's assignments as real
// workers do: stop what is revoked, start what is assigned.
type sim struct {
	t       testing.TB
	a       *Assignor
	clock   time.Time
	cfg     ClusterConfig
	members map[string]*simMember
	version int16
}

type simMember struct {
	url string
	run map[TaskID]bool
}

func newSim(t testing.TB, maxDelay time.Duration, tasks map[string]int, ids ...string) *sim {
	s := &sim{t: t, clock: time.Unix(1_700_000_000, 0), cfg: ClusterConfig{Offset: 10, Tasks: tasks},
		members: map[string]*simMember{}, version: VersionSessioned}
	s.a = &Assignor{MaxDelay: maxDelay, Now: func() time.Time { return s.clock }}
	for _, id := range ids {
		s.join(id)
	}
	return s
}

// join adds a member whose URL is derived from its id ("w1-2" → "http://w1").
func (s *sim) join(id string) {
	url := "http://" + id
	if i := len(id) - 2; i > 0 && id[i] == '-' {
		url = "http://" + id[:i]
	}
	s.members[id] = &simMember{url: url, run: map[TaskID]bool{}}
}

func (s *sim) leave(id string) { delete(s.members, id) }

func (s *sim) advance(d time.Duration) { s.clock = s.clock.Add(d) }

func (s *sim) metadata() map[string]MemberMetadata {
	out := make(map[string]MemberMetadata, len(s.members))
	for id, m := range s.members {
		md := MemberMetadata{Version: s.version, URL: m.url, ConfigOffset: s.cfg.Offset}
		for _, item := range slices.SortedFunc(maps.Keys(m.run), compareTaskIDs) {
			if item.Task == ConnectorTask {
				md.Allocation.Connectors = append(md.Allocation.Connectors, item.Connector)
			} else {
				md.Allocation.Tasks = append(md.Allocation.Tasks, item)
			}
		}
		out[id] = md
	}
	return out
}

// round runs one rebalance with the lowest id as leader and applies it,
// checking that nobody is told to start what it runs or to stop what it
// does not run.
func (s *sim) round() map[string]Assignment {
	s.t.Helper()
	leader := slices.Sorted(maps.Keys(s.members))[0]
	out := s.a.Assign(leader, s.members[leader].url, s.metadata(), s.cfg, s.version)
	require.Len(s.t, out, len(s.members))
	for id, a := range out {
		m := s.members[id]
		require.Equal(s.t, leader, a.Leader)
		require.Equal(s.t, s.cfg.Offset, a.ConfigOffset)
		for _, item := range revokedItems(a) {
			require.True(s.t, m.run[item], "%s told to stop %s which it does not run", id, item)
			delete(m.run, item)
		}
		for _, item := range assignedItems(a) {
			require.False(s.t, m.run[item], "%s told to start %s which it runs", id, item)
			m.run[item] = true
		}
	}
	return out
}

// converge runs rounds until one changes nothing; it returns how many
// rounds changed something.
func (s *sim) converge() int {
	s.t.Helper()
	for n := 0; n < 10; n++ {
		if out := s.round(); !changed(out) {
			return n
		}
	}
	s.t.Fatal("no convergence in 10 rounds")
	return 0
}

func changed(out map[string]Assignment) bool {
	for _, a := range out {
		if len(assignedItems(a))+len(revokedItems(a)) > 0 {
			return true
		}
	}
	return false
}

func assignedItems(a Assignment) []TaskID {
	var out []TaskID
	for _, c := range a.Connectors {
		out = append(out, TaskID{Connector: c, Task: ConnectorTask})
	}
	return append(out, a.Tasks...)
}

func revokedItems(a Assignment) []TaskID {
	var out []TaskID
	for _, c := range a.RevokedConnectors {
		out = append(out, TaskID{Connector: c, Task: ConnectorTask})
	}
	return append(out, a.RevokedTasks...)
}

// configuredItems lists everything cfg asks to run.
func configuredItems(cfg ClusterConfig) map[TaskID]bool {
	out := map[TaskID]bool{}
	for c, n := range cfg.Tasks {
		out[TaskID{Connector: c, Task: ConnectorTask}] = true
		for i := range n {
			out[TaskID{Connector: c, Task: int32(i)}] = true
		}
	}
	return out
}

// requireExactlyOnce checks that every configured item runs on exactly one
// member, and nothing else runs.
func (s *sim) requireExactlyOnce() {
	s.t.Helper()
	seen := map[TaskID]string{}
	for id, m := range s.members {
		for item := range m.run {
			other, dup := seen[item]
			require.False(s.t, dup, "%s runs on %s and %s", item, other, id)
			seen[item] = id
		}
	}
	want := configuredItems(s.cfg)
	require.Equal(s.t, len(want), len(seen))
	for item := range want {
		require.Contains(s.t, seen, item)
	}
}

// requireBalanced checks that connector counts and task counts each differ
// by at most one between members.
func (s *sim) requireBalanced() {
	s.t.Helper()
	for k := range numKinds {
		lo, hi := int(^uint(0)>>1), 0
		for _, m := range s.members {
			n := 0
			for item := range m.run {
				if kindOf(item) == k {
					n++
				}
			}
			lo, hi = min(lo, n), max(hi, n)
		}
		require.LessOrEqual(s.t, hi-lo, 1, "kind %d counts from %d to %d", k, lo, hi)
	}
}

// runs is what member id runs, sorted.
func (s *sim) runs(id string) []TaskID {
	return slices.SortedFunc(maps.Keys(s.members[id].run), compareTaskIDs)
}

// connectors returns n connector names c000… with tasks tasks each.
func connectors(n, tasks int) map[string]int {
	out := make(map[string]int, n)
	for i := range n {
		out[fmt.Sprintf("c%03d", i)] = tasks
	}
	return out
}
