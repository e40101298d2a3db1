package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
)

// mqttServer is the listeners of one task and the connections they
// accepted. Each connection runs a read loop (which decodes packets,
// hands the messages to the queue and never waits for the broker) and a
// writer (which sends the acknowledgements in the order the messages
// came, each once its records are acknowledged): acknowledgements are
// pipelined, so one client with many messages in flight keeps the
// broker's batches full.
type mqttServer struct {
	c   *serverConfig
	q   *kit.AckQueue
	log *slog.Logger
	tls *tls.Config // nil when no listener uses TLS

	ctx    context.Context // ends when the server closes
	cancel context.CancelFunc

	lns   []net.Listener
	addrs []string // the bound listeners, as URLs
	wg    sync.WaitGroup

	// duplicates counts the messages received with the DUP flag (a
	// client's resend), reported in the task's status.
	duplicates atomic.Int64

	mu      sync.Mutex
	conns   map[*mqttConn]struct{} // every open connection
	clients map[string]*mqttConn   // connected clients by client id
	closed  bool
}

func newMQTTServer(c *serverConfig, q *kit.AckQueue, log *slog.Logger) *mqttServer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &mqttServer{c: c, q: q, log: log, ctx: ctx, cancel: cancel,
		conns: map[*mqttConn]struct{}{}, clients: map[string]*mqttConn{}}
}

// listen binds every listener, or none: a bind error (an address in use)
// closes what was bound and names the listener. It starts the accept
// loops; close stops them.
func (s *mqttServer) listen() error {
	if anyTLS(s.c.listeners) {
		var err error
		if s.tls, err = s.c.tls.Server(); err != nil {
			return fmt.Errorf("listeners: %w", err)
		}
	}
	for _, l := range s.c.listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, o := range s.lns {
				_ = o.Close()
			}
			s.lns, s.addrs = nil, nil
			return fmt.Errorf("listeners: cannot listen on %s: %w", l.Addr, err)
		}
		scheme := "mqtt"
		if l.TLS {
			scheme = "mqtts"
		}
		s.lns = append(s.lns, ln)
		s.addrs = append(s.addrs, scheme+"://"+ln.Addr().String())
	}
	for i, ln := range s.lns {
		s.wg.Add(1)
		go s.accept(ln, s.c.listeners[i].TLS, s.addrs[i])
		s.log.Info("MQTT server listening", "listener", s.addrs[i])
	}
	return nil
}

// accept serves one listener until it is closed.
func (s *mqttServer) accept(ln net.Listener, useTLS bool, addr string) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// A temporary error (EMFILE): back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "listener", addr, "error", err, "delay", delay)
			select {
			case <-time.After(delay):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		if useTLS {
			nc = tls.Server(nc, s.tls)
		}
		c := newMQTTConn(s, nc)
		if !s.admit(c) {
			_ = nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve()
			s.remove(c)
		}()
	}
}

// admit registers c unless max.connections are open and none of them is
// still waiting for its CONNECT; when one is, the oldest such is closed
// to make room, so that silent sockets cannot lock clients out.
func (s *mqttServer) admit(c *mqttConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if len(s.conns) >= s.c.maxConns {
		var oldest *mqttConn
		for o := range s.conns {
			if !o.connected.Load() && !o.shed && (oldest == nil || o.since.Before(oldest.since)) {
				oldest = o
			}
		}
		if oldest == nil {
			return false
		}
		oldest.shed = true
		go func() { _ = oldest.nc.Close() }() // a TLS close may block
	}
	s.conns[c] = struct{}{}
	return true
}

// register makes c the connection of its client id, closing the
// connection that held it (MQTT's session takeover).
func (s *mqttServer) register(c *mqttConn) {
	s.mu.Lock()
	old := s.clients[c.clientID]
	s.clients[c.clientID] = c
	s.mu.Unlock()
	if old != nil && old != c {
		old.takenOver()
	}
}

// clientCount returns how many clients are connected.
func (s *mqttServer) clientCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

func (s *mqttServer) remove(c *mqttConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if s.clients[c.clientID] == c {
		delete(s.clients, c.clientID)
	}
}

// close stops the listeners and ends every connection, and returns once
// their goroutines have exited. Acknowledgements not yet sent are not
// sent: the clients resend those messages.
func (s *mqttServer) close() {
	s.cancel()
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		go func() { _ = c.nc.Close() }()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
