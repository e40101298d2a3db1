package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// What one client may hold. Kafka's Jetty closes a connection idle for 30 s
// and has no other read limit; these bound what a slow or hostile client
// can take: an fd, a goroutine and at most maxBodyBytes for at most
// ReadTimeout while it sends a request, IdleTimeout between requests.
// Kafka has no worker keys for them; they are Options for an embedding
// process and for tests.
const (
	// DefaultReadTimeout bounds reading a request's headers and body.
	DefaultReadTimeout = 30 * time.Second
	// DefaultIdleTimeout bounds a keep-alive connection between requests
	// (Jetty's default idle timeout).
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxConnections bounds the connections served at once; more
	// wait in the kernel's accept queue, so a flood of slow clients cannot
	// take the file descriptors the broker sharing the process needs.
	DefaultMaxConnections = 256
	// MaxHeaderBytes bounds a request's headers (net/http's default is
	// 1 MiB; no Connect request needs more than a few KiB).
	MaxHeaderBytes = 64 << 10
	// forwardAllowance is how much longer than the request timeout a
	// request may take in all: a forwarded request waits for the other
	// worker's own herder call, bounded by the same timeout.
	forwardAllowance = 15 * time.Second
	// writeAllowance is how long after the handler's deadline its answer
	// may still be written.
	writeAllowance = 5 * time.Second
)

// errReadTimeout: the client did not send its body within ReadTimeout.
var errReadTimeout = errors.New("request body not received in time")

// keepBody reads the body of a write request before routing, bounded in
// size and by the server's ReadTimeout, and keeps it for forwarding.
// (net/http lifts the read deadline once the body is in, so a herder call
// may take longer than ReadTimeout.)
func (s *Server) keepBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			s.bodyReadFailed(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey{}, body)))
	})
}

// bodyReadFailed answers a request whose body could not be read: 408 when
// the client was too slow, else a malformed body. The connection is closed.
func (s *Server) bodyReadFailed(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Connection", "close")
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.writeError(w, r, fmt.Errorf("%w: Request body not received within %s", errReadTimeout, s.opts.ReadTimeout))
		return
	}
	s.writeError(w, r, fmt.Errorf("%w: read request body: %w", errBody, err))
}
