package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/testenv"
)

func TestMembership(t *testing.T) {
	for _, c := range coordinators {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := newGroup(t, c.start(t), ClusterConfig{Offset: 1, Tasks: connectors(6, 2)})
			for _, name := range []string{"w1", "w2", "w3"} {
				g.start(name, ModeSessioned)
			}
			gen := g.waitSettled(0)
			g.leader()

			t.Run("a fourth joins cooperatively", func(t *testing.T) {
				before := map[string]map[TaskID]bool{}
				for name, w := range g.workers {
					before[name] = w.runs()
				}
				g.start("w4", ModeSessioned)
				// Balance may take a backoff longer than settling does.
				require.Eventually(t, func() bool {
					var ok bool
					gen, ok = g.settled()
					return ok && g.balanced()
				}, 30*time.Second, 20*time.Millisecond)
				for name, w := range g.workers {
					w.mu.Lock()
					for item := range w.run {
						if before[name][item] {
							assert.False(t, w.revoked[item], "%s: %s stayed but was stopped", name, item)
						}
					}
					w.mu.Unlock()
				}
				assert.NotEmpty(t, g.workers["w4"].runs())
			})

			t.Run("a clean stop rebalances at once, the work moves after the delay", func(t *testing.T) {
				victim := g.follower()
				start := time.Now()
				g.stop(victim, true)
				gen = g.waitGeneration(gen)
				assert.Less(t, time.Since(start), testSession, "LeaveGroup should not wait for the session")
				gen = g.waitSettled(gen)
				assert.GreaterOrEqual(t, time.Since(start), testMaxDelay, "lost work is held for the delay")
			})

			t.Run("a crash moves the work after the session and the delay", func(t *testing.T) {
				victim := g.follower()
				start := time.Now()
				g.stop(victim, false)
				gen = g.waitSettled(gen)
				assert.GreaterOrEqual(t, time.Since(start), testMaxDelay+testSession/2)
			})

			t.Run("Rejoin starts a new generation", func(t *testing.T) {
				g.workers[g.leader()].member.Rejoin()
				gen = g.waitGeneration(gen)
			})

			t.Run("a config change is assigned after Rejoin", func(t *testing.T) {
				cfg := *g.cfg.Load()
				cfg.Tasks = connectors(8, 2)
				cfg.Offset++
				g.cfg.Store(&cfg)
				for _, w := range g.workers {
					w.member.Rejoin()
				}
				gen = g.waitSettled(gen)
			})

			t.Run("a fenced member stops its work and comes back", func(t *testing.T) {
				victim := g.workers[g.follower()]
				_, memberID, _, _ := victim.member.State()
				kick(t, g.addr, g.id, memberID)
				require.Eventually(t, func() bool {
					victim.mu.Lock()
					defer victim.mu.Unlock()
					return victim.lost > 0
				}, 10*time.Second, 20*time.Millisecond)
				gen = g.waitSettled(gen)
				assert.NotEmpty(t, victim.runs(), "the member's work came back by URL")
			})
		})
	}
}

// balanced reports whether connector counts and task counts each differ
// by at most one between workers.
func (g *workerGroup) balanced() bool {
	for k := range numKinds {
		lo, hi := int(^uint(0)>>1), 0
		for _, w := range g.workers {
			n := 0
			for item := range w.runs() {
				if kindOf(item) == k {
					n++
				}
			}
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 1 {
			return false
		}
	}
	return true
}

// kick removes a member from the group behind its back, as an expired
// session would.
func kick(t *testing.T, addr, groupID, memberID string) {
	client, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer client.Close()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = groupID, memberID
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = memberID
	req.Members = []kmsg.LeaveGroupRequestMember{m}
	resp, err := req.RequestWith(context.Background(), client)
	require.NoError(t, err)
	require.NoError(t, kerr.ErrorForCode(resp.ErrorCode))
}

func TestProtocolNegotiation(t *testing.T) {
	tests := []struct {
		name    string
		modes   []string
		version int16
	}{
		{"all sessioned", []string{ModeSessioned, ModeSessioned}, VersionSessioned},
		{"compatible and sessioned", []string{ModeSessioned, ModeCompatible}, VersionCompatible},
		{"an eager worker", []string{ModeSessioned, ModeEager}, VersionEager},
	}
	for _, c := range coordinators {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := c.start(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					g := newGroup(t, addr, ClusterConfig{Offset: 1, Tasks: connectors(3, 1)})
					for i, mode := range tt.modes {
						g.start("w"+string(rune('1'+i)), mode)
					}
					g.waitSettled(0)
					leader := g.workers[g.leader()]
					got := int16(-1)
					for _, md := range leader.lastMembers() {
						got = md.Version
					}
					assert.Equal(t, tt.version, got)
				})
			}
		})
	}
}

func TestOptions(t *testing.T) {
	client, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	require.NoError(t, err)
	defer client.Close()
	ok := Options{Client: client, GroupID: "g", Handler: &testWorker{}}
	m, err := NewMember(ok)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, m.o.SessionTimeout)
	assert.Equal(t, 60*time.Second, m.o.RebalanceTimeout)
	assert.Equal(t, 3*time.Second, m.o.HeartbeatInterval)
	gen, id, leader, stable := m.State()
	assert.Equal(t, int32(-1), gen)
	assert.Empty(t, id+leader)
	assert.False(t, stable)

	_, err = NewMember(Options{Protocol: "cooperative", SessionTimeout: time.Second, HeartbeatInterval: 2 * time.Second})
	require.Error(t, err)
	for _, want := range []string{"client", "group.id", "Handler", "cooperative", "heartbeat.interval.ms"} {
		assert.ErrorContains(t, err, want)
	}
}

// TestCoordinatorOutage stops the broker under a running member: with no
// heartbeat answered for a whole session, the member must stop its work
// (it cannot know whether the group gave it away), then join again when
// the broker is back.
func TestCoordinatorOutage(t *testing.T) {
	b := testenv.StartBroker(t, map[string]string{"group.min.session.timeout.ms": "1000"})
	g := newGroup(t, b.Addr, ClusterConfig{Offset: 1, Tasks: connectors(2, 1)})
	w := g.start("w1", ModeSessioned)
	gen := g.waitSettled(0)

	// The last heartbeat answered was before the broker began stopping.
	start := time.Now()
	b.Stop(t)
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.lost > 0
	}, 3*testSession, 20*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(start), testSession-testHeartbeat, "work stops only once the session is over")
	assert.Empty(t, w.runs())

	b.Restart(t)
	g.waitSettled(gen)
}
