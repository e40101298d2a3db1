package httpsink

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"net/netip"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildErr returns what building config refuses.
func buildErr(config map[string]string) error {
	_, _, err := build(config, nil)
	return err
}

func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	jks := filepath.Join(dir, "trust.jks")
	require.NoError(t, os.WriteFile(jks, []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2}, 0o600))
	cases := []struct {
		name   string
		config map[string]string
		want   []string // substrings of the error
	}{
		{"confluent url required", map[string]string{}, []string{"http.api.url: is required"}},
		{"aiven keys under confluent's class", map[string]string{"http.api.url": "http://x", "http.url": "http://x", "batching.enabled": "true"},
			[]string{"http.url: is a key of " + AivenClass, "batching.enabled: is a key of " + AivenClass}},
		{"confluent keys under aiven's class", map[string]string{"connector.class": AivenClass, "http.url": "http://x", "http.authorization.type": "none", "request.method": "put"},
			[]string{"request.method: is a key of " + ConfluentClass}},
		{"aiven needs its auth type", map[string]string{"connector.class": AivenClass, "http.url": "http://x"}, []string{"http.authorization.type: is required"}},
		{"aiven url is static", map[string]string{"connector.class": AivenClass, "http.url": "http://x/${topic}", "http.authorization.type": "none"}, []string{"no templating"}},
		{"unknown placeholder", map[string]string{"http.api.url": "http://x/${value}"}, []string{"unknown placeholder ${value}"}},
		{"not http", map[string]string{"http.api.url": "ftp://x"}, []string{"not an http or https URL"}},
		{"array with separator", map[string]string{"http.api.url": "http://x", "batch.separator": ";"}, []string{"batch.json.as.array=false"}},
		{"bad status ranges", map[string]string{"http.api.url": "http://x", "retry.on.status.codes": "abc"}, []string{"retry.on.status.codes"}},
		{"basic needs a user", map[string]string{"http.api.url": "http://x", "auth.type": "BASIC"}, []string{"connection.user: is required"}},
		{"oauth2 needs its endpoint", map[string]string{"http.api.url": "http://x", "auth.type": "OAUTH2"}, []string{"oauth2.token.url: is required", "oauth2.client.id", "oauth2.client.secret"}},
		{"JKS type", map[string]string{"http.api.url": "https://x", "https.ssl.truststore.type": "JKS"}, []string{"JKS stores are not supported"}},
		{"JKS file", map[string]string{"connector.class": AivenClass, "http.url": "https://x", "http.authorization.type": "none", "http.ssl.truststore.location": jks},
			[]string{"is not a PEM file"}},
		{"unsupported TLS key", map[string]string{"http.api.url": "https://x", "https.ssl.cipher.suites": "X"}, []string{"https.ssl.cipher.suites: is not supported"}},
		{"jwt", map[string]string{"http.api.url": "http://x", "oauth2.jwt.enabled": "true"}, []string{"JWT"}},
		{"bad cidr", map[string]string{"http.api.url": "http://x", "connection.disallow.cidr.ranges": "10.0.0.0/99"}, []string{"not a CIDR range"}},
		{"aiven batch size without batching", map[string]string{"connector.class": AivenClass, "http.url": "http://x", "http.authorization.type": "none", "batch.max.size": "5"},
			[]string{"batching.enabled=true"}},
		{"aiven kafka.retry.backoff.ms", map[string]string{"connector.class": AivenClass, "http.url": "http://x", "http.authorization.type": "none", "kafka.retry.backoff.ms": "100"},
			[]string{"kafka.retry.backoff.ms: is not supported"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := buildErr(c.config)
			require.Error(t, err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	require.NoError(t, buildErr(map[string]string{"http.api.url": "http://x", "connector.class": "HttpSinkConnector"}), "a simple name takes Confluent's keys")
}

// TestValidateNamesKeys shows the refusals through the worker's validate
// endpoint, each on its key.
func TestValidateNamesKeys(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	errs := w.ValidationErrors(ConfluentClass, map[string]string{"http.api.url": "http://x", "http.url": "http://y", "auth.type": "BASIC"})
	assert.Contains(t, strings.Join(errs["http.url"], " "), AivenClass)
	assert.Contains(t, strings.Join(errs["connection.user"], " "), "is required")
	errs = w.ValidationErrors(AivenClass, map[string]string{"name": "w", "topics": "t", "http.url": "http://y", "http.authorization.type": "static", "http.headers.authorization": "x"})
	assert.Empty(t, errs)
}

// TestSSRFGuard refuses an address the guard disallows after resolving
// the name, unless an allow range covers it.
func TestSSRFGuard(t *testing.T) {
	e := startEndpoint(t)
	local := strings.Replace(e.URL, "127.0.0.1", "localhost", 1) // resolved by DNS, then checked
	for _, c := range []struct {
		name    string
		config  map[string]string
		refused string
	}{
		{"local", map[string]string{"connection.disallow.local.ips": "true"}, "a local address"},
		{"cidr", map[string]string{"connection.disallow.cidr.ranges": "127.0.0.0/8,::1/128"}, "connection.disallow.cidr.ranges"},
		{"allowed", map[string]string{"connection.disallow.local.ips": "true", "connection.allow.cidr.ranges": "127.0.0.1/32,::1"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			config := map[string]string{"http.api.url": local, "max.retries": "0"}
			for k, v := range c.config {
				config[k] = v
			}
			task, ctx := startTask(t, config)
			ctx.Tolerate = true
			before := len(e.requests())
			_, err := putFlush(t, task, recs("t", "x"))
			require.NoError(t, err)
			if c.refused == "" {
				assert.Len(t, e.requests(), before+1)
				return
			}
			assert.Len(t, e.requests(), before, "nothing reached the server")
			rep := ctx.ReportedRecords()
			require.Len(t, rep, 1)
			var re *RequestError
			require.True(t, errors.As(rep[0].Err, &re))
			assert.Contains(t, re.Error(), c.refused)
			assert.Equal(t, 1, re.Attempts, "a refused address is not retried")
		})
	}
	g := &guard{private: true, classE: true}
	for ip, want := range map[string]bool{"10.1.2.3": true, "192.168.0.1": true, "172.20.0.1": true, "8.8.8.8": false, "241.0.0.1": true, "fd00::1": true} {
		assert.Equal(t, want, g.check(mustAddr(ip)) != "", ip)
	}
}

// TestCheckRedirectNotFollowed: a 3xx answer is the endpoint's answer.
func TestCheckRedirectNotFollowed(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(func(int, captured) (int, http.Header, string) {
		return http.StatusFound, http.Header{"Location": {"http://169.254.169.254/"}}, ""
	})
	task, ctx := startTask(t, map[string]string{"http.api.url": e.URL, "max.retries": "0"})
	ctx.Tolerate = true
	_, err := putFlush(t, task, recs("t", "x"))
	require.NoError(t, err)
	assert.Len(t, ctx.ReportedRecords(), 1, "302 is not a 2xx: reported")
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestReporterNeedsACluster: without reporter.bootstrap.servers the
// reporter uses the worker's cluster; a context that offers none (a unit
// test's) makes Start fail naming the key.
func TestReporterNeedsACluster(t *testing.T) {
	config := map[string]string{"name": "w", "connector.class": Class, "http.api.url": "http://x", "reporter.error.topic.name": "e"}
	err := newSinkTask().Start(connecttest.NewSinkContext(t, config), config)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reporter.bootstrap.servers: is required for the reporter here")
}
