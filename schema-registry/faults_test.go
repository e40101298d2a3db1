package registry

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/log/faultfs"
	"github.com/sluicehq/sluice/internal/testenv"
)

// Real faults for the store tests: a broker whose log lives on faultfs
// (a disk that fails writes on demand, as a full one does), and a TCP
// proxy in front of a broker that can hold the clients' Produce requests.

// faultBroker is an in-process broker with its log on a faultfs.FS.
type faultBroker struct {
	Addr string
	fs   *faultfs.FS
	dir  string
	stop func()
}

// startFaultBroker serves the log in dir on fs at listen (host:port, port
// 0 for a free one) until stopped or the test ends.
func startFaultBroker(t *testing.T, fs *faultfs.FS, dir, listen string) *faultBroker {
	t.Helper()
	cfg, err := broker.NewConfig(map[string]string{"listeners": "PLAINTEXT://" + listen, "log.dirs": dir})
	require.NoError(t, err)
	store, err := log.Open(log.Options{Dir: dir, FS: testenv.LogFS(fs), Defaults: cfg.TopicDefaults})
	require.NoError(t, err)
	srv, err := broker.New(cfg, store, nil)
	require.NoError(t, err)
	addr, err := srv.Listen()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { store.Run(ctx) })
	wg.Go(func() { srv.Groups().Run(ctx) })
	wg.Go(func() { srv.Txns().Run(ctx) })
	wg.Go(func() { _ = srv.Run(ctx) })
	b := &faultBroker{Addr: addr.String(), fs: fs, dir: dir}
	var once sync.Once
	b.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			_ = store.Close() // may report the injected write error
		})
	}
	t.Cleanup(b.stop)
	return b
}

// restart stops the broker and serves the same log on the same address.
func (b *faultBroker) restart(t *testing.T) *faultBroker {
	t.Helper()
	b.stop()
	return startFaultBroker(t, b.fs, b.dir, b.Addr)
}

// produceHolder is a TCP proxy to a broker that, while holding, keeps
// every Produce request it receives instead of passing it on: to the
// client the request is in flight with an unknown outcome. Brokers behind
// it must advertise the proxy's address so clients stay on it.
type produceHolder struct {
	Addr string

	mu      sync.Mutex
	target  string // the broker, set once it runs
	holding bool
	release chan struct{} // closed when holding ends
}

func startProduceHolder(t *testing.T) *produceHolder {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &produceHolder{Addr: l.Addr().String(), release: make(chan struct{})}
	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		l.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		p.hold(false)
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			conns.Store(client, true)
			conns.Store(server, true)
			wg.Go(func() { _, _ = io.Copy(client, server); client.Close() })
			wg.Go(func() { p.forwardRequests(server, client); server.Close() })
		}
	})
	return p
}

// setTarget names the broker to forward to.
func (p *produceHolder) setTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
}

// hold starts or ends holding Produce requests.
func (p *produceHolder) hold(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on && !p.holding {
		p.release = make(chan struct{})
	}
	if !on && p.holding {
		close(p.release)
	}
	p.holding = on
}

// forwardRequests copies request frames from client to server, waiting
// before a Produce request (API key 0) while holding.
func (p *produceHolder) forwardRequests(server, client net.Conn) {
	for {
		var size [4]byte
		if _, err := io.ReadFull(client, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(client, frame); err != nil {
			return
		}
		if len(frame) >= 2 && binary.BigEndian.Uint16(frame) == 0 {
			p.mu.Lock()
			holding, release := p.holding, p.release
			p.mu.Unlock()
			if holding {
				<-release
			}
		}
		if _, err := server.Write(append(size[:], frame...)); err != nil {
			return
		}
	}
}
