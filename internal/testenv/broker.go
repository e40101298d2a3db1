package testenv

import (
	"context"
	"log/slog"
	"maps"
	"net"
	"os"
	"testing"

	"github.com/sluicehq/sluice/broker"
)

// Broker is an in-process Sluice broker on a free loopback port with its own
// data directory.
type Broker struct {
	// Addr is host:port for clients.
	Addr string
	// Dir is the data directory.
	Dir   string
	props map[string]string
	stop  context.CancelFunc
	done  chan error
}

// StartBroker starts a broker with extra server.properties keys; it stops
// when the test ends.
func StartBroker(t testing.TB, props map[string]string) *Broker {
	t.Helper()
	return StartBrokerIn(t, t.TempDir(), props)
}

// StartBrokerIn starts a broker keeping its data in dir (a small tmpfs the
// test mounted, say); it stops when the test ends.
func StartBrokerIn(t testing.TB, dir string, props map[string]string) *Broker {
	t.Helper()
	b := &Broker{Dir: dir, props: maps.Clone(props)}
	if b.props == nil {
		b.props = map[string]string{}
	}
	b.start(t, "127.0.0.1:0")
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *Broker) start(t testing.TB, listen string) {
	t.Helper()
	props := maps.Clone(b.props)
	props["listeners"] = "PLAINTEXT://" + listen
	props["log.dirs"] = b.Dir
	cfg, err := broker.NewConfig(props)
	if err != nil {
		t.Fatalf("broker config: %v", err)
	}
	var logger *slog.Logger
	if os.Getenv("SLUICE_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	b.done = make(chan error, 1)
	go func() {
		b.done <- broker.Serve(ctx, cfg, logger, func(srv *broker.Server) { listening <- srv.Addr() })
	}()
	select {
	case a := <-listening:
		b.Addr = a.String()
	case err := <-b.done:
		cancel()
		t.Fatalf("start broker: %v", err)
	}
	b.stop = cancel
}

// Stop shuts the broker down cleanly; it is idempotent.
func (b *Broker) Stop(t testing.TB) {
	t.Helper()
	if b.stop == nil {
		return
	}
	b.stop()
	b.stop = nil
	if err := <-b.done; err != nil {
		t.Errorf("broker stopped with error: %v", err)
	}
}

// Restart stops the broker and starts it again on the same address and data
// directory.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Stop(t)
	b.start(t, b.Addr)
}
