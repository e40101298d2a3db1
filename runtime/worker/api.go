package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/transform"
)

// The REST API's view of the herder (rest.Herder). Reads come from the
// stores; writes go to the config store and wake the connector's actor, so
// no request waits on a connector.

func notFound(name string) error { return fmt.Errorf("%w: Connector %s not found", ErrNotFound, name) }

// Connectors lists connector names, sorted.
func (h *Herder) Connectors(context.Context) ([]string, error) {
	names := slices.Collect(maps.Keys(h.configs.Snapshot().Connectors))
	slices.Sort(names)
	if names == nil {
		names = []string{}
	}
	return names, nil
}

func (h *Herder) connectorConfig(name string) (map[string]string, ConfigSnapshot, error) {
	snap := h.configs.Snapshot()
	cfg, ok := snap.Connectors[name]
	if !ok {
		return nil, snap, notFound(name)
	}
	return cfg, snap, nil
}

// configDef returns every key that applies to a connector config, for
// hiding passwords.
func (h *Herder) configDef(props map[string]string) connect.ConfigDef {
	def := commonConfigDef
	if p := h.plugins.Connector(props[KeyConnectorClass]); p != nil {
		def = slices.Concat(def, p.Config)
	}
	tdef, _ := transform.ConfigDef(props, h.plugins.Others)
	return slices.Concat(def, tdef)
}

func (h *Herder) connectorType(props map[string]string) string {
	if p := h.plugins.Connector(props[KeyConnectorClass]); p != nil {
		return string(p.Type())
	}
	return "unknown"
}

// ConnectorInfo answers GET /connectors/{name}.
func (h *Herder) ConnectorInfo(_ context.Context, name string) (ConnectorInfo, error) {
	cfg, snap, err := h.connectorConfig(name)
	if err != nil {
		return ConnectorInfo{}, err
	}
	return h.info(name, cfg, snap), nil
}

func (h *Herder) info(name string, cfg map[string]string, snap ConfigSnapshot) ConnectorInfo {
	info := ConnectorInfo{Name: name, Config: hidePasswords(h.configDef(cfg), cfg), Tasks: []ConnectorTaskID{}, Type: h.connectorType(cfg)}
	for i := range snap.Tasks[name] {
		info.Tasks = append(info.Tasks, ConnectorTaskID{Connector: name, Task: i})
	}
	return info
}

// ConnectorConfig answers GET /connectors/{name}/config.
func (h *Herder) ConnectorConfig(_ context.Context, name string) (map[string]string, error) {
	cfg, _, err := h.connectorConfig(name)
	if err != nil {
		return nil, err
	}
	return hidePasswords(h.configDef(cfg), cfg), nil
}

// ConnectorStatus answers GET /connectors/{name}/status.
func (h *Herder) ConnectorStatus(_ context.Context, name string) (ConnectorStateInfo, error) {
	cfg, snap, err := h.connectorConfig(name)
	if err != nil {
		return ConnectorStateInfo{}, err
	}
	st, ok := h.status.Connector(name)
	if !ok {
		st = Status{State: StateUnassigned, WorkerID: h.cfg.WorkerID}
	}
	out := ConnectorStateInfo{Name: name, Type: h.connectorType(cfg), Tasks: []TaskState{},
		Connector: ConnectorState{State: st.State, WorkerID: st.WorkerID, Trace: st.Trace}}
	for i := range snap.Tasks[name] {
		if ts, ok := h.status.Task(ConnectorTaskID{Connector: name, Task: i}); ok {
			out.Tasks = append(out.Tasks, TaskState{ID: i, State: ts.State, WorkerID: ts.WorkerID, Trace: ts.Trace,
				Info: h.metrics.info(ConnectorTaskID{Connector: name, Task: i})})
		}
	}
	return out, nil
}

