package rest

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dialRaw opens a TCP connection to the server at base (http://host:port).
func dialRaw(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// readUntilClosed reads what the server sends until it closes the
// connection, failing the test if that takes longer than within.
func readUntilClosed(t *testing.T, c net.Conn, within time.Duration) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(within)))
	b, err := io.ReadAll(c)
	require.NoError(t, err, "the server did not close the connection within %s; got %q", within, b)
	return string(b)
}

// TestSlowBodyIsCut: a client that sends its headers and one byte of body,
// then stalls (slowloris), gets 408 and loses the connection once the read
// timeout passes, instead of holding a connection and a goroutine for good.
func TestSlowBodyIsCut(t *testing.T) {
	s := New(newMemHerder(), Options{Listen: "127.0.0.1:0", ReadTimeout: 300 * time.Millisecond})
	base, _ := startServer(t, s)
	c := dialRaw(t, base)
	start := time.Now()
	_, err := io.WriteString(c, "POST /connectors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
	require.NoError(t, err)
	got := readUntilClosed(t, c, 5*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.True(t, strings.HasPrefix(got, "HTTP/1.1 408 "), got)
	assert.Contains(t, got, `{"error_code":408,"message":"Request body not received within 300ms"}`)
}

// TestSlowHeadersAreCut: a client that never finishes its headers is
// disconnected after the read timeout.
func TestSlowHeadersAreCut(t *testing.T) {
	s := New(newMemHerder(), Options{Listen: "127.0.0.1:0", ReadTimeout: 300 * time.Millisecond})
	base, _ := startServer(t, s)
	c := dialRaw(t, base)
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	require.NoError(t, err)
	readUntilClosed(t, c, 5*time.Second)
}

// TestIdleConnectionIsClosed: a keep-alive connection is closed after the
// idle timeout.
func TestIdleConnectionIsClosed(t *testing.T) {
	s := New(newMemHerder(), Options{Listen: "127.0.0.1:0", IdleTimeout: 300 * time.Millisecond})
	base, _ := startServer(t, s)
	c := dialRaw(t, base)
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	readUntilClosed(t, c, 5*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
}

// slowPauseHerder pauses after a delay, whatever its context.
type slowPauseHerder struct {
	slowHerder
}

func (h slowPauseHerder) PauseConnector(ctx context.Context, name string) error {
	time.Sleep(h.delay)
	return h.memHerder.PauseConnector(ctx, name)
}

// TestHerderCallOutlivesReadTimeout: the read timeout bounds reading the
// request, not answering it: a herder call longer than it (up to the
// request timeout) still gets its answer, with or without a body.
func TestHerderCallOutlivesReadTimeout(t *testing.T) {
	h := slowPauseHerder{slowHerder{newMemHerder(), 700 * time.Millisecond}}
	s := New(h, Options{Listen: "127.0.0.1:0", ReadTimeout: 200 * time.Millisecond})
	base, _ := startServer(t, s)

	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	req, err := http.NewRequest(http.MethodPut, base+"/connectors/src/pause", strings.NewReader("{}"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, string(body))
}

// TestHeadersAreBounded: headers past MaxHeaderBytes are refused with 431.
func TestHeadersAreBounded(t *testing.T) {
	s := New(newMemHerder(), Options{Listen: "127.0.0.1:0"})
	base, _ := startServer(t, s)
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", 2*MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

// TestConnectionsAreBounded: past MaxConnections, a new client waits in the
// accept queue until a connection closes, so a flood of silent clients
// holds no more file descriptors than that.
func TestConnectionsAreBounded(t *testing.T) {
	s := New(newMemHerder(), Options{Listen: "127.0.0.1:0", MaxConnections: 2})
	base, _ := startServer(t, s)
	silent := []net.Conn{dialRaw(t, base), dialRaw(t, base)}

	client := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := client.Get(base + "/")
	require.Error(t, err, "a third connection is not served while two are open")

	silent[0].Close()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = client.Get(base + "/")
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
