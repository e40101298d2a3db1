package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
	"github.com/sluicehq/sluice/internal/testenv"
)

// Group timings for tests: short, but with the heartbeat well inside the
// session so a loaded machine does not lose members.
const (
	testSession   = 2 * time.Second
	testHeartbeat = 200 * time.Millisecond
	testRebalance = 5 * time.Second
	testMaxDelay  = 1500 * time.Millisecond
)

// coordinators are the brokers every membership test runs against.
var coordinators = []struct {
	name  string
	start func(t *testing.T) string
}{
	{"sluice", func(t *testing.T) string {
		return testenv.StartBroker(t, map[string]string{"group.min.session.timeout.ms": "1000"}).Addr
	}},
	{"kfake", func(t *testing.T) string {
		addr, stop, err := kfakeserver.StartKfake(1, kfake.GroupMinSessionTimeout(time.Second))
		require.NoError(t, err)
		t.Cleanup(stop)
		return addr
	}},
}

// testWorker is a Handler that runs nothing but records what it was told,
// noting any instruction that would start work twice or stop work it does
// not run.
type testWorker struct {
	name     string
	cfg      *atomic.Pointer[ClusterConfig]
	assignor *Assignor
	member   *Member
	client   *kgo.Client
	cancel   context.CancelFunc
	done     chan error

	mu        sync.Mutex
	run       map[TaskID]bool
	revoked   map[TaskID]bool // everything ever revoked from this worker
	problems  []string
	lost      int
	delivered int                       // assignments delivered
	members   map[string]MemberMetadata // what the last Assign was given
}

func (w *testWorker) url() string { return "http://" + w.name + ":8083" }

func (w *testWorker) Metadata() MemberMetadata {
	w.mu.Lock()
	defer w.mu.Unlock()
	md := MemberMetadata{URL: w.url(), ConfigOffset: w.cfg.Load().Offset}
	for _, item := range slices.SortedFunc(maps.Keys(w.run), compareTaskIDs) {
		if item.Task == ConnectorTask {
			md.Allocation.Connectors = append(md.Allocation.Connectors, item.Connector)
		} else {
			md.Allocation.Tasks = append(md.Allocation.Tasks, item)
		}
	}
	return md
}

func (w *testWorker) Assign(_ context.Context, _ int32, members map[string]MemberMetadata) (map[string]Assignment, error) {
	w.mu.Lock()
	w.members = members
	w.mu.Unlock()
	var leader string
	version := VersionSessioned
	for id, md := range members {
		if md.URL == w.url() {
			leader = id
		}
		version = min(version, md.Version)
	}
	return w.assignor.Assign(leader, w.url(), members, *w.cfg.Load(), version), nil
}

func (w *testWorker) Assigned(_ context.Context, generation int32, memberID string, a Assignment) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.delivered++
	if a.Error != NoError {
		w.problems = append(w.problems, fmt.Sprintf("generation %d: assignment error %d", generation, a.Error))
	}
	for _, item := range revokedItems(a) {
		if !w.run[item] {
			w.problems = append(w.problems, fmt.Sprintf("generation %d: %s revoked but not running", generation, item))
		}
		delete(w.run, item)
		w.revoked[item] = true
	}
	for _, item := range assignedItems(a) {
		if w.run[item] {
			w.problems = append(w.problems, fmt.Sprintf("generation %d: %s assigned but already running", generation, item))
		}
		w.run[item] = true
	}
}

func (w *testWorker) Lost(context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lost++
	clear(w.run)
}

func (w *testWorker) lastMembers() map[string]MemberMetadata {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.members
}

func (w *testWorker) runs() map[TaskID]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.run)
}

// workerGroup is a set of test workers in one Connect group.
type workerGroup struct {
	t       *testing.T
	addr    string
	id      string
	cfg     *atomic.Pointer[ClusterConfig]
	workers map[string]*testWorker
	order   []string
}

