package rest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/worker"
)

// startServer runs s on a free port until the test ends.
func startServer(t *testing.T, s *Server) (base string, stop func() error) {
	t.Helper()
	addr, err := s.Listen()
	require.NoError(t, err)
	require.Equal(t, addr, s.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + addr.String(), stop
}

func TestRunServesOnPortZero(t *testing.T) {
	s := New(newMemHerder(), Options{Listen: "127.0.0.1:0"})
	assert.Nil(t, s.Addr(), "no address before Listen")
	base, stop := startServer(t, s)

	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var info worker.ServerInfo
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&info))
	assert.Equal(t, "3.9.0", info.Version)

	require.NoError(t, stop())
	_, err = http.Get(base + "/")
	assert.Error(t, err, "the listener is closed after Run returns")
}

// slowHerder answers the server info after a delay, whatever its context.
type slowHerder struct {
	*memHerder
	delay time.Duration
}

func (h slowHerder) ServerInfo(ctx context.Context) (worker.ServerInfo, error) {
	time.Sleep(h.delay)
	return h.memHerder.ServerInfo(ctx)
}

func TestRunLetsRequestsInFlightFinish(t *testing.T) {
	s := New(slowHerder{newMemHerder(), 200 * time.Millisecond}, Options{Listen: "127.0.0.1:0"})
	base, stop := startServer(t, s)

	type answer struct {
		status int
		body   string
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(base + "/")
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- answer{status: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(50 * time.Millisecond) // the request is in the herder
	require.NoError(t, stop())
	a := <-got
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusOK, a.status, a.body)
}

func TestRunCancelsRequestsAfterGrace(t *testing.T) {
	h := ctxHerder{newMemHerder()}
	s := New(h, Options{Listen: "127.0.0.1:0", ShutdownTimeout: 50 * time.Millisecond})
	base, stop := startServer(t, s)

	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/connectors/src")
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	require.NoError(t, stop())
	assert.Less(t, time.Since(start), 5*time.Second, "a request waiting on the herder does not hold shutdown past the grace period")
	<-errc
}

func TestRunReportsListenError(t *testing.T) {
	s1 := New(newMemHerder(), Options{Listen: "127.0.0.1:0"})
	addr, err := s1.Listen()
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s1.Run(ctx)
	})
	s2 := New(newMemHerder(), Options{Listen: addr.String()})
	err = s2.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen on "+addr.String())
}
