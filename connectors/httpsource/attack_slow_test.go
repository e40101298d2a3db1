package httpsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// rawConn dials addr (host:port) and writes head.
func rawConn(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	if head != "" {
		_, err = io.WriteString(c, head)
		require.NoError(t, err)
	}
	return c
}

// closedWithin reports whether the server closes c within d: a read
// that ends in EOF or a reset, not in the deadline.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // an answer (a 408): read on to the close
		}
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
}

// TestAttackSlowClients: slowloris headers (a byte a second), bodies that
// never finish, a client that never reads its (large _bulk) answer, and a
// thousand idle connections beyond max.connections. Meanwhile a
// legitimate request is served within a bound; the server holds at most
// max.connections sockets whatever the number of clients; the slowloris
// and idle connections are closed (by the header timeout, or sooner to
// make room for new clients when max.connections are open); and once the
// attackers leave, file descriptors and goroutines return to their
// numbers before.
//
// A body that never finishes gives its slot back after
// request.body.timeout.ms (TestAttackSlowBodyReleasesSlot), and idle
// connections are closed to make room for new clients
// (TestAttackIdleConnectionsShed); a client that never reads its answer
// holds its slot until the write timeout.
func TestAttackSlowClients(t *testing.T) {
	const (
		maxConns    = 40
		maxRequests = 4
	)
	idle := 1000
	if heavy() {
		idle = 3000
	}
	_, url, _, _ := startConnector(t, map[string]string{
		"max.connections": fmt.Sprint(maxConns), "max.concurrent.requests": fmt.Sprint(maxRequests),
		"request.timeout.ms": "2000", "max.request.bytes": fmt.Sprint(4 << 20),
	})
	addr := strings.TrimPrefix(url, "http://")
	// Warm up: the producer's connections to the broker are open.
	status, answer, _ := post(t, url+"/", ndjson(-1, 1, 10))
	require.Equal(t, 200, status, answer)
	testClient.CloseIdleConnections()
	fds := openFDs(t)
	goroutines := runtime.NumGoroutine()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	// Slowloris: a header block a byte a second.
	var slow []net.Conn
	for range 8 {
		c := rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		slow, conns = append(slow, c), append(conns, c)
	}
	stopDrip := make(chan struct{})
	var drip sync.WaitGroup
	drip.Add(1)
	go func() {
		defer drip.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stopDrip:
				return
			case <-tick.C:
			}
			for _, c := range slow {
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = c.Write([]byte("a"))
			}
		}
	}()
	defer func() { close(stopDrip); drip.Wait() }()
	// Two bodies that never finish: each holds a slot.
	for range 2 {
		conns = append(conns, rawConn(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[{\"a\":1},"))
	}
	// A _bulk of 100k deletes whose 17 MB answer is never read: its
	// handler blocks writing, holding a slot.
	bulk := bytes.Repeat([]byte(`{"delete":{"_id":"1"}}`+"\n"), 100_000)
	nr := rawConn(t, addr, fmt.Sprintf("POST /idx/_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n", len(bulk)))
	conns = append(conns, nr)
	_, err := nr.Write(bulk)
	require.NoError(t, err)

	// One slot is left: a legitimate request is served, promptly.
	start := time.Now()
	status, answer, _ = post(t, url+"/", ndjson(0, 1, 10))
	assert.Equal(t, 200, status, answer)
	assert.Less(t, time.Since(start), 5*time.Second, "served beside the slow clients")

	// A thousand idle connections: the server accepts up to
	// max.connections; the rest wait in the kernel's queue, holding no
	// descriptor of the process.
	var idleConns []net.Conn
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			break // the accept queue is full: the kernel refuses more
		}
		idleConns, conns = append(idleConns, c), append(conns, c)
	}
	t.Logf("%d idle connections open", len(idleConns))
	time.Sleep(500 * time.Millisecond) // let the server accept what it may
	clientFDs := len(conns) + 1        // the test's own sockets, and one spare for the client's
	serverFDs := openFDs(t) - fds - clientFDs
	t.Logf("descriptors: %d before, %d now, %d of them the clients'", fds, openFDs(t), clientFDs)
	assert.LessOrEqual(t, serverFDs, maxConns+8, "the server holds at most max.connections sockets")

	// The header timeout (10 s) closes the slowloris connections and the
	// idle ones the server accepted, though they keep sending.
	var wg sync.WaitGroup
	closed := make([]bool, len(slow))
	for i, c := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			closed[i] = closedWithin(c, readHeaderTimeout+10*time.Second)
		}()
	}
	wg.Wait()
	for i, ok := range closed {
		assert.True(t, ok, "slowloris connection %d closed by the server", i)
	}

	// The attackers leave: a legitimate request is served at once, and
	// descriptors and goroutines come back.
	for _, c := range conns {
		_ = c.Close()
	}
	conns = nil
	start = time.Now()
	status, answer, _ = post(t, url+"/", ndjson(1, 1, 10))
	assert.Equal(t, 200, status, answer)
	assert.Less(t, time.Since(start), 5*time.Second)
	testClient.CloseIdleConnections()
	if !assert.Eventually(t, func() bool { return openFDs(t) <= fds+2 }, 15*time.Second, 50*time.Millisecond,
		"descriptors back to %d (now %d)", fds, openFDs(t)) {
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			l, _ := os.Readlink("/proc/self/fd/" + e.Name())
			t.Log(e.Name(), l)
		}
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+3 }, 15*time.Second, 50*time.Millisecond,
		"goroutines back to %d (now %d)", goroutines, runtime.NumGoroutine())
}

