package registry

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/bench/kfakeserver"
)

// TestRunsOnKfake: the registry relies on nothing but the Kafka protocol;
// against franz-go's kfake it registers, and a second registry rebuilds
// the same ids from the topic.
func TestRunsOnKfake(t *testing.T) {
	c, err := kfakeserver.New("127.0.0.1:0", 1)
	require.NoError(t, err)
	defer c.Close()
	start := func() (string, func()) {
		srv, err := New(Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()[0])}, Listen: "127.0.0.1:0"})
		require.NoError(t, err)
		addr, err := srv.Listen()
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		url := "http://" + addr.String()
		require.Eventually(t, func() bool {
			resp, err := http.Get(url + "/config")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		}, 10*time.Second, 20*time.Millisecond)
		return url, func() { cancel(); require.NoError(t, <-done) }
	}
	url, stop := start()
	post := func(url, subject, schema string) (int, string) {
		resp, err := http.Post(url+"/subjects/"+subject+"/versions", "application/vnd.schemaregistry.v1+json", strings.NewReader(schema))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := post(url, "a-value", `{"schema":"\"string\""}`)
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":1}`, body)
	code, body = post(url, "b-value", `{"schema":"\"long\""}`)
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":2}`, body)
	stop()

	url, stop = start()
	defer stop()
	code, body = post(url, "b-value", `{"schema":"\"long\""}`)
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":2}`, body, "the rebuilt registry knows the id")
	code, body = post(url, "c-value", `{"schema":"\"int\""}`)
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":3}`, body, "and continues the id sequence")
}
