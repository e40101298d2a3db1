package rest

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/runtime/worker"
)

// The memHerder's writes, lifecycle, offsets and plugins.

func (h *memHerder) CreateConnector(_ context.Context, name string, config map[string]string, initial worker.TargetState) (worker.ConnectorInfo, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := validate(config); err != nil {
		return worker.ConnectorInfo{}, err
	}
	if _, ok := h.connectors[name]; ok {
		return worker.ConnectorInfo{}, fmt.Errorf("%w: Connector %s already exists", worker.ErrAlreadyExists, name)
	}
	if initial == "" {
		initial = worker.TargetStarted
	}
	c := &memConnector{target: initial}
	h.store(name, c, maps.Clone(config))
	h.connectors[name] = c
	return h.info(name, c), nil
}

func (h *memHerder) PutConnectorConfig(_ context.Context, name string, config map[string]string) (worker.ConnectorInfo, bool, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := validate(config); err != nil {
		return worker.ConnectorInfo{}, false, err
	}
	c, exists := h.connectors[name]
	if !exists {
		c = &memConnector{target: worker.TargetStarted}
		h.connectors[name] = c
	}
	h.store(name, c, maps.Clone(config))
	return h.info(name, c), !exists, nil
}

func (h *memHerder) PatchConnectorConfig(_ context.Context, name string, patch map[string]*string) (worker.ConnectorInfo, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return worker.ConnectorInfo{}, err
	}
	merged := maps.Clone(c.config)
	for k, v := range patch {
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = *v
		}
	}
	if n, ok := merged["name"]; ok && n != name {
		return worker.ConnectorInfo{}, fmt.Errorf("%w: Connector name configuration (%s) doesn't match connector name in the URL (%s)",
			worker.ErrBadRequest, n, name)
	}
	if err := validate(merged); err != nil {
		return worker.ConnectorInfo{}, err
	}
	h.store(name, c, merged)
	return h.info(name, c), nil
}

func (h *memHerder) DeleteConnector(_ context.Context, name string) error {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.get(name); err != nil {
		return err
	}
	delete(h.connectors, name)
	return nil
}

func (h *memHerder) RestartConnector(_ context.Context, name string, includeTasks, onlyFailed bool) (*worker.ConnectorStateInfo, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return nil, err
	}
	if !includeTasks && !onlyFailed {
		return nil, nil
	}
	st := c.status
	st.Tasks = nil
	if !onlyFailed || st.Connector.State == worker.StateFailed {
		st.Connector.State = worker.StateRestarting
	}
	for _, t := range c.status.Tasks {
		if includeTasks && (!onlyFailed || t.State == worker.StateFailed) {
			t.State, t.Trace = worker.StateRestarting, ""
		}
		st.Tasks = append(st.Tasks, t)
	}
	return &st, nil
}

func (h *memHerder) RestartTask(_ context.Context, name string, task int) error {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return err
	}
	if task < 0 || task >= len(c.tasks) {
		return fmt.Errorf("%w: Task %s-%d not found", worker.ErrNotFound, name, task)
	}
	return nil
}

func (h *memHerder) setTarget(name string, t worker.TargetState) error {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return err
	}
	c.target = t
	h.store(name, c, c.config)
	return nil
}

func (h *memHerder) PauseConnector(_ context.Context, name string) error {
	return h.setTarget(name, worker.TargetPaused)
}

func (h *memHerder) ResumeConnector(_ context.Context, name string) error {
	return h.setTarget(name, worker.TargetStarted)
}

func (h *memHerder) StopConnector(_ context.Context, name string) error {
	return h.setTarget(name, worker.TargetStopped)
}

func (h *memHerder) ConnectorTopics(_ context.Context, name string) ([]string, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.topicTracking {
		return nil, fmt.Errorf("%w: Topic tracking is disabled.", worker.ErrForbidden)
	}
	c, err := h.get(name)
	if err != nil {
		return nil, err
	}
	return c.topics, nil
}

func (h *memHerder) ResetConnectorTopics(_ context.Context, name string) error {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.topicTracking {
		return fmt.Errorf("%w: Topic tracking is disabled.", worker.ErrForbidden)
	}
	if !h.topicTrackingReset {
		return fmt.Errorf("%w: Topic tracking reset is disabled.", worker.ErrForbidden)
	}
	c, err := h.get(name)
	if err != nil {
		return err
	}
	c.topics = nil
	return nil
}