func newGroup(t *testing.T, addr string, cfg ClusterConfig) *workerGroup {
	g := &workerGroup{t: t, addr: addr, id: "connect-" + t.Name(), cfg: &atomic.Pointer[ClusterConfig]{},
		workers: map[string]*testWorker{}}
	g.cfg.Store(&cfg)
	return g
}

// start runs a worker's membership until the test ends or it is stopped.
func (g *workerGroup) start(name, protocol string) *testWorker {
	t := g.t
	client, err := kgo.NewClient(kgo.SeedBrokers(g.addr))
	require.NoError(t, err)
	w := &testWorker{name: name, cfg: g.cfg, client: client, done: make(chan error, 1),
		assignor: &Assignor{MaxDelay: testMaxDelay}, run: map[TaskID]bool{}, revoked: map[TaskID]bool{}}
	w.member, err = NewMember(Options{Client: client, GroupID: g.id, Protocol: protocol,
		SessionTimeout: testSession, RebalanceTimeout: testRebalance, HeartbeatInterval: testHeartbeat,
		Logger: testenv.Logger(t).With("worker", name), Handler: w})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { w.done <- w.member.Run(ctx) }()
	g.workers[name] = w
	g.order = append(g.order, name)
	t.Cleanup(func() { g.stop(name, true) })
	return w
}

// stop ends a worker: cleanly (LeaveGroup), or as a crash would.
func (g *workerGroup) stop(name string, clean bool) {
	w, ok := g.workers[name]
	if !ok {
		return
	}
	delete(g.workers, name)
	w.member.skipLeave.Store(!clean)
	w.cancel()
	require.NoError(g.t, <-w.done)
	w.client.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	require.Empty(g.t, w.problems, "worker %s", name)
}

// settled reports whether every worker is stable in one generation and
// everything configured runs exactly once; it returns that generation.
func (g *workerGroup) settled() (int32, bool) {
	gen := int32(-1)
	seen := map[TaskID]bool{}
	for _, w := range g.workers {
		wgen, _, _, ok := w.member.State()
		if !ok || (gen >= 0 && wgen != gen) {
			return 0, false
		}
		gen = wgen
		for item := range w.runs() {
			if seen[item] {
				return 0, false
			}
			seen[item] = true
		}
	}
	want := configuredItems(*g.cfg.Load())
	return gen, maps.Equal(seen, want)
}

// waitSettled waits until the group settles after generation after.
func (g *workerGroup) waitSettled(after int32) int32 {
	g.t.Helper()
	var gen int32
	require.Eventually(g.t, func() bool {
		var ok bool
		gen, ok = g.settled()
		return ok && gen > after
	}, 30*time.Second, 20*time.Millisecond, "group did not settle")
	return gen
}

// waitGeneration waits until every worker is stable in a generation after
// after.
func (g *workerGroup) waitGeneration(after int32) int32 {
	g.t.Helper()
	var gen int32
	require.Eventually(g.t, func() bool {
		gen = -1
		for _, w := range g.workers {
			wgen, _, _, ok := w.member.State()
			if !ok || wgen <= after || (gen >= 0 && wgen != gen) {
				return false
			}
			gen = wgen
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "no new generation")
	return gen
}

// leader returns the name of the worker that leads, checking that every
// worker agrees on it.
func (g *workerGroup) leader() string {
	g.t.Helper()
	var leaderID, leader string
	for name, w := range g.workers {
		_, memberID, lid, ok := w.member.State()
		require.True(g.t, ok)
		if leaderID == "" {
			leaderID = lid
		}
		require.Equal(g.t, leaderID, lid, "workers disagree on the leader")
		if memberID == lid {
			require.Empty(g.t, leader, "two leaders")
			leader = name
		}
	}
	require.NotEmpty(g.t, leader, "no worker is the leader")
	return leader
}

// follower returns some worker that does not lead.
func (g *workerGroup) follower() string {
	leader := g.leader()
	for _, name := range g.order {
		if _, ok := g.workers[name]; ok && name != leader {
			return name
		}
	}
	g.t.Fatal("no follower")
	return ""
}
