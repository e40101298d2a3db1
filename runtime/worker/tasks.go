package worker

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// taskRunner is one task instance on this worker.
type taskRunner struct {
	id        ConnectorTaskID
	config    map[string]string // raw task config
	connCfg   map[string]string // raw connector config at start
	state     *taskState
	cancel    context.CancelFunc
	done      chan struct{}
	err       error // set before done closes
	startedAt time.Time
	failures  int
	retryAt   time.Time
}

func (r *taskRunner) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// reconcileTasks starts, stops and restarts tasks to match the committed
// task configs.
func (a *connectorActor) reconcileTasks(ctx context.Context, connCfg map[string]string, desired []map[string]string, target TargetState, plan restartPlan) {
	for i, r := range a.tasks {
		stale := i >= len(desired) || !maps.Equal(r.config, desired[i]) || !maps.Equal(r.connCfg, connCfg) ||
			!a.h.own.ownsTask(r.id)
		if stale || plan.tasks[i] {
			a.stopTask(r, StateUnassigned)
			if stale {
				delete(a.tasks, i)
			} else {
				r.failures = 0 // an explicit restart starts afresh
				r.retryAt = time.Time{}
				r.done = nil
			}
		}
	}
	for i := range desired {
		if !a.h.own.ownsTask(ConnectorTaskID{Connector: a.name, Task: i}) {
			continue
		}
		r := a.tasks[i]
		switch {
		case r == nil:
			r = &taskRunner{id: ConnectorTaskID{Connector: a.name, Task: i}}
			a.tasks[i] = r
		case r.done == nil:
			// restarted above
		case !r.finished():
			r.state.setPaused(target == TargetPaused)
			continue
		case r.err == nil:
			// Stopped cleanly (e.g. the task returned): start it again.
		case !a.h.cfg.AutoRestart:
			continue // stays FAILED until restarted through the REST API
		case time.Now().Before(r.retryAt):
			a.schedule(r.retryAt)
			continue
		}
		a.startTask(ctx, r, desired[i], connCfg, target)
	}
}

// startTask starts one task instance in its own goroutine.
func (a *connectorActor) startTask(ctx context.Context, r *taskRunner, cfg, connCfg map[string]string, target TargetState) {
	r.config, r.connCfg = maps.Clone(cfg), maps.Clone(connCfg)
	r.err = nil
	r.done = make(chan struct{})
	r.startedAt = time.Now()
	id := r.id
	r.state = newTaskState(target == TargetPaused, func(st State, trace string) { a.h.putTaskStatus(id, st, trace) })
	tctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	logger := a.logger.With("task", id.Task)
	run, err := a.h.buildTask(tctx, id, r.config, r.connCfg, r.state, logger)
	if err != nil {
		cancel()
		a.taskFailed(r, err)
		close(r.done)
		return
	}
	go func() {
		err := run(tctx)
		if err != nil {
			a.taskFailed(r, err)
		} else if tctx.Err() == nil {
			logger.Info("task finished")
		}
		// done is closed before the actor is woken: an actor that ran
		// between the two would see a running task and never restart it.
		close(r.done)
		a.wake()
	}()
}

// taskFailed records a task failure and its automatic restart time.
func (a *connectorActor) taskFailed(r *taskRunner, err error) {
	r.err = err
	if time.Since(r.startedAt) > 2*a.h.cfg.AutoRestartMax {
		r.failures = 0 // it ran well for a while: start the backoff over
	}
	r.failures++
	r.retryAt = time.Now().Add(a.h.backoff(r.failures))
	if isFenced(err) {
		// A newer instance of this task runs elsewhere: restarting here
		// would fence it back.
		r.retryAt = time.Now().Add(24 * time.Hour)
	}
	attrs := []any{"task", r.id.Task, "error", err}
	if a.h.cfg.AutoRestart {
		attrs = append(attrs, "restart_in", time.Until(r.retryAt).Round(time.Millisecond))
	}
	a.logger.Error("task failed", attrs...)
	r.state.set(StateFailed, errorTrace(err))
}

// stopTask stops one task and waits for its final commit, up to
// task.shutdown.graceful.timeout.ms (then it is abandoned, as Kafka does).
func (a *connectorActor) stopTask(r *taskRunner, final State) {
	if r.done == nil || r.finished() {
		return
	}
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(a.h.cfg.ShutdownTimeout + a.h.cfg.OffsetFlushTimeout):
		a.logger.Error("task did not stop in time; abandoning it", "task", r.id.Task)
	}
	if r.err == nil {
		a.h.putTaskStatus(r.id, final, "")
	}
}

// stopAllTasks stops every task concurrently.
func (a *connectorActor) stopAllTasks(final State) {
	ids := slices.Collect(maps.Keys(a.tasks))
	done := make(chan struct{}, len(ids))
	for _, i := range ids {
		r := a.tasks[i]
		go func() {
			a.stopTask(r, final)
			done <- struct{}{}
		}()
	}
	for range ids {
		<-done
	}
	clear(a.tasks)
}

// taskRunFunc runs a built task until ctx ends or it fails.
type taskRunFunc func(ctx context.Context) error

// buildTask assembles a task: resolves config providers, instantiates the
// task, converters, transforms, error handling and Kafka clients.
func (h *Herder) buildTask(ctx context.Context, id ConnectorTaskID, rawTask, rawConn map[string]string, state *taskState, logger *slog.Logger) (taskRunFunc, error) {
	taskCfg, err := h.providers.resolve(rawTask)
	if err != nil {
		return nil, err
	}
	connCfg, err := h.providers.resolve(rawConn)
	if err != nil {
		return nil, err
	}
	plugin := h.plugins.Connector(connCfg[KeyConnectorClass])
	if plugin == nil {
		return nil, fmt.Errorf("%w: no connector plugin named %s", connect.ErrConfig, connCfg[KeyConnectorClass])
	}
	sink := plugin.Type() == connect.PluginSink
	def := sourceConfigDef
	if sink {
		def = sinkConfigDef
	}
	parsed, err := def.Parse(connCfg)
	if err != nil {
		return nil, err
	}
	settings := parseSettings(parsed, connCfg, sink)
	build := h.buildSourceTask
	if sink {
		build = h.buildSinkTask
	}
	run, err := build(ctx, id, plugin, taskCfg, connCfg, settings, state, logger)
	if err != nil {
		return nil, err
	}
	// The task's context carries the plugin's logger (connect.Logger).
	plog := h.pluginLogger(taskClass(plugin.Class), id.Connector).With("task", id.Task)
	return func(ctx context.Context) error { return run(connect.WithLogger(ctx, plog)) }, nil
}

// The worker's plugin handles.
var (
	_ connect.ConnectorContext  = (*connectorContext)(nil)
	_ connect.SourceTaskContext = (*sourceContext)(nil)
	_ connect.SinkTaskContext   = (*sinkTask)(nil)
)

// pluginLogger is the logger of a plugin class running for a connector:
// named by the class, as Kafka's class loggers, so /admin/loggers sets its
// level; every record names the connector.
func (h *Herder) pluginLogger(class, connector string) *slog.Logger {
	return h.base.With("logger", class, "connector", connector)
}
