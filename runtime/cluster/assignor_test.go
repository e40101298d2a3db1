package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testDelay = 5 * time.Minute

func TestAssignFirst(t *testing.T) {
	s := newSim(t, testDelay, map[string]int{"a": 2, "b": 1, "stopped": 0}, "w1", "w2", "w3")
	out := s.round()
	for _, a := range out {
		assert.Empty(t, revokedItems(a))
		assert.Zero(t, a.Delay)
		assert.Equal(t, VersionSessioned, a.Version)
	}
	s.requireExactlyOnce()
	s.requireBalanced()
	assert.Equal(t, 0, s.converge(), "a second round changes nothing")
	// Least loaded first, lowest id among equals, in name order.
	assert.Equal(t, []TaskID{{"a", -1}, {"a", 0}}, s.runs("w1"))
	assert.Equal(t, []TaskID{{"a", 1}, {"b", -1}}, s.runs("w2"))
	assert.Equal(t, []TaskID{{"b", 0}, {"stopped", -1}}, s.runs("w3"))
}

func TestAssignJoin(t *testing.T) {
	s := newSim(t, testDelay, connectors(6, 2), "w1", "w2")
	s.converge()
	before := map[string][]TaskID{"w1": s.runs("w1"), "w2": s.runs("w2")}

	s.join("w3")
	first := s.round()
	assert.Empty(t, assignedItems(first["w3"]), "the first round only revokes")
	var revoked int
	for _, id := range []string{"w1", "w2"} {
		assert.Empty(t, assignedItems(first[id]))
		revoked += len(revokedItems(first[id]))
		// Everything not revoked stays where it was.
		assert.Subset(t, before[id], s.runs(id))
	}
	assert.Equal(t, 2+4, revoked, "w1 and w2 give up 1 connector and 2 tasks each")

	second := s.round()
	assert.Len(t, assignedItems(second["w3"]), revoked, "the follow-up round assigns the revoked work")
	for _, a := range second {
		assert.Empty(t, revokedItems(a))
	}
	s.requireExactlyOnce()
	s.requireBalanced()
	assert.Equal(t, 0, s.converge())
}

func TestAssignDeparture(t *testing.T) {
	newThree := func(t *testing.T, delay time.Duration) (*sim, []TaskID) {
		s := newSim(t, delay, connectors(3, 3), "w1", "w2", "w3")
		s.converge()
		lost := s.runs("w3")
		s.leave("w3")
		return s, lost
	}
	t.Run("held for the delay", func(t *testing.T) {
		s, lost := newThree(t, testDelay)
		out := s.round()
		for _, a := range out {
			assert.Empty(t, assignedItems(a))
			assert.Empty(t, revokedItems(a))
			assert.Equal(t, int32(testDelay/time.Millisecond), a.Delay)
		}
		s.advance(time.Minute)
		s.join("w4") // a newcomer during the delay gets nothing yet
		out = s.round()
		for _, a := range out {
			assert.Empty(t, assignedItems(a))
			assert.Empty(t, revokedItems(a))
			assert.Equal(t, int32(4*time.Minute/time.Millisecond), a.Delay)
		}
		assert.NotEmpty(t, lost)
	})
	t.Run("back before the deadline under a new member id", func(t *testing.T) {
		s, lost := newThree(t, testDelay)
		s.round()
		s.advance(time.Minute)
		s.join("w3-2") // same URL as w3
		out := s.round()
		assert.Equal(t, lost, sortedItems(assignedItems(out["w3-2"])))
		for _, a := range out {
			assert.Zero(t, a.Delay)
			assert.Empty(t, revokedItems(a))
		}
		s.requireExactlyOnce()
	})
	t.Run("a member that stayed but missed its assignment gets it at once", func(t *testing.T) {
		s, lost := newThree(t, testDelay)
		s.round()
		s.join("w3")
		out := s.round()
		assert.Equal(t, lost, sortedItems(assignedItems(out["w3"])))
		s.requireExactlyOnce()
	})
	t.Run("expired", func(t *testing.T) {
		s, lost := newThree(t, testDelay)
		s.round()
		s.advance(testDelay)
		out := s.round()
		got := append(assignedItems(out["w1"]), assignedItems(out["w2"])...)
		assert.ElementsMatch(t, lost, got)
		for _, a := range out {
			assert.Zero(t, a.Delay)
			assert.Empty(t, revokedItems(a))
		}
		s.requireExactlyOnce()
		s.requireBalanced()
	})
	t.Run("no delay", func(t *testing.T) {
		s, lost := newThree(t, 0)
		out := s.round()
		got := append(assignedItems(out["w1"]), assignedItems(out["w2"])...)
		assert.ElementsMatch(t, lost, got)
		assert.Zero(t, out["w1"].Delay)
		s.requireExactlyOnce()
		s.requireBalanced()
	})
}

