package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluicehq/sluice/runtime/worker"
)

// The connector resource (Kafka's ConnectorsResource): listing, create,
// read, update and delete. Lifecycle and offsets are in control.go.

// listConnectors answers GET /connectors. With any expand parameter it
// answers {name: {"status": ..., "info": ...}} for the expansions named;
// expand repeats (?expand=status&expand=info) and unknown values, a comma
// list among them, are ignored, as in Kafka. A connector deleted while the
// list is built is left out.
func (s *Server) listConnectors(w http.ResponseWriter, r *http.Request) {
	expand, ok := r.URL.Query()["expand"]
	if !ok {
		names, err := herderCall(s, r, s.herder.Connectors)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, names)
		return
	}
	out, err := herderCall(s, r, func(ctx context.Context) (map[string]map[string]any, error) {
		return s.expandConnectors(ctx, expand)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) expandConnectors(ctx context.Context, expand []string) (map[string]map[string]any, error) {
	names, err := s.herder.Connectors(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]any, len(names))
	for _, name := range names {
		entry, err := s.expandConnector(ctx, name, expand)
		if errors.Is(err, worker.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[name] = entry
	}
	return out, nil
}

func (s *Server) expandConnector(ctx context.Context, name string, expand []string) (map[string]any, error) {
	entry := map[string]any{}
	for _, e := range expand {
		var v any
		var err error
		switch e {
		case "status":
			v, err = s.herder.ConnectorStatus(ctx, name)
		case "info":
			v, err = s.herder.ConnectorInfo(ctx, name)
		default:
			s.log.Debug("ignoring unknown expansion type", "expand", e)
			continue
		}
		if err != nil {
			return nil, err
		}
		entry[e] = v
	}
	return entry, nil
}

// createConnector answers POST /connectors with 201, a Location header and
// the ConnectorInfo.
func (s *Server) createConnector(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if _, err := readJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	name, err := req.name()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	initial, err := req.targetState()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	config := map[string]string(req.Config)
	if config == nil {
		config = map[string]string{}
	}
	if err := checkConfigName(name, config); err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := herderCall(s, r, func(ctx context.Context) (worker.ConnectorInfo, error) {
		return s.herder.CreateConnector(ctx, name, config, initial)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", connectorURL(r, name))
	writeJSON(w, http.StatusCreated, info)
}

// connectorURL is the absolute URL of a connector, as Jersey makes the
// Location header absolute.
func connectorURL(r *http.Request, name string) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: "/connectors/" + name}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	return u.String()
}

// getConnector answers GET /connectors/{name}.
func (s *Server) getConnector(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	info, err := herderCall(s, r, func(ctx context.Context) (worker.ConnectorInfo, error) {
		return s.herder.ConnectorInfo(ctx, name)
	})
	s.answer(w, r, http.StatusOK, info, err)
}

// getConnectorConfig answers GET /connectors/{name}/config.
func (s *Server) getConnectorConfig(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	cfg, err := herderCall(s, r, func(ctx context.Context) (map[string]string, error) {
		return s.herder.ConnectorConfig(ctx, name)
	})
	s.answer(w, r, http.StatusOK, cfg, err)
}

// putConnectorConfig answers PUT /connectors/{name}/config: 201 with a
// Location when it created the connector, else 200.
func (s *Server) putConnectorConfig(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	var config configMap
	if _, err := readJSON(r, &config); err != nil {
		s.writeError(w, r, err)
		return
	}
	if config == nil {
		config = configMap{}
	}
	if err := checkConfigName(name, config); err != nil {
		s.writeError(w, r, err)
		return
	}
	type put struct {
		info    worker.ConnectorInfo
		created bool
	}
	res, err := herderCall(s, r, func(ctx context.Context) (put, error) {
		info, created, err := s.herder.PutConnectorConfig(ctx, name, config)
		return put{info, created}, err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if res.created {
		status = http.StatusCreated
		w.Header().Set("Location", connectorURL(r, name))
	}
	writeJSON(w, status, res.info)
}

// patchConnectorConfig answers PATCH /connectors/{name}/config (KIP-477);
// the herder checks a name in the patch against the path.
func (s *Server) patchConnectorConfig(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	var patch patchMap
	if _, err := readJSON(r, &patch); err != nil {
		s.writeError(w, r, err)
		return
	}
	if patch == nil {
		patch = patchMap{}
	}
	info, err := herderCall(s, r, func(ctx context.Context) (worker.ConnectorInfo, error) {
		return s.herder.PatchConnectorConfig(ctx, name, patch)
	})
	s.answer(w, r, http.StatusOK, info, err)
}

// deleteConnector answers DELETE /connectors/{name} with 204.
func (s *Server) deleteConnector(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	err := herderDo(s, r, func(ctx context.Context) error { return s.herder.DeleteConnector(ctx, name) })
	s.answerEmpty(w, r, http.StatusNoContent, err)
}

// getConnectorStatus answers GET /connectors/{name}/status.
func (s *Server) getConnectorStatus(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	st, err := herderCall(s, r, func(ctx context.Context) (worker.ConnectorStateInfo, error) {
		return s.herder.ConnectorStatus(ctx, name)
	})
	s.answer(w, r, http.StatusOK, st, err)
}

// getTasks answers GET /connectors/{name}/tasks.
func (s *Server) getTasks(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	tasks, err := herderCall(s, r, func(ctx context.Context) ([]worker.TaskInfo, error) {
		return s.herder.Tasks(ctx, name)
	})
	s.answer(w, r, http.StatusOK, tasks, err)
}

// getTasksConfig answers the deprecated GET /connectors/{name}/tasks-config
// (KIP-970): {"<name>-<task>": config}, keyed as Kafka prints a task id.
func (s *Server) getTasksConfig(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("The 'GET /connectors/{connector}/tasks-config' endpoint is deprecated and will be removed in the next major release. " +
		"Please use the 'GET /connectors/{connector}/tasks' endpoint instead.")
	name := pathParam(r, "connector")
	tasks, err := herderCall(s, r, func(ctx context.Context) ([]worker.TaskInfo, error) {
		return s.herder.Tasks(ctx, name)
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make(map[string]map[string]string, len(tasks))
	for _, t := range tasks {
		out[fmt.Sprintf("%s-%d", t.ID.Connector, t.ID.Task)] = t.Config
	}
	writeJSON(w, http.StatusOK, out)
}

// getTaskStatus answers GET /connectors/{name}/tasks/{task}/status.
func (s *Server) getTaskStatus(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	task, err := taskParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := herderCall(s, r, func(ctx context.Context) (worker.TaskState, error) {
		return s.herder.TaskStatus(ctx, name, task)
	})
	s.answer(w, r, http.StatusOK, st, err)
}

// taskParam reads the task id; one that is not an integer matches no
// resource in Jersey, hence 404.
func taskParam(r *http.Request) (int, error) {
	task, err := strconv.Atoi(pathParam(r, "task"))
	if err != nil {
		return 0, errRouteNotFound
	}
	return task, nil
}

// answer writes v with status, or err.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, v)
}

// answerEmpty writes status with no body, or err.
func (s *Server) answerEmpty(w http.ResponseWriter, r *http.Request, status int, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(status)
}
