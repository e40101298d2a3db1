package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/internal/testenv"
)

func testConn(t *testing.T, server, id, version string) ConnConfig {
	t.Helper()
	u, err := parseServer(server)
	require.NoError(t, err)
	return ConnConfig{
		Servers: []*url.URL{u}, ClientID: id, ConnectTimeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		MaxRetry: 5 * time.Second, Version: version, SessionExpiry: 3600,
	}
}

// TestClientRoundTrip proves both protocol versions connect, subscribe,
// publish with QoS 1 waiting for the PUBACK, and deliver to the handler,
// over plain TCP and TLS.
func TestClientRoundTrip(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoTLS())
	for _, version := range []string{version5, version311, versionAuto} {
		for _, useTLS := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/tls=%v", version, useTLS), func(t *testing.T) {
				server := m.URL()
				if useTLS {
					server = m.TLSURL()
				}
				cfg := testConn(t, server, "rt-"+t.Name(), version)
				cfg.TLS = kit.TLS{CA: m.CAFile}
				got := make(chan *Received, 10)
				sub := NewClient(cfg, ClientOptions{Subscriptions: []string{"rt/" + t.Name() + "/#"}, QoS: 1,
					OnMessage: func(r *Received) { got <- r }, Logger: testenv.Logger(t)})
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				require.NoError(t, sub.Connect(ctx))
				defer sub.Close()
				want := version
				if version == versionAuto {
					want = version5
				}
				require.Equal(t, want, sub.Version())
				select { // Connect returns before the SUBACK: publish once subscribed
				case <-sub.Subscribed():
				case <-ctx.Done():
					t.Fatal("no SUBACK")
				}
				pubCfg := cfg
				pubCfg.ClientID = "pub-" + t.Name()
				pubCfg.CleanSession = true
				pub := NewClient(pubCfg, ClientOptions{Logger: testenv.Logger(t)})
				require.NoError(t, pub.Connect(ctx))
				defer pub.Close()
				require.NoError(t, pub.Publish(ctx, "rt/"+t.Name()+"/a", []byte("hello"), 1, false))
				select {
				case r := <-got:
					require.Equal(t, "hello", string(r.Payload))
					require.Equal(t, "rt/"+t.Name()+"/a", r.Topic)
					require.Equal(t, byte(1), r.QoS)
					r.Ack()
				case <-ctx.Done():
					t.Fatal("no message received")
				}
			})
		}
	}
}

// TestClientErrors proves wrong credentials end Connect at once with
// ErrAuth, and a server nobody listens on with ErrUnreachable after
// max.retry.time.ms.
func TestClientErrors(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoUsers(map[string]string{"alice": "secret"}))
	for _, version := range []string{version5, version311} {
		t.Run(version, func(t *testing.T) {
			cfg := testConn(t, m.URL(), "err-"+version, version)
			cfg.Username, cfg.Password = "alice", "wrong"
			start := time.Now()
			err := NewClient(cfg, ClientOptions{}).Connect(context.Background())
			require.ErrorIs(t, err, ErrAuth)
			require.Less(t, time.Since(start), 3*time.Second)

			cfg.Password = "secret"
			c := NewClient(cfg, ClientOptions{})
			require.NoError(t, c.Connect(context.Background()))
			require.NoError(t, c.Close())

			cfg = testConn(t, "tcp://127.0.0.1:1", "err", version)
			cfg.MaxRetry = time.Second
			err = NewClient(cfg, ClientOptions{}).Connect(context.Background())
			require.True(t, errors.Is(err, ErrUnreachable), "%v", err)
		})
	}
}