func sortedItems(items []TaskID) []TaskID { return sorted(items) }

func TestAssignConfigChanges(t *testing.T) {
	tests := []struct {
		name   string
		change func(map[string]int)
		// revoked is what the first round after the change revokes: only
		// what no longer exists.
		revoked []TaskID
	}{
		{"connector added", func(m map[string]int) { m["new"] = 5 }, nil},
		{"connector added without tasks", func(m map[string]int) { m["new"] = 0 }, nil},
		{"connector deleted", func(m map[string]int) { delete(m, "c001") },
			[]TaskID{{"c001", -1}, {"c001", 0}, {"c001", 1}, {"c001", 2}}},
		{"tasks added", func(m map[string]int) { m["c000"] = 6 }, nil},
		{"tasks removed", func(m map[string]int) { m["c000"] = 1 }, []TaskID{{"c000", 1}, {"c000", 2}}},
		{"connector stopped", func(m map[string]int) { m["c002"] = 0 }, []TaskID{{"c002", 0}, {"c002", 1}, {"c002", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t, testDelay, connectors(5, 3), "w1", "w2", "w3")
			s.converge()
			tt.change(s.cfg.Tasks)
			s.cfg.Offset++
			out := s.round()
			var revoked []TaskID
			for _, a := range out {
				revoked = append(revoked, revokedItems(a)...)
			}
			assert.ElementsMatch(t, tt.revoked, revoked)
			s.converge()
			s.requireExactlyOnce()
			s.requireBalanced()
		})
	}
}

func TestAssignLeaderChange(t *testing.T) {
	t.Run("a new leader keeps what runs", func(t *testing.T) {
		s := newSim(t, testDelay, connectors(4, 2), "w1", "w2", "w3")
		s.converge()
		s.a = &Assignor{MaxDelay: testDelay, Now: s.a.Now}
		assert.Equal(t, 0, s.converge())
		s.requireExactlyOnce()
	})
	t.Run("work of a member gone before the new leader is new work", func(t *testing.T) {
		s := newSim(t, testDelay, connectors(4, 2), "w1", "w2", "w3")
		s.converge()
		s.leave("w3")
		s.a = &Assignor{MaxDelay: testDelay, Now: s.a.Now}
		s.round()
		s.requireExactlyOnce()
	})
	t.Run("a stale view is rebuilt", func(t *testing.T) {
		s := newSim(t, testDelay, connectors(4, 2), "w1", "w2", "w3")
		s.converge()
		old := s.a
		s.a = &Assignor{MaxDelay: testDelay, Now: old.Now}
		s.cfg.Tasks["late"] = 2 // another leader places new work
		s.converge()
		s.a = old
		out := s.round()
		assert.False(t, changed(out), "the old leader moves nothing: %v", out)
		s.requireExactlyOnce()
	})
	t.Run("a deleted connector still running is revoked", func(t *testing.T) {
		s := newSim(t, testDelay, connectors(2, 1), "w1", "w2")
		s.converge()
		delete(s.cfg.Tasks, "c000")
		s.a = &Assignor{MaxDelay: testDelay, Now: s.a.Now}
		s.converge()
		s.requireExactlyOnce()
	})
	t.Run("a revocation that did not happen", func(t *testing.T) {
		s := newSim(t, testDelay, connectors(6, 0), "w1", "w2")
		s.converge()
		s.join("w3")
		out := s.round()
		// w1 ignores its revocation and keeps running the work.
		for _, item := range revokedItems(out["w1"]) {
			s.members["w1"].run[item] = true
		}
		s.converge()
		s.advance(time.Second) // the backoff between revoking rounds
		s.converge()
		s.requireExactlyOnce()
		s.requireBalanced()
	})
}

func TestAssignDuplicates(t *testing.T) {
	s := newSim(t, testDelay, map[string]int{"a": 1}, "w1", "w2")
	s.members["w1"].run[TaskID{"a", 0}] = true
	s.members["w2"].run[TaskID{"a", 0}] = true
	out := s.round()
	assert.Empty(t, revokedItems(out["w1"]), "the first holder keeps it")
	assert.Equal(t, []TaskID{{"a", 0}}, out["w2"].RevokedTasks)
	s.converge()
	s.requireExactlyOnce()
}

