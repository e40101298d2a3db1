// Package worker is the Connect worker: the herder that owns connectors
// and tasks, the source and sink task loops, converters and transforms on
// the record path, error tolerance and the dead letter queue.
//
// Every connector has its own goroutine (an actor) that starts, stops and
// reconfigures it and its tasks, so a connector stuck in Start or Put
// blocks nobody else, and the REST API answers from the stores without
// waiting on connectors.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/storage"
)

// Options configure a Herder.
type Options struct {
	Config  Config
	Plugins Plugins
	// Configs, Offsets and Status are the stores; nil Configs and Status
	// mean in-memory (standalone mode).
	Configs ConfigStore
	Offsets OffsetStore
	Status  StatusStore
	// ClientOpts reach the Kafka cluster (seed brokers, TLS, SASL); the
	// herder adds the rest per client.
	ClientOpts []kgo.Opt
	Logger     *slog.Logger
	// Standalone marks connect-standalone mode (for GET / and messages).
	Standalone bool
	// Distributed joins the worker group group.id: the group's leader
	// assigns connectors and tasks among its workers. Otherwise this
	// worker runs everything.
	Distributed bool
}

// Herder owns the connectors and tasks of one worker and serves the REST
// API's requests (rest.Herder).
type Herder struct {
	cfg        Config
	plugins    Plugins
	configs    ConfigStore
	offsets    OffsetStore
	status     StatusStore
	clientOpts []kgo.Opt
	logger     *slog.Logger
	// base is the logger the worker was given, for loggers with a name
	// of their own (the group's, the plugins').
	base      *slog.Logger
	providers providers

	admin *kgo.Client
	kadm  *kadm.Client
	reach *clusterReach
	ready atomic.Bool

	metrics metricsRegistry
	own     *ownership
	group   *groupHandler // nil unless distributed
	// onConfigChange, when set (in a group), hears every config update,
	// to trigger rebalances.
	onConfigChange func(storage.ConfigUpdate)

	mu           sync.Mutex
	actors       map[string]*connectorActor
	runCtx       context.Context
	cancelActors context.CancelFunc
	wg           sync.WaitGroup
	// tick is answered by Run's loop, for the health check.
	tick chan chan struct{}
}

// New returns a herder; it starts nothing until Run.
func New(opts Options) (*Herder, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Offsets == nil {
		return nil, fmt.Errorf("worker: an offset store is required")
	}
	for i := range opts.Plugins.Others {
		if err := opts.Plugins.Others[i].Check(); err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
	}
	h := &Herder{
		cfg:        opts.Config,
		plugins:    opts.Plugins,
		configs:    opts.Configs,
		offsets:    opts.Offsets,
		status:     opts.Status,
		clientOpts: opts.ClientOpts,
		logger:     logger.With("logger", "sluice.worker"),
		base:       logger,
		providers:  providers{kinds: opts.Config.ConfigProviders},
		actors:     map[string]*connectorActor{},
		own:        newOwnership(true),
		tick:       make(chan chan struct{}),
	}
	if h.configs == nil {
		mem := newMemConfigStore()
		mem.restart = h.restartLocal
		h.configs = mem
	}
	if h.status == nil {
		h.status = newMemStatusStore()
	}
	// Every client the herder builds tells reach how its connections go.
	h.reach = newClusterReach(opts.Config.BootstrapServers, h.logger, func(ctx context.Context) (string, error) {
		meta, err := h.kadm.BrokerMetadata(ctx)
		return meta.Cluster, err
	})
	h.clientOpts = append(slices.Clip(opts.ClientOpts), kgo.WithHooks(h.reach))
	admin, err := kgo.NewClient(append(slices.Clip(h.clientOpts), kgo.ClientID(h.clientID("admin")))...)
	if err != nil {
		return nil, fmt.Errorf("worker: admin client: %w", err)
	}
	h.admin, h.kadm = admin, kadm.NewClient(admin)
	if opts.Distributed {
		if h.group, err = h.newGroup(); err != nil {
			admin.Close()
			return nil, err
		}
	}
	return h, nil
}

func (h *Herder) clientID(role string) string {
	prefix := h.cfg.ClientID
	if prefix == "" {
		prefix = h.cfg.GroupID
	}
	return prefix + "-" + role
}

// Run starts every configured connector and runs until ctx is cancelled,
// then stops them all (each task ends with a final offset commit) and
// returns once every goroutine exited.
func (h *Herder) Run(ctx context.Context) error {
	defer h.admin.Close()
	// The first probe reads the cluster id for GET / (or says the cluster
	// is out of reach) before the worker reports ready.
	h.reach.check(ctx)
	reachCtx, stopReach := context.WithCancel(ctx)
	reachDone := make(chan struct{})
	go func() {
		defer close(reachDone)
		h.reach.run(reachCtx)
	}()
	defer func() { stopReach(); <-reachDone }()
	actorCtx, cancelActors := context.WithCancel(ctx)
	defer cancelActors()
	h.mu.Lock()
	h.runCtx, h.cancelActors = actorCtx, cancelActors
	h.mu.Unlock()
	for name := range h.configs.Snapshot().Connectors {
		h.reconcile(name)
	}
	// The membership outlives the connectors: on shutdown every task stops
	// (and commits) before the worker leaves the group, so no other worker
	// starts a task this one still runs.
	memberCtx, leaveGroup := context.WithCancel(context.WithoutCancel(ctx))
	defer leaveGroup()
	memberDone := make(chan struct{})
	var memberErr error
	if h.group != nil {
		go func() {
			defer close(memberDone)
			if err := h.group.member.Run(memberCtx); err != nil && memberCtx.Err() == nil {
				memberErr = fmt.Errorf("worker group %s: %w", h.cfg.GroupID, err)
			}
		}()
	} else {
		memberDone = nil // never closes: no group
	}
	h.ready.Store(true)
	h.logger.Info("worker started", "worker_id", h.cfg.WorkerID)
	for {
		select {
		case <-ctx.Done():
			h.stopActors()
			leaveGroup()
			if memberDone != nil {
				<-memberDone
			}
			h.logger.Info("worker stopped")
			return nil
		case <-memberDone:
			// Membership failed for good (e.g. the broker refused the
			// session timeout): a worker outside its group must not run.
			h.logger.Error("left the worker group; stopping", "error", memberErr)
			h.stopActors()
			return memberErr
		case reply := <-h.tick:
			close(reply)
		}
	}
}

