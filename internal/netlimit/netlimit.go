// Package netlimit bounds the connections an HTTP server serves at once.
//
// golang.org/x/net/netutil.LimitListener does the same, but its
// connections hide *net.TCPConn's CloseWrite: net/http then cannot
// half-close a connection before closing it, and a client still sending
// (an oversized body or header block) gets a reset instead of the 413 or
// 431 written to it. These connections keep CloseWrite.
package netlimit

import (
	"net"
	"sync"
	"time"
)

// Listen wraps l so that at most n of its connections are open at once;
// Accept waits for one to close (more clients wait in the kernel's accept
// queue). Accept errors pass through unchanged, so net/http still retries
// a temporary one (EMFILE) with backoff.
func Listen(l net.Listener, n int, opts ...Option) net.Listener {
	ln := &listener{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
	for _, o := range opts {
		o(ln)
	}
	return ln
}

// Option changes how a listener of Listen waits.
type Option func(*listener)

// fullRetry is how often a waiting Accept calls the OnFull function again.
const fullRetry = 100 * time.Millisecond

// OnFull has Accept call full when all n connections are open and it
// must wait for one to close, then again every 100 ms while it still
// waits: a server can close idle connections then to make room, so that
// connections that send nothing cannot keep new clients in the accept
// queue. full runs on Accept's goroutine and should not block.
func OnFull(full func()) Option {
	return func(l *listener) { l.full = full }
}

type listener struct {
	net.Listener
	slots chan struct{}
	done  chan struct{}
	once  sync.Once
	full  func() // called while Accept waits for a slot, or nil
}

func (l *listener) Accept() (net.Conn, error) {
	if err := l.acquire(); err != nil {
		return nil, err
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	lc := &conn{Conn: c, release: func() { <-l.slots }}
	if tc, ok := c.(closeWriter); ok {
		return &tcpConn{conn: lc, cw: tc}, nil
	}
	return lc, nil
}

// acquire takes a slot, waiting for one (calling full meanwhile) until
// the listener is closed.
func (l *listener) acquire() error {
	if l.full != nil {
		select {
		case l.slots <- struct{}{}:
			return nil
		default:
		}
		t := time.NewTicker(fullRetry)
		defer t.Stop()
		for {
			l.full()
			select {
			case l.slots <- struct{}{}:
				return nil
			case <-l.done:
				return net.ErrClosed
			case <-t.C:
			}
		}
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-l.done:
		return net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// conn gives its slot back once, on the first Close.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

type closeWriter interface{ CloseWrite() error }

// tcpConn is a conn whose underlying connection can half-close.
type tcpConn struct {
	*conn
	cw closeWriter
}

// CloseWrite shuts down the writing side, as *net.TCPConn's does.
func (c *tcpConn) CloseWrite() error { return c.cw.CloseWrite() }