func TestAssignRevocationBackoff(t *testing.T) {
	s := newSim(t, testDelay, map[string]int{"a": 0, "b": 0, "c": 0, "d": 0, "e": 0, "f": 0,
		"g": 0, "h": 0, "i": 0, "j": 0, "k": 0, "l": 0}, "w1", "w2")
	s.converge()
	s.join("w3")
	first := s.round()
	assert.NotEmpty(t, first["w1"].RevokedConnectors)
	s.join("w4") // joins before the follow-up round
	second := s.round()
	for _, a := range second {
		assert.Empty(t, revokedItems(a), "consecutive revocations wait")
		assert.Equal(t, int32(40), a.Delay)
	}
	s.advance(40 * time.Millisecond)
	third := s.round()
	assert.NotEmpty(t, revokedItems(third["w1"]), "revocations resume after the backoff")
	assert.Zero(t, third["w1"].Delay)
	s.converge()
	s.requireExactlyOnce()
	s.requireBalanced()
	assert.Zero(t, s.a.revokingRounds, "a settled group resets the backoff")
}

func TestAssignBackoffGrows(t *testing.T) {
	a := &Assignor{MaxDelay: 2 * time.Minute}
	var got []time.Duration
	for a.revokingRounds = 1; a.revokingRounds <= 4; a.revokingRounds++ {
		got = append(got, a.backoff())
	}
	assert.Equal(t, []time.Duration{40 * time.Millisecond, 1600 * time.Millisecond, 64 * time.Second, 2 * time.Minute}, got)
	assert.Zero(t, (&Assignor{}).backoff())
}

func TestAssignMany(t *testing.T) {
	s := newSim(t, testDelay, connectors(100, 4), "w1", "w2", "w3")
	s.round()
	s.requireExactlyOnce()
	s.requireBalanced()
	for _, id := range []string{"w1", "w2", "w3"} {
		assert.InDelta(t, 500/3, len(s.runs(id)), 2)
	}
	s.join("w4")
	assert.Equal(t, 2, s.converge(), "a join converges in two rounds")
	s.requireExactlyOnce()
	s.requireBalanced()
}

func TestAssignEager(t *testing.T) {
	s := newSim(t, testDelay, map[string]int{"a": 2, "b": 1}, "m1", "m2")
	s.version = VersionEager
	out := s.a.Assign("m1", "http://m1", s.metadata(), s.cfg, VersionEager)
	assert.Equal(t, Assignment{Leader: "m1", LeaderURL: "http://m1", ConfigOffset: 10,
		Connectors: []string{"a"}, Tasks: []TaskID{{"a", 1}, {"b", 0}}}, out["m1"])
	assert.Equal(t, Assignment{Leader: "m1", LeaderURL: "http://m1", ConfigOffset: 10,
		Connectors: []string{"b"}, Tasks: []TaskID{{"a", 0}}}, out["m2"])
}

func TestAssignConfigMismatch(t *testing.T) {
	s := newSim(t, testDelay, map[string]int{"a": 1}, "w1", "w2")
	md := s.metadata()
	w2 := md["w2"]
	w2.ConfigOffset = 12
	md["w2"] = w2
	out := s.a.Assign("w1", "http://w1", md, s.cfg, VersionSessioned)
	for _, a := range out {
		require.Equal(t, Assignment{Version: VersionSessioned, Error: ConfigMismatch, Leader: "w1",
			LeaderURL: "http://w1", ConfigOffset: 12}, a)
	}
	assert.Empty(t, s.a.Assign("w1", "u", nil, s.cfg, VersionSessioned))
}

func BenchmarkAssign(b *testing.B) {
	b.Run("100x4 on 3 steady", func(b *testing.B) {
		s := newSim(b, testDelay, connectors(100, 4), "w1", "w2", "w3")
		s.converge()
		md := s.metadata()
		b.ReportAllocs()
		for b.Loop() {
			s.a.Assign("w1", "http://w1", md, s.cfg, VersionSessioned)
		}
	})
	b.Run("100x4 on 3 first", func(b *testing.B) {
		s := newSim(b, testDelay, connectors(100, 4), "w1", "w2", "w3")
		md := s.metadata()
		b.ReportAllocs()
		for b.Loop() {
			(&Assignor{MaxDelay: testDelay}).Assign("w1", "http://w1", md, s.cfg, VersionSessioned)
		}
	})
}
