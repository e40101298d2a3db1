package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TestRegistryFlagsRefuseNonPositive: a zero or negative tunable is
// refused with a message naming each bad key, before anything starts.
func TestRegistryFlagsRefuseNonPositive(t *testing.T) {
	err := runRegistry(context.Background(), []string{"--kafkastore.timeout.ms=0", "--idle.timeout.ms=-5"},
		slog.New(slog.DiscardHandler), io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--kafkastore.timeout.ms must be positive, not 0")
	assert.Contains(t, err.Error(), "--idle.timeout.ms must be positive, not -5")
}

// TestRegistryFlagsReachTheServer: --size.limit.filter.max.request.body.size
// is the limit the running registry applies.
func TestRegistryFlagsReachTheServer(t *testing.T) {
	broker := testenv.StartBroker(t, nil)
	var logs testenv.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runRegistry(ctx, []string{"--bootstrap-servers", broker.Addr, "--listen", "127.0.0.1:0",
			"--size.limit.filter.max.request.body.size=100", "--kafkastore.timeout.ms=2000"}, logger, io.Discard)
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	addr := regexp.MustCompile(`listening.*addr=(\S+)`)
	var url string
	require.Eventually(t, func() bool {
		m := addr.FindStringSubmatch(logs.String())
		if m == nil {
			return false
		}
		url = "http://" + m[1]
		resp, err := http.Get(url + "/subjects")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond)
	body := `{"schema":"{\"type\":\"record\",\"name\":\"R\",\"doc\":\"` + strings.Repeat("x", 200) + `\",\"fields\":[]}"}`
	resp, err := http.Post(url+"/subjects/s/versions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
