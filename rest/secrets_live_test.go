package rest_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// recordingSource is a source connector whose tasks record the config they
// were started with: what the worker really stored and resolved.
var (
	recordedMu  sync.Mutex
	recordedCfg map[string]string
)

type recordingConnector struct{ cfg map[string]string }

func (c *recordingConnector) Start(_ connect.ConnectorContext, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *recordingConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.cfg)}, nil
}
func (c *recordingConnector) Stop() error { return nil }

type recordingTask struct{}

func (recordingTask) Start(_ connect.SourceTaskContext, cfg map[string]string) error {
	recordedMu.Lock()
	defer recordedMu.Unlock()
	recordedCfg = maps.Clone(cfg)
	return nil
}
func (recordingTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	<-ctx.Done()
	return nil, nil
}
func (recordingTask) Stop() error { return nil }

var recordingPlugin = connect.ConnectorPlugin{
	Class:         "test.RecordingSourceConnector",
	NewConnector:  func() connect.Connector { return &recordingConnector{} },
	NewSourceTask: func() connect.SourceTask { return recordingTask{} },
}

func recorded() map[string]string {
	recordedMu.Lock()
	defer recordedMu.Unlock()
	return maps.Clone(recordedCfg)
}

// TestSecretsHiddenWhereverNested: keys whose name says they hold a secret
// are shown as [hidden] by every endpoint that shows a config, whatever
// prefix they are nested under and whether or not a definition declares
// them; provider references are shown as they are; echoing [hidden] back
// keeps the stored secret.
func TestSecretsHiddenWhereverNested(t *testing.T) {
	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets.properties")
	require.NoError(t, os.WriteFile(secretsFile, []byte("db=from-file\n"), 0o600))
	a := startLiveAPIWith(t, map[string]string{
		"config.providers":               "secrets",
		"config.providers.secrets.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
	}, recordingPlugin)

	secrets := map[string]string{
		"producer.override.sasl.jaas.config":                `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p-jaas";`,
		"consumer.override.ssl.keystore.password":           "p-keystore",
		"admin.override.ssl.truststore.password":            "p-truststore",
		"producer.override.ssl.key.password":                "p-key",
		"value.converter.basic.auth.user.info":              "user:p-sr",
		"key.converter.bearer.auth.token":                   "p-bearer",
		"header.converter.schema.registry.ssl.keystore.key": "p-pem",
		"transforms.route.api.key":                          "p-api",
		"predicates.p.client.secret":                        "p-client-secret",
		"database.password":                                 "p-db",
		"aws.secret.access.key":                             "p-aws",
		"gcs.credentials.json":                              "p-gcs",
		"snowflake.private.key.passphrase":                  "p-passphrase",
		"azure.sas.token":                                   "p-sas",
	}
	shown := map[string]string{
		"connector.class": "test.RecordingSourceConnector",
		"name":            "sec",
		"db.password.ref": "${secrets:" + secretsFile + ":db}",
		"connection.url":  "jdbc:postgresql://db/orders",
		"producer.override.ssl.endpoint.identification.algorithm": "https",
		"value.converter.basic.auth.credentials.source":           "USER_INFO",
		"s3.credentials.provider.class":                           "com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
		"token.endpoint.url":                                      "https://idp/token",
	}
	cfg := maps.Clone(shown)
	maps.Copy(cfg, secrets)
	want := maps.Clone(shown)
	for k := range secrets {
		want[k] = "[hidden]"
	}
	body, err := json.Marshal(map[string]any{"name": "sec", "config": cfg})
	require.NoError(t, err)

	checkConfig := func(what string, got map[string]string) {
		t.Helper()
		assert.Equal(t, want, got, what)
	}
	decode := func(s string, v any) {
		t.Helper()
		require.NoError(t, json.Unmarshal([]byte(s), v), s)
	}
	noSecret := func(what, s string) {
		t.Helper()
		for k, v := range secrets {
			assert.NotContains(t, s, v, "%s shows %s", what, k)
		}
	}

	var info struct{ Config map[string]string }
	created := a.expect("POST", "/connectors", string(body), 201, "")
	decode(created, &info)
	checkConfig("POST /connectors", info.Config)
	noSecret("POST /connectors", created)

	var got map[string]string
	decode(a.expect("GET", "/connectors/sec/config", "", 200, ""), &got)
	checkConfig("GET config", got)
	decode(a.expect("GET", "/connectors/sec", "", 200, ""), &info)
	checkConfig("GET connector", info.Config)
	noSecret("GET ?expand=info", a.expect("GET", "/connectors?expand=info", "", 200, ""))

	var tasks []struct{ Config map[string]string }
	require.Eventually(t, func() bool {
		_, s, _ := a.do("GET", "/connectors/sec/tasks", "")
		return json.Unmarshal([]byte(s), &tasks) == nil && len(tasks) == 1
	}, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, "[hidden]", tasks[0].Config["producer.override.sasl.jaas.config"])
	noSecret("GET tasks", a.expect("GET", "/connectors/sec/tasks", "", 200, ""))
	noSecret("GET tasks-config", a.expect("GET", "/connectors/sec/tasks-config", "", 200, ""))

	// The task got the real values, the provider alias resolved.
	require.Eventually(t, func() bool { return recorded()["database.password"] == "p-db" }, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, "from-file", recorded()["db.password.ref"])

	// A UI saving the config it read back ([hidden] values) keeps the
	// secrets, and changes what it changed.
	got["connection.url"] = "jdbc:postgresql://db/invoices"
	put, err := json.Marshal(got)
	require.NoError(t, err)
	a.expect("PUT", "/connectors/sec/config", string(put), 200, "")
	require.Eventually(t, func() bool { return recorded()["connection.url"] == "jdbc:postgresql://db/invoices" }, 20*time.Second, 20*time.Millisecond)
	rec := recorded()
	for k, v := range secrets {
		assert.Equal(t, v, rec[k], "%s kept", k)
	}
	a.expect("PATCH", "/connectors/sec/config", `{"aws.secret.access.key":"[hidden]","database.password":"p-db-2"}`, 200, "")
	require.Eventually(t, func() bool { return recorded()["database.password"] == "p-db-2" }, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, "p-aws", recorded()["aws.secret.access.key"])
}
