package rest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluicehq/sluice/runtime/worker"
)

// Connector lifecycle, topics and offsets (the rest of Kafka's
// ConnectorsResource).

// restartConnector answers POST /connectors/{name}/restart (KIP-745). With
// includeTasks and onlyFailed both false it is the legacy connector-only
// restart: 204 when the herder returns no state. Otherwise 202 with the
// state, the instances to be restarted shown RESTARTING.
func (s *Server) restartConnector(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	includeTasks := boolQuery(r, "includeTasks", false)
	onlyFailed := boolQuery(r, "onlyFailed", false)
	st, err := herderCall(s, r, func(ctx context.Context) (*worker.ConnectorStateInfo, error) {
		return s.herder.RestartConnector(ctx, name, includeTasks, onlyFailed)
	})
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case st == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusAccepted, st)
	}
}

// restartTask answers POST /connectors/{name}/tasks/{task}/restart, 204.
func (s *Server) restartTask(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	task, err := taskParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	err = herderDo(s, r, func(ctx context.Context) error { return s.herder.RestartTask(ctx, name, task) })
	s.answerEmpty(w, r, http.StatusNoContent, err)
}

// pauseConnector answers PUT /connectors/{name}/pause, 202.
func (s *Server) pauseConnector(w http.ResponseWriter, r *http.Request) {
	s.lifecycle(w, r, http.StatusAccepted, s.herder.PauseConnector)
}

// resumeConnector answers PUT /connectors/{name}/resume, 202.
func (s *Server) resumeConnector(w http.ResponseWriter, r *http.Request) {
	s.lifecycle(w, r, http.StatusAccepted, s.herder.ResumeConnector)
}

// stopConnector answers PUT /connectors/{name}/stop (KIP-875), 204.
func (s *Server) stopConnector(w http.ResponseWriter, r *http.Request) {
	s.lifecycle(w, r, http.StatusNoContent, s.herder.StopConnector)
}

func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request, status int, fn func(context.Context, string) error) {
	name := pathParam(r, "connector")
	err := herderDo(s, r, func(ctx context.Context) error { return fn(ctx, name) })
	s.answerEmpty(w, r, status, err)
}

// activeTopics is Kafka's ActiveTopicsInfo as the topics endpoint shows it.
type activeTopics struct {
	Topics []string `json:"topics"`
}

// getConnectorTopics answers GET /connectors/{name}/topics (KIP-558) with
// {"<name>": {"topics": [...]}}; 403 when topic tracking is disabled.
func (s *Server) getConnectorTopics(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	topics, err := herderCall(s, r, func(ctx context.Context) ([]string, error) {
		return s.herder.ConnectorTopics(ctx, name)
	})
	if topics == nil {
		topics = []string{}
	}
	s.answer(w, r, http.StatusOK, map[string]activeTopics{name: {Topics: topics}}, err)
}

// resetConnectorTopics answers PUT /connectors/{name}/topics/reset, 202.
func (s *Server) resetConnectorTopics(w http.ResponseWriter, r *http.Request) {
	s.lifecycle(w, r, http.StatusAccepted, s.herder.ResetConnectorTopics)
}

// getOffsets answers GET /connectors/{name}/offsets (KIP-875).
func (s *Server) getOffsets(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	offsets, err := herderCall(s, r, func(ctx context.Context) (worker.ConnectorOffsets, error) {
		return s.herder.Offsets(ctx, name)
	})
	s.answer(w, r, http.StatusOK, offsets, err)
}

// message is Kafka's Message entity.
type message struct {
	Message string `json:"message"`
}

// alterOffsets answers PATCH /connectors/{name}/offsets with 200 and the
// herder's message. A body without offsets is refused before the herder
// is asked, as Kafka does; the herder refuses unless the connector is
// STOPPED.
func (s *Server) alterOffsets(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	var body worker.ConnectorOffsets
	if _, err := readJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(body.Offsets) == 0 {
		s.writeError(w, r, fmt.Errorf("%w: Partitions / offsets need to be provided for an alter offsets request", worker.ErrBadRequest))
		return
	}
	for i := range body.Offsets {
		body.Offsets[i].Partition = normalizeNumbers(body.Offsets[i].Partition)
		body.Offsets[i].Offset = normalizeNumbers(body.Offsets[i].Offset)
	}
	msg, err := herderCall(s, r, func(ctx context.Context) (string, error) {
		return s.herder.AlterOffsets(ctx, name, body)
	})
	s.answer(w, r, http.StatusOK, message{msg}, err)
}

// resetOffsets answers DELETE /connectors/{name}/offsets with 200 and the
// herder's message.
func (s *Server) resetOffsets(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	msg, err := herderCall(s, r, func(ctx context.Context) (string, error) {
		return s.herder.ResetOffsets(ctx, name)
	})
	s.answer(w, r, http.StatusOK, message{msg}, err)
}