// TestAttackSlowBodyReleasesSlot: a body that never finishes is answered
// 408 naming request.body.timeout.ms once that has passed, giving its slot of
// max.concurrent.requests back: it held it until the server's 60 s read
// timeout before, so max.concurrent.requests slow clients stopped all
// ingestion.
func TestAttackSlowBodyReleasesSlot(t *testing.T) {
	_, url, _, _ := startConnector(t, map[string]string{"max.concurrent.requests": "1", "request.body.timeout.ms": "1000"})
	c := rawConn(t, strings.TrimPrefix(url, "http://"), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n[{}")
	defer c.Close()
	start := time.Now()
	require.Eventually(t, func() bool {
		status, _, _ := post(t, url+"/", ndjson(0, 1, 10))
		return status == 200
	}, 5*time.Second, 20*time.Millisecond, "a slot came back within request.body.timeout.ms and slack")
	t.Logf("served after %v", time.Since(start))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer, _ := io.ReadAll(c)
	assert.Contains(t, string(answer), "HTTP/1.1 408 ")
	assert.Contains(t, string(answer), "request.body.timeout.ms (1000 ms)")
}

// TestAttackIdleConnectionsShed: connections that send nothing held
// places of max.connections until the header timeout (10 s): with 100 of
// them and max.connections 40 a new client waited 20 s in the accept
// queue. The oldest idle connections are closed when the limit is
// reached, so it is served at once.
func TestAttackIdleConnectionsShed(t *testing.T) {
	_, url, _, _ := startConnector(t, map[string]string{"max.connections": "40"})
	for range 100 {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 5*time.Second)
		if err != nil {
			break
		}
		defer c.Close()
	}
	start := time.Now()
	status, answer, _ := post(t, url+"/", ndjson(0, 1, 10))
	assert.Equal(t, 200, status, answer)
	t.Logf("served after %v", time.Since(start))
	assert.Less(t, time.Since(start), 5*time.Second, "served beside idle connections")
}

// TestAttackUnreadAnswerReleasesSlot: a client that never reads a large
// answer (a _bulk's 100k items, 17 MB) blocks its handler writing; the
// write is bounded by request.timeout.ms from the answer's start, so the
// slot of max.concurrent.requests comes back then, not after the
// server's write timeout (request.timeout.ms × 2 + 70 s).
func TestAttackUnreadAnswerReleasesSlot(t *testing.T) {
	_, url, _, _ := startConnector(t, map[string]string{"max.concurrent.requests": "1", "request.timeout.ms": "1000"})
	bulk := bytes.Repeat([]byte(`{"delete":{"_id":"1"}}`+"\n"), 100_000)
	c := rawConn(t, strings.TrimPrefix(url, "http://"),
		fmt.Sprintf("POST /idx/_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n", len(bulk)))
	defer c.Close()
	_, err := c.Write(bulk)
	require.NoError(t, err)
	start := time.Now()
	require.Eventually(t, func() bool {
		status, _, _ := post(t, url+"/", ndjson(0, 1, 10))
		return status == 200
	}, 5*time.Second, 20*time.Millisecond, "a slot came back within request.timeout.ms and slack")
	t.Logf("served after %v", time.Since(start))
}
