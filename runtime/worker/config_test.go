package worker_test

import (
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/worker"
)

// TestWorkerConfigListeners: listeners is parsed as Kafka's RestServer
// reads it; HTTPS and a second listener are refused by name rather than
// failing with "too many colons in address" or being ignored.
func TestWorkerConfigListeners(t *testing.T) {
	tests := []struct {
		name      string
		props     map[string]string
		listen    string
		errParts  []string
		workerIDs string
	}{
		{name: "default", props: map[string]string{}, listen: ":8083", workerIDs: "localhost:8083"},
		{name: "empty host is every interface", props: map[string]string{"listeners": "http://:8084"}, listen: ":8084"},
		{name: "upper-case protocol", props: map[string]string{"listeners": "HTTP://127.0.0.1:0"}, listen: "127.0.0.1:0"},
		{name: "IPv6", props: map[string]string{"listeners": "http://[::1]:8083"}, listen: "[::1]:8083"},
		{name: "host name", props: map[string]string{"listeners": "http://connect-1.example.com:8083"}, listen: "connect-1.example.com:8083", workerIDs: "connect-1.example.com:8083"},
		{name: "advertised http", props: map[string]string{"rest.advertised.listener": "HTTP"}, listen: ":8083"},
		{name: "https", props: map[string]string{"listeners": "https://:8443"},
			errParts: []string{`listeners "https://:8443": HTTPS is not supported yet`}},
		{name: "https among two", props: map[string]string{"listeners": "http://:8083,https://:8443"},
			errParts: []string{`listeners "https://:8443": HTTPS is not supported yet`, `listeners "http://:8083,https://:8443": Sluice serves one REST listener`}},
		{name: "two http listeners", props: map[string]string{"listeners": "http://a:1,http://b:2"},
			errParts: []string{"Sluice serves one REST listener; list only one"}},
		{name: "unknown protocol", props: map[string]string{"listeners": "ftp://:21"},
			errParts: []string{`listeners "ftp://:21": Listener protocol must be either "http" or "https".`}},
		{name: "no protocol", props: map[string]string{"listeners": "localhost:8083"},
			errParts: []string{`listeners "localhost:8083": Listener doesn't have the right format (protocol://hostname:port).`}},
		{name: "port out of range", props: map[string]string{"listeners": "http://:99999"},
			errParts: []string{"port 99999 is not between 0 and 65535"}},
		{name: "advertised https", props: map[string]string{"rest.advertised.listener": "https"},
			errParts: []string{"rest.advertised.listener=https: HTTPS is not supported yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := worker.NewConfig(tt.props)
			if len(tt.errParts) > 0 {
				require.Error(t, err)
				assert.NotContains(t, err.Error(), "too many colons")
				for _, p := range tt.errParts {
					assert.Contains(t, err.Error(), p)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.listen, cfg.RestListen)
			if tt.workerIDs != "" {
				assert.Equal(t, tt.workerIDs, cfg.WorkerID)
			}
		})
	}
}

// TestWorkerConfigRefusesMissingSecurityFeatures: a worker configured for
// REST extensions, TLS or SASL, separate admin listeners, a restrictive
// override policy or a config provider Sluice lacks does not start open
// and in plaintext: it refuses, naming every such key at once and showing
// no secret.
func TestWorkerConfigRefusesMissingSecurityFeatures(t *testing.T) {
	props := map[string]string{
		"bootstrap.servers":                         "kafka:9093",
		"rest.extension.classes":                    "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension",
		"security.protocol":                         "SASL_SSL",
		"sasl.mechanism":                            "PLAIN",
		"sasl.jaas.config":                          `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="jaas-s3cret";`,
		"ssl.truststore.location":                   "/etc/kafka/truststore.jks",
		"producer.security.protocol":                "SSL",
		"consumer.sasl.jaas.config":                 `… password="consumer-s3cret";`,
		"admin.ssl.keystore.password":               "admin-s3cret",
		"listeners.https.ssl.keystore.location":     "/etc/kafka/rest.jks",
		"admin.listeners":                           "http://localhost:8084",
		"connector.client.config.override.policy":   "None",
		"config.providers":                          "vault,file",
		"config.providers.vault.class":              "com.github.jcustenborder.kafka.config.vault.VaultConfigProvider",
		"config.providers.file.param.allowed.paths": "/etc/secrets",
	}
	_, err := worker.NewConfig(props)
	require.Error(t, err)
	msg := err.Error()
	for _, k := range []string{
		"rest.extension.classes: REST extensions",
		"security.protocol=SASL_SSL: only PLAINTEXT is supported yet",
		"sasl.mechanism: TLS and SASL are not supported yet",
		"sasl.jaas.config: TLS and SASL",
		"ssl.truststore.location: TLS and SASL",
		"producer.security.protocol=SSL: only PLAINTEXT",
		"consumer.sasl.jaas.config: TLS and SASL",
		"admin.ssl.keystore.password: TLS and SASL",
		"listeners.https.ssl.keystore.location: HTTPS is not supported yet",
		"admin.listeners: separate admin listeners are not supported yet",
		"connector.client.config.override.policy: only the All policy",
		"config.providers.vault.class=com.github.jcustenborder.kafka.config.vault.VaultConfigProvider: Sluice has only",
		"config.providers.file.param.allowed.paths: config provider parameters",
	} {
		assert.Contains(t, msg, k)
	}
	for _, secret := range []string{"jaas-s3cret", "consumer-s3cret", "admin-s3cret"} {
		assert.NotContains(t, msg, secret)
	}
}

// TestWorkerConfigAcceptsWhatItHonours: settings that ask for nothing
// Sluice lacks still start the worker.
func TestWorkerConfigAcceptsWhatItHonours(t *testing.T) {
	base := map[string]string{
		"security.protocol":                       "PLAINTEXT",
		"producer.security.protocol":              "plaintext",
		"ssl.endpoint.identification.algorithm":   "",
		"sasl.jaas.config":                        " ",
		"rest.extension.classes":                  "",
		"connector.client.config.override.policy": "All",
	}
	cfg, err := worker.NewConfig(base)
	require.NoError(t, err)
	assert.Empty(t, cfg.ConfigProviders, "no config provider is enabled by default, as in Kafka")

	// Sluice's shortcut: a built-in provider by its name alone.
	props := maps.Clone(base)
	props["config.providers"] = "env, file"
	cfg, err = worker.NewConfig(props)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"env": "env", "file": "file"}, cfg.ConfigProviders)

	// A built-in provider under a name of the operator's choosing, as
	// Kafka's docs configure it.
	props = maps.Clone(base)
	props["config.providers"] = "secrets,env"
	props["config.providers.secrets.class"] = "org.apache.kafka.common.config.provider.FileConfigProvider"
	cfg, err = worker.NewConfig(props)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"secrets": "file", "env": "env"}, cfg.ConfigProviders)

	props["config.providers"] = "secrets,vault"
	_, err = worker.NewConfig(props)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "config.providers: provider vault is not built in (env, file, directory); give its class with config.providers.vault.class")
}

// TestWorkerClientSettingsChecked: the worker's producer.* and consumer.*
// settings of its tasks' clients are checked at start.
func TestWorkerClientSettingsChecked(t *testing.T) {
	_, err := worker.NewConfig(map[string]string{"producer.delivery.timeout.ms": "later", "consumer.fetch.max.bytes": "-1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `producer.delivery.timeout.ms="later"`)
	assert.Contains(t, err.Error(), `consumer.fetch.max.bytes="-1"`)
	_, err = worker.NewConfig(map[string]string{"producer.delivery.timeout.ms": "30000", "producer.linger.ms": "5", "consumer.max.poll.records": "100"})
	require.NoError(t, err)
}
