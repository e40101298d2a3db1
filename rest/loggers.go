package rest

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/runtime/worker"
)

// The logging resource (Kafka's LoggingResource, KIP-495 and KIP-976).

// listLoggers answers GET /admin/loggers: {name: {"level",
// "last_modified"}} for every logger with a level of its own, and root.
func (s *Server) listLoggers(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.opts.Levels.List())
}

// getLogger answers GET /admin/loggers/{logger} with the logger's level,
// inherited if it has none of its own; 404 for a logger never used.
func (s *Server) getLogger(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "logger")
	level, ok := s.opts.Levels.Get(name)
	if !ok {
		s.writeError(w, r, fmt.Errorf("%w: Logger %s not found.", worker.ErrNotFound, name))
		return
	}
	writeJSON(w, http.StatusOK, level)
}

// setLogLevel answers PUT /admin/loggers/{logger}?scope= with body
// {"level": "DEBUG"}: the level applies to the logger and those below it.
// scope=worker (the default; unknown scopes fall back to it) answers 200
// with the affected loggers. scope=cluster answers 204 as in Kafka, but
// with no cluster to tell yet it changes this worker only.
//
// As in Kafka, a missing level is 400 and an unknown level name 404.
func (s *Server) setLogLevel(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "logger")
	var body configMap
	if _, err := readJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	text, ok := body["level"]
	if !ok {
		s.writeError(w, r, fmt.Errorf("%w: Desired 'level' parameter was not specified in request.", worker.ErrBadRequest))
		return
	}
	level, ok := logging.ParseLevel(text)
	if !ok {
		s.writeError(w, r, fmt.Errorf("%w: invalid log level '%s'.", worker.ErrNotFound, text))
		return
	}
	scope := "worker"
	if q := r.URL.Query(); q.Has("scope") {
		scope = strings.ToLower(q.Get("scope"))
	}
	if scope != "worker" && scope != "cluster" {
		s.log.Warn("invalid scope in request to adjust logging level; using worker", "scope", scope)
	}
	s.log.Info("setting level of logger namespace and children", "namespace", name, "level", logging.LevelName(level), "scope", scope)
	affected := s.opts.Levels.Set(name, level)
	if scope == "cluster" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, affected)
}
