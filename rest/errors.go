package rest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/runtime/worker"
)

// Errors the REST layer raises itself. Like the worker's sentinels they are
// wrapped as "%w: message", and the message is what the client sees.
var (
	// errRouteNotFound is Jersey's answer to an unknown path.
	errRouteNotFound = fmt.Errorf("%w: HTTP 404 Not Found", worker.ErrNotFound)
	// errMethodNotAllowed is Jersey's answer to a known path with another
	// method.
	errMethodNotAllowed = errors.New("HTTP 405 Method Not Allowed")
	// errTimeout: the herder did not answer within the request timeout.
	errTimeout = errors.New("Request timed out")
	// errInterrupted: the request ended (client gone, server stopping)
	// before the herder answered.
	errInterrupted = errors.New("Request interrupted")
	// errBody: the body is not the JSON the endpoint takes. Kafka answers
	// this with 500 (Jackson's exception reaches ConnectExceptionMapper as
	// an unknown exception), and so do we.
	errBody = errors.New("malformed request body")
)

// errorStatuses maps each sentinel to its HTTP status; the first match wins.
var errorStatuses = []struct {
	err    error
	status int
}{
	{errTimeout, http.StatusInternalServerError},
	{errInterrupted, http.StatusInternalServerError},
	{errBody, http.StatusInternalServerError},
	{errMethodNotAllowed, http.StatusMethodNotAllowed},
	{errUnsupportedMediaType, http.StatusUnsupportedMediaType},
	{errReadTimeout, http.StatusRequestTimeout},
	{worker.ErrNotFound, http.StatusNotFound},
	{worker.ErrAlreadyExists, http.StatusConflict},
	{worker.ErrBadRequest, http.StatusBadRequest},
	{worker.ErrConflict, http.StatusConflict},
	{worker.ErrForbidden, http.StatusForbidden},
}

// errorResponse chooses the status and message of an error body; it is the
// one place where errors become HTTP answers. The message is the text the
// error carries after its sentinel ("not found: Connector x not found"
// shows "Connector x not found"); an error with no sentinel is a 500 with
// its whole text, as Kafka shows an unexpected exception's message.
func errorResponse(err error) (status int, message string) {
	for _, m := range errorStatuses {
		if errors.Is(err, m.err) {
			return m.status, afterSentinel(err, m.err)
		}
	}
	return http.StatusInternalServerError, err.Error()
}

func afterSentinel(err, sentinel error) string {
	msg := err.Error()
	prefix := sentinel.Error() + ": "
	if i := strings.Index(msg, prefix); i >= 0 {
		return msg[i+len(prefix):]
	}
	return msg
}

// errorMessage is Kafka's ErrorMessage entity.
type errorMessage struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// writeError answers with the error body and logs the failure: server-side
// failures at Error, timeouts at Warn, client mistakes at Debug.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if redirect, ok := asRedirect(err); ok {
		s.forward(w, r, redirect)
		return
	}
	status, msg := errorResponse(err)
	level := slog.LevelDebug
	switch {
	case errors.Is(err, errTimeout):
		level = slog.LevelWarn
	case status >= http.StatusInternalServerError && !errors.Is(err, errInterrupted) && !errors.Is(err, errBody):
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "REST request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	writeJSON(w, status, errorMessage{ErrorCode: status, Message: msg})
}
