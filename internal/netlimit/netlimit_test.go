package netlimit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{
		Handler:        http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		MaxHeaderBytes: 1 << 10,
	}
	go srv.Serve(Listen(ln, n))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestConnectionsAreBounded: a third connection is served only once one
// of the first two closes.
func TestConnectionsAreBounded(t *testing.T) {
	addr := serve(t, 2)
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		open = append(open, c)
	}
	client := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := client.Get("http://" + addr)
	require.Error(t, err, "a third connection waits")
	open[0].Close()
	require.Eventually(t, func() bool {
		resp, err := client.Get("http://" + addr)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond)
}

// TestErrorAnswerReachesAClientStillSending: the server's 431 to a client
// that sent more header bytes than it read arrives, instead of a reset
// (net/http half-closes through CloseWrite before closing).
func TestErrorAnswerReachesAClientStillSending(t *testing.T) {
	addr := serve(t, 4)
	for range 3 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 256<<10)+"\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body) // to the FIN: without it, a reset
		require.NoError(t, err)
		resp.Body.Close()
		c.Close()
		assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	}
}

// TestOnFullCalledWhileWaiting: with every slot taken, Accept calls the
// OnFull function (again while it waits), and closing a connection there
// lets the waiting client in.
func TestOnFullCalledWhileWaiting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	conns := make(chan net.Conn, 4)
	calls := make(chan struct{}, 100)
	l := Listen(ln, 1, OnFull(func() {
		select {
		case calls <- struct{}{}:
		default:
		}
		if len(calls) == 3 { // the third call makes room
			(<-conns).Close()
		}
	}))
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer c.Close()
	}
	require.Eventually(t, func() bool { return len(conns) == 1 && len(calls) >= 3 }, 5*time.Second, 10*time.Millisecond,
		"the second connection accepted once the first was closed on the third call")
}
