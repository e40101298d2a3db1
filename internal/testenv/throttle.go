package testenv

import (
	"net"
	"sync"
	"testing"
	"time"
)

// ThrottleProxy is a TCP proxy on a free loopback port that forwards each
// connection to a target, limiting the bandwidth of all its connections
// together and delaying every chunk by a latency, both changeable while
// it runs. A test puts it between a client and a real server to play a
// slow network or a throttled broker.
type ThrottleProxy struct {
	// Addr is host:port for clients.
	Addr string

	ln   net.Listener
	wg   sync.WaitGroup
	done chan struct{}

	mu      sync.Mutex
	target  string
	rate    int           // bytes per second, all connections and both directions; 0 for no limit
	delay   time.Duration // added to every chunk, each direction
	next    time.Time     // when the bandwidth is free again
	changed chan struct{} // closed and replaced by Set, waking waiters
	conns   map[net.Conn]struct{}
}

// throttleChunk is the most a proxy reads before it forwards: small, so a
// low rate is smooth.
const throttleChunk = 16 << 10

// Throttle starts a proxy to target limited to bytesPerSec (0: no limit)
// with delay added each way, and returns its address and a function that
// changes both (set(0, 0) lifts the throttle). It stops when the test
// ends.
func Throttle(t testing.TB, target string, bytesPerSec int, delay time.Duration) (addr string, set func(bytesPerSec int, delay time.Duration)) {
	t.Helper()
	p := StartThrottle(t, target, bytesPerSec, delay)
	return p.Addr, p.Set
}

// StartThrottle starts a proxy to target (which SetTarget may give
// later, before the first connection); it stops when the test ends.
func StartThrottle(t testing.TB, target string, bytesPerSec int, delay time.Duration) *ThrottleProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("throttle proxy: %v", err)
	}
	p := &ThrottleProxy{Addr: ln.Addr().String(), ln: ln, done: make(chan struct{}), target: target,
		rate: bytesPerSec, delay: delay, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// StartThrottledBroker starts a broker that advertises a throttle proxy's
// address, so every client that bootstraps from it (the worker's producer
// included) talks to it through the proxy after the first metadata
// request; the proxy starts limited to bytesPerSec with delay.
func StartThrottledBroker(t testing.TB, props map[string]string, bytesPerSec int, delay time.Duration) (*Broker, *ThrottleProxy) {
	t.Helper()
	p := StartThrottle(t, "", bytesPerSec, delay)
	all := map[string]string{}
	for k, v := range props {
		all[k] = v
	}
	all["advertised.listeners"] = "PLAINTEXT://" + p.Addr
	b := StartBroker(t, all)
	p.SetTarget(b.Addr)
	return b, p
}

// SetTarget sets the address new connections are forwarded to.
func (p *ThrottleProxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Set changes the bandwidth (0: no limit) and the latency, for the data
// still in flight too.
func (p *ThrottleProxy) Set(bytesPerSec int, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate, p.delay = bytesPerSec, delay
	p.next = time.Time{}
	close(p.changed)
	p.changed = make(chan struct{})
}

// Close stops the proxy and closes its connections; it is idempotent.
func (p *ThrottleProxy) Close() {
	p.mu.Lock()
	select {
	case <-p.done:
		p.mu.Unlock()
		return
	default:
	}
	close(p.done)
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *ThrottleProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		up, err := net.DialTimeout("tcp", target, 5*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// track records the pair so Close closes it; false when closed already.
func (p *ThrottleProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	default:
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// chunk is data read at a time, due at a time.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies from to to: a reader stamps each chunk with its arrival
// plus the delay, the writer waits for that and for the bandwidth. At
// the end it half-closes to, then closes both once the other way is done.
func (p *ThrottleProxy) pipe(from, to net.Conn) {
	defer p.wg.Done()
	ch := make(chan chunk, 8) // bounds what is buffered per direction
	go func() {
		defer close(ch)
		for {
			b := make([]byte, throttleChunk)
			n, err := from.Read(b)
			if n > 0 {
				p.mu.Lock()
				due := time.Now().Add(p.delay)
				p.mu.Unlock()
				select {
				case ch <- chunk{b[:n], due}:
				case <-p.done:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		if !p.wait(c) {
			break
		}
		if _, err := to.Write(c.b); err != nil {
			break
		}
	}
	if tc, ok := to.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	// Both ways end closed: the reader above stops when from is closed.
	_ = from.Close()
	for range ch {
	}
	p.mu.Lock()
	delete(p.conns, from)
	p.mu.Unlock()
}

// wait sleeps until c is due and its share of the bandwidth is spent
// (the bandwidth is reserved for it first, so even a first chunk takes
// its time), starting over under new settings when Set changes them;
// false when the proxy closed.
func (p *ThrottleProxy) wait(c chunk) bool {
	for {
		p.mu.Lock()
		changed := p.changed
		var until time.Time
		if p.delay > 0 {
			until = c.due
		}
		if p.rate > 0 {
			start := time.Now()
			if p.next.After(start) {
				start = p.next
			}
			end := start.Add(time.Duration(len(c.b)) * time.Second / time.Duration(p.rate))
			p.next = end
			if end.After(until) {
				until = end
			}
		}
		p.mu.Unlock()
		d := time.Until(until)
		if d <= 0 {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
			return true
		case <-changed:
			t.Stop()
		case <-p.done:
			t.Stop()
			return false
		}
	}
}
