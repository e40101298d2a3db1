package e2e

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestREADMERouteFilter runs the README's transform chain example (the
// json block marked id=route-filter, read from README.md) in two file
// source connectors, one writing to topic orders, one to payments: as the
// README says, the orders record reaches archive-orders and the payments
// record is dropped. With the router before the filter, as the README
// had it, the renamed topic never matches orders.* and both are dropped.
func TestREADMERouteFilter(t *testing.T) {
	b := readmeBlockByID(t, "route-filter")
	v, err := parseReadmeJSON(b.text)
	require.NoError(t, err)
	chain, err := connectorConfig(v)
	require.NoError(t, err)

	dir := t.TempDir()
	brokerAddr, restAddr := freeAddr(t), freeAddr(t)
	log := &procLog{}
	dumpOnFailure(t, "sluice up", log)
	startProcUntil(t, log, workerReady, "up", "--data-dir", filepath.Join(dir, "data"),
		"--broker-addr", brokerAddr, "--rest-addr", restAddr, "--registry-addr", freeAddr(t))
	base := "http://" + restAddr
	for _, topic := range []string{"orders", "payments"} {
		file := filepath.Join(dir, topic+".txt")
		require.NoError(t, os.WriteFile(file, []byte(topic+"-1\n"), 0o644))
		cfg := maps.Clone(chain)
		maps.Copy(cfg, map[string]string{"connector.class": "FileStreamSource", "file": file, "topic": topic})
		require.Equal(t, 201, rest(t, "POST", base+"/connectors", map[string]any{"name": topic + "-src", "config": cfg}, nil))
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics("archive-orders"))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	for len(got) == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	require.Equal(t, []string{`{"schema":{"type":"string","optional":false},"payload":"orders-1"}`}, got,
		"archive-orders holds the orders record")

	// Stopping commits the payments source's offset: past its one line once
	// the line is handled — here, dropped. A source stopped before it read
	// its file commits nothing, so it is resumed and stopped again until
	// its offset shows.
	handled := func() bool {
		var offsets struct {
			Offsets []struct{ Offset map[string]any }
		}
		return rest(t, "GET", base+"/connectors/payments-src/offsets", nil, &offsets) == 200 &&
			len(offsets.Offsets) == 1 && offsets.Offsets[0].Offset["position"] == float64(len("payments-1\n"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for done := false; !done; {
		require.True(t, time.Now().Before(deadline), "the payments line was not handled within 30s")
		require.Less(t, rest(t, "PUT", base+"/connectors/payments-src/stop", nil, nil), 300)
		for wait := time.Now().Add(3 * time.Second); !done && time.Now().Before(wait); time.Sleep(50 * time.Millisecond) {
			done = handled()
		}
		if !done {
			require.Less(t, rest(t, "PUT", base+"/connectors/payments-src/resume", nil, nil), 300)
			time.Sleep(500 * time.Millisecond)
		}
	}
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	require.NoError(t, err)
	require.False(t, topics.Has("archive-payments") || topics.Has("payments"), "the payments record was dropped: %v", topics.Names())
}
