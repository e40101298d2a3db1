package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// connectorActor owns one connector and its tasks on this worker. Only its
// own goroutine touches the fields below mu; others talk to it through
// wake and the restart plan.
type connectorActor struct {
	h      *Herder
	name   string
	logger *slog.Logger
	wakeCh chan struct{}
	// syncCh asks for a reconcile now and is answered when it is done.
	syncCh chan chan struct{}

	mu      sync.Mutex
	restart restartPlan

	plugin       *connect.ConnectorPlugin
	conn         connect.Connector
	config       map[string]string // raw config the connector runs with
	connFailed   bool
	connFailures int
	connRetryAt  time.Time
	needTasks    bool
	reconfigure  chan struct{}
	tasks        map[int]*taskRunner
	timer        *time.Timer
}

// restartPlan is a pending restart request (KIP-745).
type restartPlan struct {
	connector bool
	tasks     map[int]bool
}

func newConnectorActor(h *Herder, name string) *connectorActor {
	return &connectorActor{
		h: h, name: name,
		logger:      h.logger.With("connector", name),
		wakeCh:      make(chan struct{}, 1),
		syncCh:      make(chan chan struct{}),
		reconfigure: make(chan struct{}, 1),
		tasks:       map[int]*taskRunner{},
	}
}

// wake asks the actor to reconcile; wakes coalesce.
func (a *connectorActor) wake() {
	select {
	case a.wakeCh <- struct{}{}:
	default:
	}
}

// requestRestart queues a restart and wakes the actor.
func (a *connectorActor) requestRestart(connector bool, tasks []int) {
	a.mu.Lock()
	a.restart.connector = a.restart.connector || connector
	if len(tasks) > 0 && a.restart.tasks == nil {
		a.restart.tasks = map[int]bool{}
	}
	for _, t := range tasks {
		a.restart.tasks[t] = true
	}
	a.mu.Unlock()
	a.wake()
}

func (a *connectorActor) takeRestart() restartPlan {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.restart
	a.restart = restartPlan{}
	return p
}

func (a *connectorActor) run(ctx context.Context) {
	for {
		var timerC <-chan time.Time
		if a.timer != nil {
			timerC = a.timer.C
		}
		var reply chan struct{}
		select {
		case <-ctx.Done():
			a.shutdown(false)
			return
		case reply = <-a.syncCh:
		case <-a.wakeCh:
		case <-a.reconfigure:
			a.needTasks = true
		case <-timerC:
			a.timer = nil
		}
		gone := a.reconcile(ctx)
		if reply != nil {
			close(reply)
		}
		if gone && a.h.retire(a.name, a) {
			return
		}
	}
}

// schedule wakes the actor at t (the earliest of all requests).
func (a *connectorActor) schedule(at time.Time) {
	d := max(time.Until(at), time.Millisecond)
	if a.timer != nil {
		if !a.timer.Stop() {
			// Fired but not received: keep the earlier wake-up.
			return
		}
	}
	a.timer = time.NewTimer(d)
}

// reconcile brings the connector and its tasks in line with the config
// store; it returns true when the connector no longer exists.
func (a *connectorActor) reconcile(ctx context.Context) bool {
	snap := a.h.configs.Snapshot()
	cfg, exists := snap.Connectors[a.name]
	if !exists {
		a.shutdown(true)
		return true
	}
	target := snap.Target(a.name)
	plan := a.takeRestart()
	owned := a.h.own.ownsConnector(a.name)
	configChanged := a.config != nil && !maps.Equal(a.config, cfg)
	if configChanged || plan.connector || !owned {
		a.stopConnector()
		a.connFailed, a.connFailures = false, 0
	}
	if target == TargetStopped {
		a.stopAllTasks(StateUnassigned)
		a.stopConnector()
		a.connFailed = false
		if owned {
			if len(snap.Tasks[a.name]) > 0 {
				if err := a.h.submitTaskConfigs(ctx, a.name, nil); err != nil && ctx.Err() == nil {
					if !errors.Is(err, errNoLeaderNow) {
						a.logger.Error("clear task configs of stopped connector", "error", err)
					}
					a.schedule(time.Now().Add(200 * time.Millisecond))
				}
			}
			a.h.putStatus(a.name, StateStopped, "")
		}
		return false
	}
	if owned {
		if a.conn == nil {
			a.startConnector(ctx, cfg, target)
		} else {
			a.h.putStatus(a.name, connectorState(target), "")
		}
		if a.conn != nil && a.needTasks {
			if !a.generateTaskConfigs(ctx, cfg, snap.Tasks[a.name]) {
				return false
			}
			snap = a.h.configs.Snapshot()
		}
	}
	a.reconcileTasks(ctx, cfg, snap.Tasks[a.name], target, plan)
	return false
}