// stopActors stops every connector actor and waits for them.
func (h *Herder) stopActors() {
	h.ready.Store(false)
	h.mu.Lock()
	h.runCtx = nil
	cancel := h.cancelActors
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	h.wg.Wait()
}

// reconcile wakes the connector's actor (starting one if needed) to bring
// it in line with the config store.
func (h *Herder) reconcile(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.runCtx == nil {
		return
	}
	a := h.actors[name]
	if a == nil {
		a = newConnectorActor(h, name)
		h.actors[name] = a
		h.wg.Add(1)
		// The context is read under the lock: stopActors clears runCtx,
		// possibly before this goroutine is scheduled.
		ctx := h.runCtx
		go func() {
			defer h.wg.Done()
			a.run(ctx)
		}()
	}
	a.wake()
}

func (h *Herder) actor(name string) *connectorActor {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.actors[name]
}

// Ready reports whether startup completed.
func (h *Herder) Ready() bool { return h.ready.Load() }

// Healthy checks that the herder's loop answers.
func (h *Herder) Healthy(ctx context.Context) error {
	reply := make(chan struct{})
	select {
	case h.tick <- reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ClusterHealth is a health check for GET /health: nil while the worker
// reaches its Kafka cluster, else since when it has not and why ("cannot
// reach the Kafka cluster at 127.0.0.1:9092 since 2026-01-02T15:04:05Z:
// unable to dial 127.0.0.1:9092: connect: connection refused"). It reads
// what the worker's probes found, so it answers at once.
func (h *Herder) ClusterHealth(context.Context) error { return h.reach.health() }

// ServerInfo answers GET /.
func (h *Herder) ServerInfo(context.Context) (ServerInfo, error) {
	return ServerInfo{Version: Version, Commit: Commit, KafkaClusterID: h.reach.id()}, nil
}

// Version and Commit are reported by GET /; set at build time.
var (
	Version = "0.4.0"
	Commit  = "unknown"
)

// putStatus records a connector's status, stamped with this worker and
// its group generation (a stale worker's write loses to a newer one).
func (h *Herder) putStatus(name string, st State, trace string) {
	h.status.PutConnector(name, Status{State: st, Trace: trace, WorkerID: h.cfg.WorkerID, Generation: int(h.own.gen())})
}

// putTaskStatus records a task's status.
func (h *Herder) putTaskStatus(id ConnectorTaskID, st State, trace string) {
	h.status.PutTask(id, Status{State: st, Trace: trace, WorkerID: h.cfg.WorkerID, Generation: int(h.own.gen())})
}

// backoff returns the automatic restart delay after n consecutive
// failures.
func (h *Herder) backoff(n int) time.Duration {
	d := h.cfg.AutoRestartInitial
	for i := 1; i < n && d < h.cfg.AutoRestartMax; i++ {
		d *= 2
	}
	return min(d, h.cfg.AutoRestartMax)
}

// SetWorkerID sets the id the worker reports in statuses (its advertised
// REST host:port); call it before Run, once the REST listener is bound.
func (h *Herder) SetWorkerID(id string) { h.cfg.WorkerID = id }

// submitTaskConfigs writes a connector's task configs: directly on the
// leader, through the leader's internal REST endpoint elsewhere (Kafka's
// POST /connectors/{name}/tasks).
func (h *Herder) submitTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	err := h.leaderNow()
	var redirect *RedirectError
	switch {
	case err == nil:
		return h.writeTaskConfigs(ctx, name, configs)
	case errors.As(err, &redirect):
		return h.forwardTaskConfigs(ctx, redirect.URL, name, configs)
	}
	return err
}

// PutTaskConfigs answers the internal POST /connectors/{name}/tasks: the
// worker running a connector hands its task configs to the leader.
func (h *Herder) PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	if err := h.requireLeader(ctx); err != nil {
		return err
	}
	if _, _, err := h.connectorConfig(name); err != nil {
		return err
	}
	return h.writeTaskConfigs(ctx, name, configs)
}

// writeTaskConfigs writes task configs on the leader; for exactly-once
// source connectors it first fences every producer of the previous task
// generation.
func (h *Herder) writeTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	snap := h.configs.Snapshot()
	if h.exactlyOnce() && h.connectorType(snap.Connectors[name]) == "source" {
		if err := h.fenceTasks(ctx, name, max(len(snap.Tasks[name]), len(configs))); err != nil {
			return fmt.Errorf("fence zombie tasks of %s: %w", name, err)
		}
	}
	return h.configs.PutTaskConfigs(ctx, name, configs)
}

// configUpdated reacts to a config change read from the config topic,
// whoever wrote it.
func (h *Herder) configUpdated(u storage.ConfigUpdate) {
	switch u.Kind {
	case storage.RestartRequested:
		h.restartLocal(u.Connector, u.IncludeTasks, u.OnlyFailed)
	default:
		h.reconcile(u.Connector)
	}
	if h.onConfigChange != nil {
		h.onConfigChange(u)
	}
}
