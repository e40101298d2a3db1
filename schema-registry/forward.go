package registry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// forwardHeader marks a forwarded request so the receiver never forwards
// it again (two instances disagreeing briefly must not loop).
const forwardHeader = "X-Sluice-Registry-Forwarded"

// forwardTimeout bounds waiting for a primary and the forwarded request.
const forwardTimeout = 30 * time.Second

// maxForwardedAnswer bounds the primary's answer copied back (the largest
// is a deleted subject's version list).
const maxForwardedAnswer = 16 << 20

// forwardWrite sends a write to the primary when this instance is not
// it, copies the answer back, and reports whether it did. Without an
// elector (no listener) every write is local.
func (s *Server) forwardWrite(w http.ResponseWriter, r *http.Request) bool {
	e := s.elector.Load()
	if e == nil || r.Header.Get(forwardHeader) != "" {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	primary, err := e.current(ctx)
	if err != nil {
		writeError(w, err)
		return true
	}
	if primary == e.self.URL {
		return false
	}
	// Read the (size-limited) body first, so an oversized one is refused
	// here with 413 rather than cut off on its way to the primary.
	in, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, bodyError(err))
		return true
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, strings.TrimSuffix(primary, "/")+r.URL.RequestURI(), bytes.NewReader(in))
	if err != nil {
		writeError(w, newAPIError(codeForwardingFailed, "Error while forwarding the request to the leader: %v", err))
		return true
	}
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	req.Header.Set(forwardHeader, "1")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		writeError(w, newAPIError(codeForwardingFailed, "Error while forwarding the request to the leader: %v", err))
		return true
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardedAnswer))
	if err != nil {
		writeError(w, newAPIError(codeForwardingFailed, "Error while reading the leader's answer: %v", err))
		return true
	}
	// Read the primary's write back so this instance's next read sees it.
	// The write is done: this waits for the topic to be read, which the
	// store timeout (a bound on writes) is too short for on a loaded
	// machine; the forward's own deadline bounds it.
	if resp.StatusCode < 300 {
		if err := s.store.readToEnd(ctx); err != nil {
			s.log.Warn("read back forwarded write", "error", err)
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return true
}
