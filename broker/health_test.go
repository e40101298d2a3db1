package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer collects log lines written from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// flakyListener fails Accept with what the test sends on errs, and hands
// out the connections sent on conns.
type flakyListener struct {
	errs   chan error
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *flakyListener) Accept() (net.Conn, error) {
	select {
	case err := <-l.errs:
		return nil, err
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *flakyListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9092} }

func TestAcceptErrorsAreRetriedAndReported(t *testing.T) {
	dir := t.TempDir()
	cfg, err := NewConfig(map[string]string{"log.dirs": dir})
	require.NoError(t, err)
	store, err := log.Open(log.Options{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	logs := &syncBuffer{}
	srv, err := New(cfg, store, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	ln := &flakyListener{errs: make(chan error), conns: make(chan net.Conn), closed: make(chan struct{})}
	srv.ln = ln
	require.Error(t, srv.Healthy(), "not serving before Run")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	require.Eventually(t, func() bool { return srv.Healthy() == nil }, 5*time.Second, time.Millisecond)

	emfile := fmt.Errorf("accept tcp: %w", syscall.EMFILE)
	for range 5 {
		ln.errs <- emfile // each is received only after the previous backoff
	}
	err = srv.Healthy()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "accept failing since")
	assert.Contains(t, err.Error(), "too many open files")
	assert.Equal(t, 1, strings.Count(logs.String(), "cannot accept"), "rate-limited: %s", logs.String())
	assert.Contains(t, logs.String(), "level=WARN")

	// The next accepted connection clears it.
	a, b := net.Pipe()
	defer b.Close()
	ln.conns <- a
	require.Eventually(t, func() bool { return srv.Healthy() == nil }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "accepting connections again") }, 5*time.Second, time.Millisecond)

	cancel()
	require.NoError(t, <-done)
	require.ErrorContains(t, srv.Healthy(), "stopped")
}
