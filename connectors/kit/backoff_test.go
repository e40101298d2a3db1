package kit

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestBackoffDelay(t *testing.T) {
	exact := Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 3, Jitter: -1}
	for attempt, want := range []time.Duration{10, 30, 90, 100, 100} {
		assert.Equal(t, want*time.Millisecond, exact.Delay(attempt), "attempt %d", attempt)
	}
	assert.Equal(t, 100*time.Millisecond, exact.Delay(1000), "a huge attempt count stays at the cap")

	jittered := Backoff{Initial: time.Second, Max: time.Minute, Jitter: 0.5}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := jittered.Delay(2) // 4s before jitter
		require.GreaterOrEqual(t, d, 2*time.Second)
		require.LessOrEqual(t, d, 4*time.Second)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 100, "jitter spreads the delays")

	var zero Backoff
	d := zero.Delay(0)
	assert.True(t, d > 80*time.Millisecond && d <= 100*time.Millisecond, "defaults: 100ms less up to 20%%, got %v", d)
	assert.LessOrEqual(t, zero.Delay(50), 30*time.Second)
}

func TestSleep(t *testing.T) {
	require.NoError(t, Sleep(context.Background(), 5*time.Millisecond))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, Sleep(cancelled, 0), "no wait asked, none done")

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
}

func TestRetry(t *testing.T) {
	fast := Backoff{Initial: time.Millisecond, Max: 2 * time.Millisecond}
	transient := connect.Retriable(errors.New("busy"))

	t.Run("until success", func(t *testing.T) {
		calls, notified := 0, 0
		err := Retry(context.Background(), fast, func(context.Context) error {
			if calls++; calls < 4 {
				return transient
			}
			return nil
		}, func(err error, wait time.Duration) {
			notified++
			assert.ErrorIs(t, err, connect.ErrRetriable)
			assert.LessOrEqual(t, wait, 2*time.Millisecond)
		})
		require.NoError(t, err)
		assert.Equal(t, 4, calls)
		assert.Equal(t, 3, notified)
	})
	t.Run("permanent error", func(t *testing.T) {
		calls := 0
		permanent := errors.New("bad request")
		err := Retry(context.Background(), fast, func(context.Context) error { calls++; return permanent }, nil)
		assert.ErrorIs(t, err, permanent)
		assert.Equal(t, 1, calls)
	})
	t.Run("max elapsed", func(t *testing.T) {
		b := fast
		b.MaxElapsed = 30 * time.Millisecond
		start := time.Now()
		err := Retry(context.Background(), b, func(context.Context) error { return transient }, nil)
		assert.ErrorIs(t, err, transient)
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		err := Retry(ctx, Backoff{Initial: time.Hour}, func(context.Context) error { return transient }, nil)
		assert.ErrorIs(t, err, transient)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestIsRetriable(t *testing.T) {
	refused := dialClosedPort(t)
	timeout := readTimeout(t)
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connect.Retriable", connect.Retriable(errors.New("x")), true},
		{"wrapped connect.ErrRetriable", fmt.Errorf("put: %w", connect.ErrRetriable), true},
		{"real connection refused", refused, true},
		{"real read timeout", timeout, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"unexpected EOF", fmt.Errorf("read message: %w", io.ErrUnexpectedEOF), true},
		{"operation deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"temporary DNS", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, true},
		{"caller cancelled", fmt.Errorf("query: %w", context.Canceled), false},
		{"cancelled while retriable", connect.Retriable(context.Canceled), false},
		{"EOF", io.EOF, false},
		{"closed by us", fmt.Errorf("read: %w", net.ErrClosed), false},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, false},
		{"certificate", x509.UnknownAuthorityError{}, false},
		{"config", connect.NewConfigError("k", "bad"), false},
		{"anything else", errors.New("syntax error"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsRetriable(tc.err), "%v", tc.err)
		})
	}
}

func dialClosedPort(t *testing.T) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	_, err = net.Dial("tcp", addr)
	require.Error(t, err)
	return err
}

func readTimeout(t *testing.T) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err)
	return err
}
