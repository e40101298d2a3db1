package rest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/worker"
)

// followerHerder redirects every write to the leader's URL.
type followerHerder struct {
	*memHerder
	leader string
}

func (f followerHerder) PauseConnector(context.Context, string) error {
	return &worker.RedirectError{URL: f.leader, Why: "not the leader"}
}

func (f followerHerder) CreateConnector(context.Context, string, map[string]string, worker.TargetState) (worker.ConnectorInfo, error) {
	return worker.ConnectorInfo{}, &worker.RedirectError{URL: f.leader, Why: "not the leader"}
}

func TestWritesAreForwardedToTheLeader(t *testing.T) {
	var seen []string
	leaderHerder := newMemHerder()
	leader := httptest.NewServer(New(leaderHerder, Options{}).Handler())
	defer leader.Close()
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		leader.Config.Handler.ServeHTTP(w, r)
	}))
	defer spy.Close()
	follower := httptest.NewServer(New(followerHerder{newMemHerder(), spy.URL}, Options{}).Handler())
	defer follower.Close()

	resp, err := http.Post(follower.URL+"/connectors", "application/json",
		strings.NewReader(`{"name":"new","config":{"connector.class":"FileStreamSink","topics":"t"}}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 201, resp.StatusCode, string(body))
	assert.Contains(t, resp.Header.Get("Location"), "/connectors/new")
	assert.Contains(t, string(body), `"name":"new"`)
	assert.Equal(t, []string{"POST /connectors?forward=true"}, seen, "the body and a forward flag reach the leader")
	_, ok := leaderHerder.connectors["new"]
	assert.True(t, ok, "the leader created it")

	req, _ := http.NewRequest(http.MethodPut, follower.URL+"/connectors/src/pause", nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 202, resp.StatusCode)

	// A request that was already forwarded twice is not forwarded again.
	req, _ = http.NewRequest(http.MethodPut, follower.URL+"/connectors/src/pause?forward=false", nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 409, resp.StatusCode)
	assert.JSONEq(t, `{"error_code":409,"message":"Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}`, string(body))
}

// deadLeaderHerder points writes at a dead leader until the group has
// "elected" this worker, after a few attempts.
type deadLeaderHerder struct {
	*memHerder
	dead     string
	attempts *int
}

func (f deadLeaderHerder) PauseConnector(ctx context.Context, name string) error {
	*f.attempts++
	if *f.attempts < 3 {
		return &worker.RedirectError{URL: f.dead, Why: "not the leader"}
	}
	return f.memHerder.PauseConnector(ctx, name)
}

func TestForwardToADeadLeaderRetriesInsteadOfFailing(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	attempts := 0
	srv := httptest.NewServer(New(deadLeaderHerder{newMemHerder(), deadURL, &attempts}, Options{}).Handler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/connectors/src/pause", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 202, resp.StatusCode)
	assert.Equal(t, 3, attempts)
}