// Tasks answers GET /connectors/{name}/tasks.
func (h *Herder) Tasks(_ context.Context, name string) ([]TaskInfo, error) {
	cfg, snap, err := h.connectorConfig(name)
	if err != nil {
		return nil, err
	}
	def := h.configDef(cfg)
	out := []TaskInfo{}
	for i, tc := range snap.Tasks[name] {
		out = append(out, TaskInfo{ID: ConnectorTaskID{Connector: name, Task: i}, Config: hidePasswords(def, tc)})
	}
	return out, nil
}

// TaskStatus answers GET /connectors/{name}/tasks/{id}/status.
func (h *Herder) TaskStatus(_ context.Context, name string, task int) (TaskState, error) {
	if _, _, err := h.connectorConfig(name); err != nil {
		return TaskState{}, err
	}
	st, ok := h.status.Task(ConnectorTaskID{Connector: name, Task: task})
	if !ok {
		return TaskState{}, fmt.Errorf("%w: No status found for task %s-%d", ErrNotFound, name, task)
	}
	return TaskState{ID: task, State: st.State, WorkerID: st.WorkerID, Trace: st.Trace,
		Info: h.metrics.info(ConnectorTaskID{Connector: name, Task: task})}, nil
}

// CreateConnector answers POST /connectors.
func (h *Herder) CreateConnector(ctx context.Context, name string, config map[string]string, initial TargetState) (ConnectorInfo, error) {
	info, _, err := h.putConfig(ctx, name, config, false, initial)
	return info, err
}

// PutConnectorConfig answers PUT /connectors/{name}/config.
func (h *Herder) PutConnectorConfig(ctx context.Context, name string, config map[string]string) (ConnectorInfo, bool, error) {
	return h.putConfig(ctx, name, config, true, "")
}

// PatchConnectorConfig answers PATCH /connectors/{name}/config (KIP-477).
func (h *Herder) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (ConnectorInfo, error) {
	cfg, _, err := h.connectorConfig(name)
	if err != nil {
		return ConnectorInfo{}, err
	}
	merged := maps.Clone(cfg)
	for k, v := range patch {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = *v
		}
	}
	if n, ok := merged[KeyName]; ok && n != name {
		return ConnectorInfo{}, fmt.Errorf("%w: Connector name configuration (%s) doesn't match connector name in the URL (%s)", ErrBadRequest, n, name)
	}
	info, _, err := h.putConfig(ctx, name, merged, true, "")
	return info, err
}

// putConfig validates and stores a config and wakes the connector.
func (h *Herder) putConfig(ctx context.Context, name string, config map[string]string, allowReplace bool, initial TargetState) (ConnectorInfo, bool, error) {
	config = maps.Clone(config)
	if config == nil {
		config = map[string]string{}
	}
	if _, ok := config[KeyName]; !ok {
		config[KeyName] = name
	}
	snap := h.configs.Snapshot()
	existing, exists := snap.Connectors[name]
	// A value echoed back as [hidden] from a GET keeps the stored secret.
	for k, v := range config {
		if v == connect.HiddenPassword && exists {
			if old, ok := existing[k]; ok {
				config[k] = old
			}
		}
	}
	v, err := h.validate(ctx, config)
	if err != nil {
		return ConnectorInfo{}, false, err
	}
	if len(v.errors) > 0 {
		return ConnectorInfo{}, false, invalidConfigError(v)
	}
	if err := h.requireLeader(ctx); err != nil {
		return ConnectorInfo{}, false, err
	}
	if exists && !allowReplace {
		return ConnectorInfo{}, false, fmt.Errorf("%w: Connector %s already exists", ErrAlreadyExists, name)
	}
	target := initial
	if !exists && target == "" {
		target = TargetStarted
	}
	if err := h.configs.PutConnectorConfig(ctx, name, config, target); err != nil {
		return ConnectorInfo{}, false, err // the store says what it was writing where
	}
	// The answer shows the state as written, before the connector's actor
	// generates task configs (Kafka's answer right after a create has no
	// tasks either).
	info := h.info(name, config, h.configs.Snapshot())
	h.reconcile(name)
	return info, !exists, nil
}

