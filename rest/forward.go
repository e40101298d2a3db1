package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sluicehq/sluice/runtime/worker"
)

// Requests a worker cannot serve itself (writes on a follower, a task
// restart on another worker) are forwarded, as Kafka's
// HerderRequestHandler does: the first worker adds forward=true, which
// allows one more hop; a request arriving with forward=false that would
// need another hop gets 409.

type bodyKey struct{}

// retryKey counts how often a request was served again after forwarding
// failed.
type retryKey struct{}

// maxForwardRetries × forwardRetryDelay bounds how long a request waits
// for a dead leader to be replaced (a session timeout plus a rebalance).
const (
	maxForwardRetries = 40
	forwardRetryDelay = 500 * time.Millisecond
)

// forwardClient sends forwarded requests; the request context bounds them.
var forwardClient = &http.Client{Timeout: 90 * time.Second}

// errForwardLoop answers a request that would need a third hop.
var errForwardLoop = fmt.Errorf("%w: Cannot complete request because of a conflicting operation (e.g. worker rebalance)", worker.ErrConflict)

// forward re-issues r at the worker redirect names and relays its answer.
func (s *Server) forward(w http.ResponseWriter, r *http.Request, redirect *worker.RedirectError) {
	q := r.URL.Query()
	next := "true"
	switch q.Get("forward") {
	case "":
	case "true":
		next = "false"
	default:
		s.writeError(w, r, errForwardLoop)
		return
	}
	q.Set("forward", next)
	target, err := url.Parse(redirect.URL)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("forward to %q: %w", redirect.URL, err))
		return
	}
	target.Path = r.URL.Path
	target.RawPath = r.URL.RawPath
	target.RawQuery = q.Encode()
	body, _ := r.Context().Value(bodyKey{}).([]byte)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := forwardClient.Do(req)
	if err != nil {
		// The target may have just died: once the group noticed, another
		// worker leads. Serve the request again (bounded) rather than fail.
		if attempt, _ := r.Context().Value(retryKey{}).(int); attempt < maxForwardRetries && r.Context().Err() == nil {
			s.log.Warn("forwarding failed; retrying", "to", redirect.URL, "attempt", attempt+1, "err", err)
			select {
			case <-time.After(forwardRetryDelay):
			case <-r.Context().Done():
			}
			// A fresh route context makes chi route the request again.
			ctx := context.WithValue(context.WithValue(r.Context(), retryKey{}, attempt+1), chi.RouteCtxKey, nil)
			retry := r.WithContext(ctx)
			retry.Body = io.NopCloser(bytes.NewReader(body))
			s.handler.ServeHTTP(w, retry)
			return
		}
		s.writeError(w, r, fmt.Errorf("%w: forward %s %s to %s: %v", worker.ErrConflict, r.Method, r.URL.Path, redirect.URL, err))
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Location"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	s.log.Debug("REST request forwarded", "method", r.Method, "path", r.URL.Path, "to", redirect.URL, "status", resp.StatusCode)
}

// asRedirect reports whether err asks for forwarding.
func asRedirect(err error) (*worker.RedirectError, bool) {
	var redirect *worker.RedirectError
	ok := errors.As(err, &redirect)
	return redirect, ok
}

// putTaskConfigs answers the internal POST /connectors/{name}/tasks: the
// worker running a connector hands its task configs to the leader.
func (s *Server) putTaskConfigs(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "connector")
	var configs []map[string]string
	if _, err := readJSON(r, &configs); err != nil {
		s.writeError(w, r, err)
		return
	}
	err := herderDo(s, r, func(ctx context.Context) error { return s.herder.PutTaskConfigs(ctx, name, configs) })
	s.answerEmpty(w, r, http.StatusNoContent, err)
}
