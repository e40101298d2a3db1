// Package registrytest runs a real schema registry for tests of the
// packages that talk to one (converters, the worker, connectors). It is
// apart from testenv because the registry's own tests use testenv.
package registrytest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	registry "github.com/sluicehq/sluice/schema-registry"
)

// Start runs a schema registry storing its schemas on the broker at
// brokerAddr until the test ends, waits until it answers, and returns its
// URL.
func Start(t testing.TB, brokerAddr string) string {
	t.Helper()
	srv, err := registry.New(registry.Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers(brokerAddr)}, Listen: "127.0.0.1:0",
		// A loaded CI machine with the race detector can take longer than
		// the 500 ms default to fsync a write; tests of other packages are
		// not about the store timeout.
		StoreTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("create schema registry: %v", err)
	}
	addr, err := srv.Listen()
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + addr.String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/subjects")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("schema registry at %s did not answer: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
