package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The root resource (Kafka's RootResource).

// serverInfo answers GET / with the worker's version, commit and Kafka
// cluster id.
func (s *Server) serverInfo(w http.ResponseWriter, r *http.Request) {
	info, err := herderCall(s, r, s.herder.ServerInfo)
	s.answer(w, r, http.StatusOK, info, err)
}

// workerStatus is Kafka's WorkerStatus entity.
type workerStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// The health answers, in Kafka's words (KIP-1017).
var (
	statusHealthy   = workerStatus{"healthy", "Worker has completed startup and is ready to handle requests."}
	statusStarting  = workerStatus{"starting", "Worker is still starting up."}
	statusUnhealthy = workerStatus{"unhealthy",
		"Worker was unable to handle this request and may be unable to handle other requests."}
)

// health answers GET /health: 200 healthy when the herder's health check
// answers within HealthTimeout and every HealthCheck passes; when the
// herder does not answer, 503 starting if startup has not completed, else
// 500 unhealthy; when a HealthCheck fails (or does not answer), 500
// unhealthy with its error after Kafka's message, as Kafka adds a stage's
// details. A herder health check that fails outright is an ordinary error
// body.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	_, err := call(s, r, s.opts.HealthTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.herder.Healthy(ctx)
	})
	switch {
	case err == nil && s.herder.Ready():
		if err := s.runHealthChecks(r); err != nil {
			writeJSON(w, http.StatusInternalServerError, unhealthy(err.Error()))
			return
		}
		writeJSON(w, http.StatusOK, statusHealthy)
	case err == nil || errors.Is(err, errTimeout) && !s.herder.Ready():
		writeJSON(w, http.StatusServiceUnavailable, statusStarting)
	case errors.Is(err, errTimeout):
		writeJSON(w, http.StatusInternalServerError, statusUnhealthy)
	default:
		s.writeError(w, r, err)
	}
}

// unhealthy is Kafka's unhealthy status with details.
func unhealthy(details string) workerStatus {
	return workerStatus{statusUnhealthy.Status, statusUnhealthy.Message + " " + details}
}

// runHealthChecks runs the embedding process's checks in order and
// returns every failure, in one line: an operator sees at once that the
// worker cannot write its config because the broker's disk is full.
func (s *Server) runHealthChecks(r *http.Request) error {
	var failures []string
	for _, check := range s.opts.HealthChecks {
		_, err := call(s, r, s.opts.HealthTimeout, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, check(ctx)
		})
		if errors.Is(err, errTimeout) {
			err = fmt.Errorf("a health check did not answer within %s", s.opts.HealthTimeout)
		}
		if err != nil {
			failures = append(failures, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

// metrics answers GET /metrics in the Prometheus text format: Kafka
// Connect's per-task metrics without a JMX exporter.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := s.herder.WriteMetrics(&buf); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