func connectorState(t TargetState) State {
	if t == TargetPaused {
		return StatePaused
	}
	return StateRunning
}

// startConnector instantiates and starts the Connector; a failure marks it
// FAILED and schedules an automatic restart.
func (a *connectorActor) startConnector(ctx context.Context, cfg map[string]string, target TargetState) {
	if a.connFailed && time.Now().Before(a.connRetryAt) {
		a.schedule(a.connRetryAt)
		return
	}
	if a.connFailed && !a.h.cfg.AutoRestart && a.config != nil && maps.Equal(a.config, cfg) {
		return
	}
	a.config = maps.Clone(cfg)
	err := a.tryStartConnector(ctx, cfg)
	if err != nil {
		a.connFailed = true
		a.connFailures++
		a.logger.Error("connector failed", "error", err)
		a.h.putStatus(a.name, StateFailed, errorTrace(err))
		if a.h.cfg.AutoRestart {
			a.connRetryAt = time.Now().Add(a.h.backoff(a.connFailures))
			a.schedule(a.connRetryAt)
		}
		return
	}
	a.connFailed = false
	a.needTasks = true
	a.h.putStatus(a.name, connectorState(target), "")
	a.logger.Info("connector started", "class", a.plugin.Class)
}

func (a *connectorActor) tryStartConnector(ctx context.Context, cfg map[string]string) error {
	p := a.h.plugins.Connector(cfg[KeyConnectorClass])
	if p == nil {
		return fmt.Errorf("%w: Failed to find any class that implements Connector and which name matches %s, available connectors are: %s",
			connect.ErrConfig, cfg[KeyConnectorClass], a.h.plugins.availableConnectors())
	}
	resolved, err := a.h.providers.resolve(cfg)
	if err != nil {
		return err
	}
	conn := p.NewConnector()
	cc := &connectorContext{a: a, logger: a.h.pluginLogger(p.Class, a.name)}
	if err := conn.Start(cc, resolved); err != nil {
		return fmt.Errorf("start connector %s (%s): %w", a.name, p.Class, err)
	}
	a.plugin, a.conn = p, conn
	return nil
}

// stopConnector stops the Connector object (not its tasks).
func (a *connectorActor) stopConnector() {
	if a.conn == nil {
		return
	}
	if err := a.conn.Stop(); err != nil {
		a.logger.Warn("stop connector", "error", err)
	}
	a.conn = nil
	a.logger.Info("connector stopped")
}

