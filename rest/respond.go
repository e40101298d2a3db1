package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// maxBodyBytes bounds a request body; configs are small.
const maxBodyBytes = 16 << 20

// call runs fn under the request timeout. fn runs on a goroutine of its own
// so that a herder which ignores ctx holds the client no longer than the
// timeout; the goroutine is tracked, and Run waits for it.
func call[T any](s *Server, r *http.Request, timeout time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	s.calls.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("herder call panicked", "panic", p, "stack", string(debug.Stack()))
				done <- result{err: fmt.Errorf("herder panicked: %v", p)}
			}
		}()
		v, err := fn(ctx)
		done <- result{v, err}
	})
	select {
	case res := <-done:
		if res.err != nil && ctx.Err() != nil &&
			(errors.Is(res.err, context.DeadlineExceeded) || errors.Is(res.err, context.Canceled)) {
			return res.v, deadlineError(r)
		}
		return res.v, res.err
	case <-ctx.Done():
		var zero T
		return zero, deadlineError(r)
	}
}

// deadlineError tells a timeout from a request that ended first.
func deadlineError(r *http.Request) error {
	if r.Context().Err() != nil {
		return errInterrupted
	}
	return errTimeout
}

// herderCall runs fn under the request timeout.
func herderCall[T any](s *Server, r *http.Request, fn func(context.Context) (T, error)) (T, error) {
	return call(s, r, s.opts.RequestTimeout, fn)
}

// herderDo is herderCall for calls that return only an error.
func herderDo(s *Server, r *http.Request, fn func(context.Context) error) error {
	_, err := herderCall(s, r, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// writeJSON answers with status and v encoded as JSON.
// Like Jackson it leaves <, > and & unescaped.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		// The entities always encode; this is a programming error.
		status = http.StatusInternalServerError
		body, _ = encodeJSON(errorMessage{ErrorCode: status, Message: fmt.Sprintf("encode response: %v", err)})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// readJSON decodes the request body into v. An empty body leaves v alone
// and reports false, as Jackson reads no content as null. Unknown fields
// are ignored and numbers in untyped values decode as json.Number.
func readJSON(r *http.Request, v any) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return false, fmt.Errorf("%w: read request body: %w", errBody, err)
	}
	if len(body) > maxBodyBytes {
		return false, fmt.Errorf("%w: request body is larger than %d bytes", errBody, maxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return false, fmt.Errorf("%w: Cannot parse request body as JSON: %w", errBody, err)
	}
	return true, nil
}

// pathParam returns a path parameter, unescaped.
func pathParam(r *http.Request, key string) string {
	v := chi.URLParam(r, key)
	if r.URL.RawPath != "" { // chi matched the escaped path
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// boolQuery reads a boolean query parameter as Jersey does: absent or
// empty is def, "true" in any case is true, anything else false.
func boolQuery(r *http.Request, key string, def bool) bool {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def
	}
	return strings.EqualFold(v, "true")
}

// stripSlash routes "/connectors/" as "/connectors", as Jersey does.
func stripSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		if rctx := chi.RouteContext(r.Context()); rctx != nil && len(path) > 1 && strings.HasSuffix(path, "/") {
			rctx.RoutePath = "/" + strings.Trim(path, "/")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer answers a panicking handler with a 500 error body.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { // net/http's own abort: let it through
				panic(p)
			}
			s.log.Error("REST handler panicked", "panic", p, "stack", string(debug.Stack()))
			s.writeError(w, r, fmt.Errorf("handler panicked: %v", p))
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request at Debug.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.Debug("REST request", "method", r.Method, "path", r.URL.RequestURI(),
			"status", sw.status, "duration", time.Since(start))
	})
}