// DeleteConnector answers DELETE /connectors/{name}. Offsets are kept, as
// in Kafka.
func (h *Herder) DeleteConnector(ctx context.Context, name string) error {
	if _, _, err := h.connectorConfig(name); err != nil {
		return err
	}
	if err := h.requireLeader(ctx); err != nil {
		return err
	}
	if err := h.configs.RemoveConnector(ctx, name); err != nil {
		return err
	}
	h.reconcile(name)
	return nil
}

func (h *Herder) setTarget(ctx context.Context, name string, t TargetState) error {
	if _, _, err := h.connectorConfig(name); err != nil {
		return err
	}
	if err := h.requireLeader(ctx); err != nil {
		return err
	}
	if err := h.configs.PutTargetState(ctx, name, t); err != nil {
		return err
	}
	h.reconcile(name)
	return nil
}

// PauseConnector answers PUT /connectors/{name}/pause.
func (h *Herder) PauseConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, TargetPaused)
}

// ResumeConnector answers PUT /connectors/{name}/resume.
func (h *Herder) ResumeConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, TargetStarted)
}

// StopConnector answers PUT /connectors/{name}/stop (KIP-875).
func (h *Herder) StopConnector(ctx context.Context, name string) error {
	return h.setTarget(ctx, name, TargetStopped)
}