// generateTaskConfigs asks the connector for task configs and writes them
// when they changed; false means the connector failed.
func (a *connectorActor) generateTaskConfigs(ctx context.Context, cfg map[string]string, current []map[string]string) bool {
	settings, err := commonConfigDef.Parse(cfg)
	if err != nil {
		a.failConnector(err)
		return false
	}
	max := int(settings.Int(KeyTasksMax))
	configs, err := a.conn.TaskConfigs(max)
	if err != nil {
		a.failConnector(fmt.Errorf("generate task configs of %s: %w", a.name, err))
		return false
	}
	if len(configs) > max && settings.Bool(KeyTasksMaxEnforce) {
		a.failConnector(fmt.Errorf("The connector %s has generated %d tasks, which is greater than %d, the maximum number of tasks it is configured to create. "+
			"This behaviour should be considered a bug and is disallowed. If necessary, it can be permitted by reconfiguring the connector with 'tasks.max.enforce' set to false",
			a.name, len(configs), max))
		return false
	}
	resolved, _ := a.h.providers.resolve(cfg)
	for i := range configs {
		// The connector may hand out its own config map, the same one for
		// every task: the stored task configs are copies.
		configs[i] = reverseResolve(maps.Clone(configs[i]), cfg, resolved)
		configs[i][keyTaskClass] = taskClass(a.plugin.Class)
	}
	a.needTasks = false
	if equalTaskConfigs(configs, current) {
		return true
	}
	if err := a.h.submitTaskConfigs(ctx, a.name, configs); err != nil {
		if errors.Is(err, errNoLeaderNow) {
			a.needTasks = true
			a.schedule(time.Now().Add(200 * time.Millisecond))
			return false
		}
		if ctx.Err() == nil {
			a.logger.Error("write task configs", "error", err)
			a.needTasks = true
			a.schedule(time.Now().Add(time.Second))
		}
		return false
	}
	a.logger.Info("task configs written", "tasks", len(configs))
	return true
}

func (a *connectorActor) failConnector(err error) {
	a.logger.Error("connector failed", "error", err)
	a.stopConnector()
	a.connFailed = true
	a.connFailures++
	a.h.putStatus(a.name, StateFailed, errorTrace(err))
	if a.h.cfg.AutoRestart {
		a.connRetryAt = time.Now().Add(a.h.backoff(a.connFailures))
		a.schedule(a.connRetryAt)
	}
}

// reverseResolve puts ${provider:...} references back into task configs
// wherever the connector copied a resolved secret, so the config topic
// never holds resolved values (Kafka's reverse transform).
func reverseResolve(task, raw, resolved map[string]string) map[string]string {
	for k, v := range task {
		if rv, ok := resolved[k]; ok && rv == v && raw[k] != v {
			task[k] = raw[k]
		}
	}
	return task
}

func equalTaskConfigs(a, b []map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !maps.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// keyTaskClass is the task config key Kafka's worker adds to every task
// config.
const keyTaskClass = "task.class"

// taskClass names a connector's task class as Kafka's connectors do
// (FileStreamSinkConnector → FileStreamSinkTask).
func taskClass(connectorClass string) string {
	return strings.TrimSuffix(connectorClass, "Connector") + "Task"
}

// connectorContext is the Connector's handle on its actor.
type connectorContext struct {
	a      *connectorActor
	logger *slog.Logger
}

// Logger implements connect.ConnectorContext.
func (c *connectorContext) Logger() *slog.Logger { return c.logger }

func (c *connectorContext) RequestTaskReconfiguration() {
	select {
	case c.a.reconfigure <- struct{}{}:
	default:
	}
}

func (c *connectorContext) RaiseError(err error) {
	c.a.h.putStatus(c.a.name, StateFailed, errorTrace(err))
	c.a.logger.Error("connector raised an error", "error", err)
}

// shutdown stops everything; deleted removes the statuses too.
func (a *connectorActor) shutdown(deleted bool) {
	ranConnector := a.conn != nil || a.connFailed
	a.stopAllTasks(StateUnassigned)
	a.stopConnector()
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	// Only the worker that ran the Connector object speaks for its status:
	// another worker's write would overwrite the owner's.
	if deleted {
		if ranConnector || a.h.own.ownsConnector(a.name) {
			a.h.status.DeleteConnector(a.name)
		}
		a.logger.Info("connector deleted")
		return
	}
	if ranConnector {
		a.h.putStatus(a.name, StateUnassigned, "")
	}
}