func (h *memHerder) Offsets(_ context.Context, name string) (worker.ConnectorOffsets, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.get(name)
	if err != nil {
		return worker.ConnectorOffsets{}, err
	}
	if c.offsets.Offsets == nil {
		return worker.ConnectorOffsets{Offsets: []worker.ConnectorOffset{}}, nil
	}
	return c.offsets, nil
}

func (h *memHerder) requireStopped(name string) (*memConnector, error) {
	c, err := h.get(name)
	if err != nil {
		return nil, err
	}
	if c.target != worker.TargetStopped {
		return nil, fmt.Errorf("%w: Connectors must be in the STOPPED state before their offsets can be modified. "+
			"This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint",
			worker.ErrBadRequest, name)
	}
	return c, nil
}

func (h *memHerder) AlterOffsets(_ context.Context, name string, offsets worker.ConnectorOffsets) (string, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.requireStopped(name)
	if err != nil {
		return "", err
	}
	c.offsets = offsets
	return "The offsets for this connector have been altered successfully", nil
}

func (h *memHerder) ResetOffsets(_ context.Context, name string) (string, error) {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.requireStopped(name)
	if err != nil {
		return "", err
	}
	c.offsets = worker.ConnectorOffsets{}
	return "The offsets for this connector have been reset successfully", nil
}

func (h *memHerder) Plugins(connectorsOnly bool) []worker.PluginInfo {
	var out []worker.PluginInfo
	for _, p := range memPlugins {
		if !connectorsOnly || p.Type == "source" || p.Type == "sink" {
			out = append(out, p)
		}
	}
	return out
}

func memKeys() []worker.ConfigKeyInfo {
	def := "1"
	group := "Common"
	return []worker.ConfigKeyInfo{
		{Name: "file", Type: "STRING", Required: true, Importance: "HIGH", Documentation: "Source filename.",
			Order: -1, Width: "NONE", DisplayName: "file", Dependents: []string{}},
		{Name: "tasks.max", Type: "INT", DefaultValue: &def, Importance: "HIGH", Documentation: "Maximum number of tasks to use for this connector.",
			Group: &group, Order: 3, Width: "SHORT", DisplayName: "Tasks max", Dependents: []string{}},
	}
}

func (h *memHerder) PluginConfig(plugin string) ([]worker.ConfigKeyInfo, error) {
	if pluginType(plugin) == "unknown" {
		return nil, fmt.Errorf("%w: Unknown plugin %s.", worker.ErrNotFound, plugin)
	}
	return memKeys(), nil
}

func (h *memHerder) ValidateConfig(_ context.Context, plugin string, config map[string]string) (worker.ConfigInfos, error) {
	h.wait()
	if given := config["connector.class"]; given != "" && !strings.HasSuffix(strings.TrimSuffix(given, "Connector"), plugin) {
		return worker.ConfigInfos{}, fmt.Errorf("%w: Included connector type %s does not match request type %s",
			worker.ErrBadRequest, given, plugin)
	}
	out := worker.ConfigInfos{Name: "org.apache.kafka.connect.file.FileStreamSourceConnector", Groups: []string{"Common"}}
	for _, k := range memKeys() {
		v := worker.ConfigValueInfo{Name: k.Name, RecommendedValues: []string{}, Errors: []string{}, Visible: true}
		if val, ok := config[k.Name]; ok {
			v.Value = &val
		} else if k.Required {
			v.Errors = append(v.Errors, fmt.Sprintf("Missing required configuration \"%s\" which has no default value.", k.Name))
			out.ErrorCount++
		} else {
			v.Value = k.DefaultValue
		}
		out.Configs = append(out.Configs, worker.ConfigInfo{Definition: &k, Value: v})
	}
	return out, nil
}

func (h *memHerder) PutTaskConfigs(_ context.Context, name string, configs []map[string]string) error {
	h.wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.connectors[name]
	if !ok {
		return fmt.Errorf("%w: Connector %s not found", worker.ErrNotFound, name)
	}
	c.tasks = configs
	return nil
}
