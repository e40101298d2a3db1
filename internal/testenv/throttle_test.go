package testenv

import (
	"bytes"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer accepts connections and echoes what they send.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// TestThrottleLimitsBandwidthAndDelays: through the proxy, 256 KiB echoed
// at 512 KiB/s (both directions counted) takes about a second, a one-byte
// round trip takes twice the delay, and set(0, 0) lifts both.
func TestThrottleLimitsBandwidthAndDelays(t *testing.T) {
	addr, set := Throttle(t, echoServer(t), 512<<10, 0)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	data := bytes.Repeat([]byte("x"), 256<<10)
	start := time.Now()
	go func() { _, _ = c.Write(data) }()
	got := make([]byte, len(data))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	took := time.Since(start)
	assert.Greater(t, took, 800*time.Millisecond, "512 KiB through at 512 KiB/s")
	assert.Less(t, took, 5*time.Second)
	assert.Equal(t, data, got)

	set(0, 150*time.Millisecond)
	start = time.Now()
	_, err = c.Write([]byte("p"))
	require.NoError(t, err)
	_, err = io.ReadFull(c, got[:1])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the delay both ways")

	set(0, 0)
	start = time.Now()
	go func() { _, _ = c.Write(data) }()
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 500*time.Millisecond, "lifted")
}

// TestThrottleSetWakesWaiters: data held back by a rate of 1 B/s flows
// as soon as the throttle is lifted.
func TestThrottleSetWakesWaiters(t *testing.T) {
	addr, set := Throttle(t, echoServer(t), 1, 0)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(bytes.Repeat([]byte("y"), 4096))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "held back at 1 B/s")
	set(0, 0)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(c, make([]byte, 4096))
	require.NoError(t, err)
}
