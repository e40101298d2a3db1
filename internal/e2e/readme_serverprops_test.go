package e2e

import (
	"bufio"
	"context"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/broker"
	"github.com/sluicehq/sluice/internal/javaprops"
)

// serverPropsKey matches a key line of configs/server.properties, set
// (key=value) or shown commented out (#key=value); prose comments start
// with "# ".
var serverPropsKey = regexp.MustCompile(`^#?([a-z][a-z0-9._]*)=(.*)$`)

// TestREADMEServerProperties checks the shipped configs/server.properties,
// which the README's `sluice broker --config` example uses: the broker
// accepts it, and every key in it, set or commented out, is one the broker
// knows, with the broker's default as its value — what a broker started
// without a config file reports through DescribeConfigs.
func TestREADMEServerProperties(t *testing.T) {
	const path = "../../configs/server.properties"
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	props, err := javaprops.Load(f)
	require.NoError(t, err)
	_, err = broker.NewConfig(props)
	require.NoError(t, err, "the broker accepts %s", path)

	defaults := brokerDefaults(t)
	_, err = f.Seek(0, 0)
	require.NoError(t, err)
	sc := bufio.NewScanner(f)
	keys := 0
	for n := 1; sc.Scan(); n++ {
		m := serverPropsKey.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		keys++
		want, ok := defaults[m[1]]
		if !ok {
			t.Errorf("%s:%d: %s is not a broker config", path, n, m[1])
			continue
		}
		if m[2] != want {
			t.Errorf("%s:%d: %s=%s, but the broker's default is %q", path, n, m[1], m[2], want)
		}
	}
	require.NoError(t, sc.Err())
	require.Greater(t, keys, 40, "%s lists the broker's keys", path)
}

// brokerDefaults starts a broker without a config file and returns every
// broker key it reports with its value: its own configs, and the broker
// keys behind each topic config (the log.* defaults).
func brokerDefaults(t *testing.T) map[string]string {
	t.Helper()
	out := &procLog{}
	dumpOnFailure(t, "sluice broker", out)
	addr := freeAddr(t)
	startBroker(t, out, t.TempDir(), addr)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The test broker is started with its own listener and data
	// directory: a key's default is its DEFAULT_CONFIG synonym.
	defaults := map[string]string{}
	brokerConfigs, err := adm.DescribeBrokerConfigs(ctx)
	require.NoError(t, err)
	for _, rc := range brokerConfigs {
		require.NoError(t, rc.Err)
		for _, c := range rc.Configs {
			defaults[c.Key] = c.MaybeValue()
			for _, s := range c.Synonyms {
				if s.Source == kmsg.ConfigSourceDefaultConfig {
					defaults[c.Key] = *s.Value
				}
			}
		}
	}
	// Not reported while unset: the listener, and no protected topics.
	defaults["advertised.listeners"] = defaults["listeners"]
	defaults[broker.ProtectedTopicsKey] = ""
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "defaults")
	require.NoError(t, err)
	topicConfigs, err := adm.DescribeTopicConfigs(ctx, "defaults")
	require.NoError(t, err)
	for _, rc := range topicConfigs {
		require.NoError(t, rc.Err)
		for _, c := range rc.Configs {
			for _, s := range c.Synonyms {
				if s.Source == kmsg.ConfigSourceDefaultConfig && s.Key != c.Key {
					defaults[s.Key] = *s.Value
				}
			}
		}
	}
	return defaults
}
