package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/sluicehq/sluice/runtime/cluster"
	"github.com/sluicehq/sluice/runtime/storage"
)

// groupHandler makes the herder a member of a Connect worker group: the
// leader assigns connectors and tasks with the incremental cooperative
// protocol, every member runs what it is assigned (cluster.Handler).
type groupHandler struct {
	h        *Herder
	member   *cluster.Member
	assignor *cluster.Assignor
}

// refresher is a config store that can read its topic to the end.
type refresher interface {
	Refresh(ctx context.Context) error
}

func (h *Herder) url() string { return "http://" + h.cfg.WorkerID }

// Metadata implements cluster.Handler: this worker's URL, how far it read
// the config topic, and what it runs.
func (g *groupHandler) Metadata() cluster.MemberMetadata {
	o := g.h.own
	o.mu.RLock()
	var alloc cluster.Allocation
	for c := range o.connectors {
		alloc.Connectors = append(alloc.Connectors, c)
	}
	for t := range o.tasks {
		alloc.Tasks = append(alloc.Tasks, cluster.TaskID{Connector: t.Connector, Task: int32(t.Task)})
	}
	o.mu.RUnlock()
	slices.Sort(alloc.Connectors)
	slices.SortFunc(alloc.Tasks, compareTaskID)
	g.h.own.startRebalance()
	return cluster.MemberMetadata{URL: g.h.url(), ConfigOffset: g.h.configs.Snapshot().Offset, Allocation: alloc}
}

func compareTaskID(a, b cluster.TaskID) int {
	if a.Connector != b.Connector {
		if a.Connector < b.Connector {
			return -1
		}
		return 1
	}
	return int(a.Task - b.Task)
}