// RestartConnector answers POST /connectors/{name}/restart (KIP-745). The
// leader records the request in the config topic and every worker restarts
// the instances it runs.
func (h *Herder) RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (*ConnectorStateInfo, error) {
	status, err := h.ConnectorStatus(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := h.requireLeader(ctx); err != nil {
		return nil, err
	}
	restartConn := !onlyFailed || status.Connector.State == StateFailed
	if includeTasks {
		for i := range status.Tasks {
			if !onlyFailed || status.Tasks[i].State == StateFailed {
				status.Tasks[i].State = StateRestarting
				status.Tasks[i].Trace = ""
			}
		}
	}
	if restartConn && (includeTasks || onlyFailed) {
		status.Connector.State = StateRestarting
		status.Connector.Trace = ""
	}
	if err := h.configs.PutRestartRequest(ctx, name, includeTasks, onlyFailed); err != nil {
		return nil, err
	}
	if !includeTasks && !onlyFailed {
		return nil, nil
	}
	return &status, nil
}

// restartLocal restarts the instances of a connector this worker runs, as
// a restart request asks.
func (h *Herder) restartLocal(name string, includeTasks, onlyFailed bool) {
	a := h.actor(name)
	if a == nil {
		return
	}
	failed := func(st Status, ok bool) bool { return ok && st.State == StateFailed }
	restartConn := false
	if h.own.ownsConnector(name) {
		restartConn = !onlyFailed || failed(h.status.Connector(name))
	}
	var tasks []int
	if includeTasks {
		for i := range h.configs.Snapshot().Tasks[name] {
			id := ConnectorTaskID{Connector: name, Task: i}
			if h.own.ownsTask(id) && (!onlyFailed || failed(h.status.Task(id))) {
				tasks = append(tasks, i)
				h.putTaskStatus(id, StateRestarting, "")
			}
		}
	}
	if restartConn && (includeTasks || onlyFailed) {
		h.putStatus(name, StateRestarting, "")
	}
	a.requestRestart(restartConn, tasks)
}

// RestartTask answers POST /connectors/{name}/tasks/{id}/restart; a task
// running elsewhere is restarted by its worker.
func (h *Herder) RestartTask(ctx context.Context, name string, task int) error {
	_, snap, err := h.connectorConfig(name)
	if err != nil {
		return err
	}
	if task < 0 || task >= len(snap.Tasks[name]) {
		return fmt.Errorf("%w: Task %s-%d not found", ErrNotFound, name, task)
	}
	id := ConnectorTaskID{Connector: name, Task: task}
	if !h.own.ownsTask(id) {
		if st, ok := h.status.Task(id); ok && st.WorkerID != "" && st.WorkerID != h.cfg.WorkerID {
			return &RedirectError{URL: "http://" + st.WorkerID, Why: "task runs there"}
		}
		return fmt.Errorf("%w: Cannot complete request because of a conflicting operation (e.g. worker rebalance)", ErrConflict)
	}
	a := h.actor(name)
	if a == nil {
		return fmt.Errorf("%w: Cannot complete request because of a conflicting operation (e.g. worker rebalance)", ErrConflict)
	}
	a.requestRestart(false, []int{task})
	return nil
}

// ConnectorTopics answers GET /connectors/{name}/topics (KIP-558).
func (h *Herder) ConnectorTopics(_ context.Context, name string) ([]string, error) {
	if !h.cfg.TopicTracking {
		return nil, fmt.Errorf("%w: Topic tracking is disabled.", ErrForbidden)
	}
	if _, _, err := h.connectorConfig(name); err != nil {
		return nil, err
	}
	topics := h.status.Topics(name)
	if topics == nil {
		topics = []string{}
	}
	return topics, nil
}

// ResetConnectorTopics answers PUT /connectors/{name}/topics/reset.
func (h *Herder) ResetConnectorTopics(_ context.Context, name string) error {
	if !h.cfg.TopicTracking {
		return fmt.Errorf("%w: Topic tracking is disabled.", ErrForbidden)
	}
	if !h.cfg.TopicTrackingReset {
		return fmt.Errorf("%w: Topic tracking reset is disabled.", ErrForbidden)
	}
	if _, _, err := h.connectorConfig(name); err != nil {
		return err
	}
	h.status.ResetTopics(name)
	return nil
}

// Plugins answers GET /connector-plugins.
func (h *Herder) Plugins(connectorsOnly bool) []PluginInfo { return h.plugins.Infos(connectorsOnly) }

// PluginConfig answers GET /connector-plugins/{plugin}/config.
func (h *Herder) PluginConfig(plugin string) ([]ConfigKeyInfo, error) {
	var def connect.ConfigDef
	if p := h.plugins.Connector(plugin); p != nil {
		common := sourceConfigDef
		if p.Type() == connect.PluginSink {
			common = sinkConfigDef
		}
		def = slices.Concat(common, p.Config)
	} else {
		found := false
		for i := range h.plugins.Others {
			o := &h.plugins.Others[i]
			if connect.MatchesClass(o.Class, o.Aliases, plugin) {
				def, found = o.Config, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: Unknown plugin %s.", ErrNotFound, plugin)
		}
	}
	out := make([]ConfigKeyInfo, 0, len(def))
	for i := range def {
		out = append(out, keyInfo(&def[i]))
	}
	return out, nil
}

// ValidateConfig answers PUT /connector-plugins/{plugin}/config/validate.
func (h *Herder) ValidateConfig(ctx context.Context, plugin string, config map[string]string) (ConfigInfos, error) {
	config = maps.Clone(config)
	if config == nil {
		config = map[string]string{}
	}
	if given := strings.TrimSpace(config[KeyConnectorClass]); given != "" {
		if !sameConnectorType(given, plugin) {
			return ConfigInfos{}, fmt.Errorf("%w: Included connector type %s does not match request type %s", ErrBadRequest, given, plugin)
		}
	} else {
		config[KeyConnectorClass] = plugin
	}
	v, err := h.validate(ctx, config)
	if err != nil {
		return ConfigInfos{}, err
	}
	return v.infos, nil
}

// sameConnectorType applies Kafka's rule: the normalised names (without a
// "Connector" suffix) must end the same way.
func sameConnectorType(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(s)
		return strings.TrimSuffix(s, "connector")
	}
	na, nb := norm(a), norm(b)
	return strings.HasSuffix(na, nb) || strings.HasSuffix(nb, na)
}

// retire removes an actor whose connector is gone, unless it was created
// again meanwhile (then the actor carries on).
func (h *Herder) retire(name string, a *connectorActor) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.configs.Snapshot().Connectors[name]; ok {
		return false
	}
	if h.actors[name] == a {
		delete(h.actors, name)
	}
	return true
}
