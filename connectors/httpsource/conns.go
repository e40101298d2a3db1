package httpsource

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// idleConns tracks one listener's connections that are not serving a
// request (new ones that have sent nothing yet, kept-alive ones between
// requests), so that when max.connections are open the oldest of them
// can be closed to make room: else connections that send nothing keep
// new clients in the accept queue until the header or idle timeout.
type idleConns struct {
	mu    sync.Mutex
	since map[net.Conn]time.Time // when each became new or idle
}

func newIdleConns() *idleConns { return &idleConns{since: map[net.Conn]time.Time{}} }

// track is the http.Server's ConnState hook.
func (ic *idleConns) track(c net.Conn, st http.ConnState) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	switch st {
	case http.StateNew, http.StateIdle:
		ic.since[c] = time.Now()
	default:
		delete(ic.since, c)
	}
}

// shed closes the connection idle for longest, if any; the listener's
// Accept calls it when every connection slot is taken. The close runs
// apart, as a TLS connection's close_notify may wait for a client that
// does not read.
func (ic *idleConns) shed() {
	ic.mu.Lock()
	var oldest net.Conn
	var at time.Time
	for c, t := range ic.since {
		if oldest == nil || t.Before(at) {
			oldest, at = c, t
		}
	}
	if oldest != nil {
		delete(ic.since, oldest)
	}
	ic.mu.Unlock()
	if oldest != nil {
		go func() { _ = oldest.Close() }()
	}
}