// readConfigTo reads the config topic until it reached offset.
func (g *groupHandler) readConfigTo(ctx context.Context, offset int64) bool {
	if g.h.configs.Snapshot().Offset >= offset {
		return true
	}
	r, ok := g.h.configs.(refresher)
	if !ok {
		return false
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for rctx.Err() == nil {
		if err := r.Refresh(rctx); err == nil && g.h.configs.Snapshot().Offset >= offset {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Assign implements cluster.Handler on the leader: it reads the config
// topic as far as any member did, then assigns.
func (g *groupHandler) Assign(ctx context.Context, generation int32, members map[string]cluster.MemberMetadata) (map[string]cluster.Assignment, error) {
	var maxOffset int64 = -1
	version := int16(-1)
	leaderID := ""
	for id, m := range members {
		maxOffset = max(maxOffset, m.ConfigOffset)
		if version < 0 || m.Version < version {
			version = m.Version
		}
		if m.URL == g.h.url() {
			leaderID = id
		}
	}
	if !g.readConfigTo(ctx, maxOffset) {
		out := map[string]cluster.Assignment{}
		for id := range members {
			out[id] = cluster.Assignment{Version: version, Error: cluster.ConfigMismatch, Leader: leaderID, LeaderURL: g.h.url(), ConfigOffset: g.h.configs.Snapshot().Offset}
		}
		g.h.logger.Warn("cannot read the config topic as far as other workers did; asking the group to rejoin", "want_offset", maxOffset)
		return out, nil
	}
	snap := g.h.configs.Snapshot()
	cfg := cluster.ClusterConfig{Offset: snap.Offset, Tasks: map[string]int{}}
	for name := range snap.Connectors {
		cfg.Tasks[name] = len(snap.Tasks[name])
	}
	return g.assignor.Assign(leaderID, g.h.url(), members, cfg, version), nil
}

// Assigned implements cluster.Handler: revoked work stops before this
// returns (no zombies), then the new assignment starts.
func (g *groupHandler) Assigned(ctx context.Context, generation int32, memberID string, a cluster.Assignment) {
	h := g.h
	if a.Error == cluster.ConfigMismatch {
		g.readConfigTo(ctx, a.ConfigOffset)
		g.member.Rejoin()
		return
	}
	if !g.readConfigTo(ctx, a.ConfigOffset) {
		h.logger.Warn("config topic behind the assignment; rejoining", "want_offset", a.ConfigOffset)
		g.member.Rejoin()
		return
	}
	o := h.own
	o.mu.RLock()
	conns, tasks := maps.Clone(o.connectors), maps.Clone(o.tasks)
	o.mu.RUnlock()
	if a.Version == 0 {
		conns, tasks = map[string]bool{}, map[ConnectorTaskID]bool{}
	}
	// revoked must stop before this returns; added only needs a wake-up.
	revoked, added := map[string]bool{}, map[string]bool{}
	for _, c := range a.RevokedConnectors {
		delete(conns, c)
		revoked[c] = true
	}
	for _, t := range a.RevokedTasks {
		delete(tasks, ConnectorTaskID{Connector: t.Connector, Task: int(t.Task)})
		revoked[t.Connector] = true
	}
	for _, c := range a.Connectors {
		conns[c] = true
		added[c] = true
	}
	for _, t := range a.Tasks {
		tasks[ConnectorTaskID{Connector: t.Connector, Task: int(t.Task)}] = true
		added[t.Connector] = true
	}
	if a.Version == 0 {
		for name := range h.own.connectorNames() {
			revoked[name] = true
		}
	}
	leader := a.Leader == memberID
	o.set(generation, leader, a.LeaderURL, conns, tasks)
	h.logger.Info("joined worker group", "generation", generation, "leader", leader, "leader_url", a.LeaderURL,
		"connectors", len(conns), "tasks", len(tasks), "revoked", len(a.RevokedConnectors)+len(a.RevokedTasks), "delay_ms", a.Delay)
	h.syncActors(ctx, revoked)
	for name := range added {
		h.reconcile(name)
	}
}

// Lost implements cluster.Handler: the worker dropped out of the group,
// so it stops everything at once.
func (g *groupHandler) Lost(ctx context.Context) {
	h := g.h
	affected := h.own.connectorNames()
	h.own.startRebalance()
	h.own.mu.Lock()
	h.own.connectors, h.own.tasks = map[string]bool{}, map[ConnectorTaskID]bool{}
	h.own.mu.Unlock()
	h.logger.Warn("lost the worker group membership; stopping all connectors and tasks")
	h.syncActors(ctx, affected)
}

// configChanged triggers a rebalance when the set of connectors or their
// task counts changed.
func (g *groupHandler) configChanged(u storage.ConfigUpdate) {
	switch u.Kind {
	case storage.ConnectorConfigUpdated, storage.ConnectorConfigRemoved, storage.TaskConfigsCommitted:
		g.member.Rejoin()
	}
}

// newGroup joins the herder to its worker group.
func (h *Herder) newGroup() (*groupHandler, error) {
	g := &groupHandler{h: h, assignor: &cluster.Assignor{MaxDelay: h.cfg.ScheduledRebalanceDelay}}
	m, err := cluster.NewMember(cluster.Options{
		Client:            h.admin,
		GroupID:           h.cfg.GroupID,
		Protocol:          h.cfg.ConnectProtocol,
		SessionTimeout:    h.cfg.SessionTimeout,
		RebalanceTimeout:  h.cfg.RebalanceTimeout,
		HeartbeatInterval: h.cfg.HeartbeatInterval,
		Logger:            h.base.With("logger", "sluice.worker.group"),
		Handler:           g,
	})
	if err != nil {
		return nil, fmt.Errorf("worker group %s: %w", h.cfg.GroupID, err)
	}
	g.member = m
	h.onConfigChange = g.configChanged
	h.own = newOwnership(false)
	h.own.probe = func() bool {
		_, _, _, ok := m.State()
		return ok
	}
	return g, nil
}

// syncActors makes the actors of the named connectors reconcile now and
// waits (bounded) until they did, so revoked work has stopped.
func (h *Herder) syncActors(ctx context.Context, names map[string]bool) {
	deadline := time.After(h.cfg.ShutdownTimeout + h.cfg.OffsetFlushTimeout)
	var waits []chan struct{}
	for name := range names {
		h.reconcile(name)
		if a := h.actor(name); a != nil {
			reply := make(chan struct{})
			select {
			case a.syncCh <- reply:
				waits = append(waits, reply)
			case <-deadline:
				h.logger.Error("a connector is busy and did not reconcile in time after a rebalance", "connector", name)
				return
			case <-ctx.Done():
				return
			}
		}
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-deadline:
			h.logger.Error("connectors did not finish reconciling in time after a rebalance")
			return
		case <-ctx.Done():
			return
		}
	}
}
