package worker_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// secretSource is a test connector with a PASSWORD key whose task records
// the config it was started with.
var (
	secretMu      sync.Mutex
	secretStarted []map[string]string
)

type secretConnector struct{ cfg map[string]string }

func (c *secretConnector) Start(_ connect.ConnectorContext, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *secretConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.cfg)}, nil
}
func (c *secretConnector) Stop() error { return nil }

type secretTask struct{}

func (secretTask) Start(_ connect.SourceTaskContext, cfg map[string]string) error {
	secretMu.Lock()
	defer secretMu.Unlock()
	secretStarted = append(secretStarted, maps.Clone(cfg))
	return nil
}
func (secretTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	<-ctx.Done()
	return nil, nil
}
func (secretTask) Stop() error { return nil }

var secretPlugin = connect.ConnectorPlugin{
	Class: "test.SecretSourceConnector",
	Config: connect.ConfigDef{
		{Name: "db.password", Type: connect.ConfigPassword, Default: connect.NoDefault, Doc: "a secret"},
		{Name: "db.user", Type: connect.ConfigString, Default: "u", Doc: "not secret"},
		{Name: "read.only", Type: connect.ConfigBoolean, Default: nil, Doc: "a key users bring but Sluice does not honour",
			Unsupported: "read-only snapshots need no writes to the source; remove the key"},
	},
	NewConnector:  func() connect.Connector { return &secretConnector{} },
	NewSourceTask: func() connect.SourceTask { return secretTask{} },
}

// stuckPlugin's connector does not return from Start until the test
// closes stuckRelease.
var stuckRelease chan struct{}

type stuckConnector struct{}

func (stuckConnector) Start(connect.ConnectorContext, map[string]string) error {
	<-stuckRelease
	return errors.New("released")
}
func (stuckConnector) TaskConfigs(int) ([]map[string]string, error) { return nil, nil }
func (stuckConnector) Stop() error                                  { return nil }

var stuckPlugin = connect.ConnectorPlugin{
	Class:         "test.StuckSourceConnector",
	NewConnector:  func() connect.Connector { return stuckConnector{} },
	NewSourceTask: func() connect.SourceTask { return secretTask{} },
}

// sharingConnector hands out the config map it was started with as every
// task's config, as many Kafka connectors do; sharingStarts counts task
// starts.
var sharingStarts atomic.Int32

type sharingConnector struct{ cfg map[string]string }

func (c *sharingConnector) Start(_ connect.ConnectorContext, cfg map[string]string) error {
	c.cfg = cfg
	return nil
}
func (c *sharingConnector) TaskConfigs(max int) ([]map[string]string, error) {
	out := make([]map[string]string, max)
	for i := range out {
		out[i] = c.cfg
	}
	return out, nil
}
func (c *sharingConnector) Stop() error { return nil }

type countingTask struct{}

func (countingTask) Start(connect.SourceTaskContext, map[string]string) error {
	sharingStarts.Add(1)
	return nil
}

// Poll returns now and then, so that the task can pause between polls.
func (countingTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Millisecond):
	}
	return nil, nil
}
func (countingTask) Stop() error { return nil }

var sharingPlugin = connect.ConnectorPlugin{
	Class:         "test.SharingSourceConnector",
	NewConnector:  func() connect.Connector { return &sharingConnector{} },
	NewSourceTask: func() connect.SourceTask { return countingTask{} },
}

func startTestPluginWorker(t *testing.T) *worker.Herder {
	t.Helper()
	return startTestPluginWorkerWith(t, nil)
}

// startTestPluginWorkerWith starts a worker with the test plugins and
// extra worker properties.
func startTestPluginWorkerWith(t *testing.T, props map[string]string) *worker.Herder {
	t.Helper()
	b := testenv.StartBroker(t, nil)
	all := map[string]string{"bootstrap.servers": b.Addr, "listeners": "http://127.0.0.1:0"}
	maps.Copy(all, props)
	cfg, err := worker.NewConfig(all)
	require.NoError(t, err)
	plugins := builtinPlugins()
	plugins.Connectors = append(plugins.Connectors, secretPlugin, stuckPlugin, sharingPlugin)
	h, err := worker.New(worker.Options{Config: cfg, Plugins: plugins, Offsets: worker.NewMemOffsetStore(),
		ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Addr)}, Logger: testenv.Logger(t)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, h.Ready, 10*time.Second, 10*time.Millisecond)
	return h
}

// lastStarted returns the config the secret source's latest task was
// started with.
func lastStarted() map[string]string {
	secretMu.Lock()
	defer secretMu.Unlock()
	if len(secretStarted) == 0 {
		return nil
	}
	return secretStarted[len(secretStarted)-1]
}

// TestConfigProvidersOffByDefault: with Kafka's default (no
// config.providers), whoever can write a connector config cannot read the
// worker's environment or files through it: references reach the task
// as written, as Kafka leaves a reference to a provider it does not have.
func TestConfigProvidersOffByDefault(t *testing.T) {
	t.Setenv("SLUICE_TEST_SECRET", "s3cr3t")
	secretFile := filepath.Join(t.TempDir(), "secrets.properties")
	require.NoError(t, os.WriteFile(secretFile, []byte("db=filesecret\n"), 0o600))
	cfg := map[string]string{
		"connector.class": "test.SecretSourceConnector", "db.password": "x",
		"db.user": "t-${env:SLUICE_TEST_SECRET}-${file:" + secretFile + ":db}-${directory:/etc:hostname}",
	}
	ctx := context.Background()

	h := startTestPluginWorker(t)
	_, err := h.CreateConnector(ctx, "leak", cfg, "")
	require.NoError(t, err)
	waitState(t, h, "leak", 1, worker.StateRunning)
	assert.Equal(t, cfg["db.user"], lastStarted()["db.user"], "no provider resolved a reference")
	named := maps.Clone(cfg)
	named["name"] = "leak"
	infos, err := h.ValidateConfig(ctx, "test.SecretSourceConnector", named)
	require.NoError(t, err)
	assert.Zero(t, infos.ErrorCount, "an unresolved reference is no error, as in Kafka: %+v", infos.Configs)

	// Enabled the way Kafka's docs do it, the same config resolves.
	h = startTestPluginWorkerWith(t, map[string]string{
		"config.providers":            "env,file",
		"config.providers.env.class":  "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
		"config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
	})
	_, err = h.CreateConnector(ctx, "resolved", cfg, "")
	require.NoError(t, err)
	waitState(t, h, "resolved", 1, worker.StateRunning)
	assert.Equal(t, "t-s3cr3t-filesecret-${directory:/etc:hostname}", lastStarted()["db.user"],
		"env and file resolve; directory, not enabled, stays as written")
}

func TestPasswordsHiddenAndProvidersResolvedInsideTheWorker(t *testing.T) {
	t.Setenv("SLUICE_TEST_DB_USER", "alice")
	h := startTestPluginWorkerWith(t, map[string]string{"config.providers": "env"})
	ctx := context.Background()
	cfg := map[string]string{
		"connector.class": "test.SecretSourceConnector",
		"db.password":     "s3cret",
		"db.user":         "${env:SLUICE_TEST_DB_USER}",
	}
	info, err := h.CreateConnector(ctx, "sec", cfg, "")
	require.NoError(t, err)
	assert.Equal(t, "[hidden]", info.Config["db.password"])
	assert.Equal(t, "${env:SLUICE_TEST_DB_USER}", info.Config["db.user"], "references are shown, not resolved")
	waitState(t, h, "sec", 1, worker.StateRunning)

	got, err := h.ConnectorConfig(ctx, "sec")
	require.NoError(t, err)
	assert.Equal(t, "[hidden]", got["db.password"])
	tasks, err := h.Tasks(ctx, "sec")
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, "[hidden]", tasks[0].Config["db.password"])
	assert.Equal(t, "${env:SLUICE_TEST_DB_USER}", tasks[0].Config["db.user"], "task configs keep the reference")

	secretMu.Lock()
	started := secretStarted[len(secretStarted)-1]
	secretMu.Unlock()
	assert.Equal(t, "s3cret", started["db.password"], "the task gets the real value")
	assert.Equal(t, "alice", started["db.user"], "the task gets the resolved value")

	// Echoing [hidden] back keeps the secret.
	_, _, err = h.PutConnectorConfig(ctx, "sec", got)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		secretMu.Lock()
		defer secretMu.Unlock()
		return secretStarted[len(secretStarted)-1]["db.password"] == "s3cret"
	}, 5*time.Second, 10*time.Millisecond)

	infos, err := h.ValidateConfig(ctx, "test.SecretSourceConnector", cfg)
	require.NoError(t, err)
	for _, c := range infos.Configs {
		if c.Definition.Name == "db.password" {
			require.NotNil(t, c.Value.Value)
			assert.Equal(t, "[hidden]", *c.Value.Value)
		}
	}

	// An unresolvable reference fails the task with a message naming it.
	_, _, err = h.PutConnectorConfig(ctx, "sec", map[string]string{
		"connector.class": "test.SecretSourceConnector", "db.password": "x", "db.user": "${env:SLUICE_TEST_NOT_SET}",
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SLUICE_TEST_NOT_SET")
}

// A connector handing its own config map to its tasks must not change the
// stored connector config: if it did, pausing would look like a config
// change and restart the tasks.
func TestPauseKeepsTasksOfAConnectorSharingItsConfigMap(t *testing.T) {
	h := startTestPluginWorker(t)
	ctx := context.Background()
	cfg := map[string]string{"connector.class": "test.SharingSourceConnector", "tasks.max": "2"}
	_, err := h.CreateConnector(ctx, "sharing", cfg, "")
	require.NoError(t, err)
	waitState(t, h, "sharing", 2, worker.StateRunning)
	require.Equal(t, int32(2), sharingStarts.Load())

	require.NoError(t, h.PauseConnector(ctx, "sharing"))
	waitState(t, h, "sharing", 2, worker.StatePaused)
	require.NoError(t, h.ResumeConnector(ctx, "sharing"))
	waitState(t, h, "sharing", 2, worker.StateRunning)
	assert.Equal(t, int32(2), sharingStarts.Load(), "pause and resume restarted no task")

	stored, err := h.ConnectorConfig(ctx, "sharing")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"connector.class": "test.SharingSourceConnector", "tasks.max": "2", "name": "sharing"}, stored)
	tasks, err := h.Tasks(ctx, "sharing")
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	assert.Equal(t, "test.SharingSourceTask", tasks[1].Config["task.class"])
}

func TestStuckConnectorBlocksNothingElse(t *testing.T) {
	stuckRelease = make(chan struct{})
	h := startTestPluginWorker(t)
	defer close(stuckRelease)
	ctx := context.Background()
	_, err := h.CreateConnector(ctx, "stuck", map[string]string{"connector.class": "test.StuckSourceConnector"}, "")
	require.NoError(t, err)

	// Another connector starts and runs; the REST answers keep coming.
	_, err = h.CreateConnector(ctx, "gen", map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": "g", "max.interval": "10",
	}, "")
	require.NoError(t, err)
	waitState(t, h, "gen", 1, worker.StateRunning)
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := h.ConnectorStatus(rctx, "stuck")
	require.NoError(t, err)
	assert.Equal(t, worker.StateUnassigned, st.Connector.State)
	names, err := h.Connectors(rctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"gen", "stuck"}, names)
	require.NoError(t, h.Healthy(rctx))
	require.NoError(t, h.DeleteConnector(rctx, "gen"))
}

func TestValidationErrorsAndConflicts(t *testing.T) {
	h := startTestPluginWorker(t)
	ctx := context.Background()
	_, err := h.CreateConnector(ctx, "bad", map[string]string{
		"connector.class": "FileStreamSink", "tasks.max": "0", "errors.tolerance": "some",
	}, "")
	require.ErrorIs(t, err, worker.ErrBadRequest)
	assert.Contains(t, err.Error(), "Connector configuration is invalid and contains the following 4 error(s):")
	assert.Contains(t, err.Error(), "Invalid value 0 for configuration tasks.max: Value must be at least 1")
	assert.Contains(t, err.Error(), "Invalid value some for configuration errors.tolerance: String must be one of: none, all")
	assert.Contains(t, err.Error(), "Must configure one of topics or topics.regex")

	_, err = h.CreateConnector(ctx, "x", map[string]string{"connector.class": "NoSuchConnector"}, "")
	require.ErrorIs(t, err, worker.ErrBadRequest)
	assert.Contains(t, err.Error(), "Failed to find any class that implements Connector and which name matches NoSuchConnector")

	sink := map[string]string{"connector.class": "FileStreamSink", "topics": "t", "file": filepath.Join(t.TempDir(), "o")}
	_, err = h.CreateConnector(ctx, "s", sink, worker.TargetPaused)
	require.NoError(t, err)
	_, err = h.CreateConnector(ctx, "s", sink, "")
	require.ErrorIs(t, err, worker.ErrAlreadyExists)
	assert.EqualError(t, err, "already exists: Connector s already exists")
	waitState(t, h, "s", 1, worker.StatePaused)

	_, created, err := h.PutConnectorConfig(ctx, "s", sink)
	require.NoError(t, err)
	assert.False(t, created)

	v := "other"
	_, err = h.PatchConnectorConfig(ctx, "s", map[string]*string{"name": &v})
	require.ErrorIs(t, err, worker.ErrBadRequest)

	_, err = h.ConnectorInfo(ctx, "missing")
	require.ErrorIs(t, err, worker.ErrNotFound)
	assert.EqualError(t, err, "not found: Connector missing not found")

	_, err = h.ValidateConfig(ctx, "FileStreamSource", map[string]string{"connector.class": "FileStreamSink"})
	require.ErrorIs(t, err, worker.ErrBadRequest)
	infos, err := h.ValidateConfig(ctx, "FileStreamSinkConnector", map[string]string{"topics": "a", "topics.regex": "b.*"})
	require.NoError(t, err)
	assert.Equal(t, 3, infos.ErrorCount, "name missing, and topics/topics.regex both set (reported on each)")
}

// TestUnsupportedConnectorKeyRefused: a key a plugin declares Unsupported
// is an error in validation and refuses the create, naming the key.
func TestUnsupportedConnectorKeyRefused(t *testing.T) {
	h := startTestPluginWorker(t)
	ctx := context.Background()
	cfg := map[string]string{"name": "ro", "connector.class": "test.SecretSourceConnector", "db.password": "x", "read.only": "true"}
	const want = "read.only is not supported by Sluice: read-only snapshots need no writes to the source; remove the key"
	infos, err := h.ValidateConfig(ctx, "test.SecretSourceConnector", cfg)
	require.NoError(t, err)
	assert.Equal(t, 1, infos.ErrorCount)
	for _, c := range infos.Configs {
		if c.Definition.Name == "read.only" {
			assert.Equal(t, []string{want}, c.Value.Errors)
		}
	}
	_, err = h.CreateConnector(ctx, "ro", cfg, "")
	require.ErrorIs(t, err, worker.ErrBadRequest)
	assert.Contains(t, err.Error(), want)

	delete(cfg, "read.only")
	_, err = h.CreateConnector(ctx, "ro", cfg, "")
	require.NoError(t, err, "without the key the connector is created")
}

// TestStopRightAfterCreate: a worker stopped while a new connector's actor
// is being started stops cleanly (the actor once read the run context
// after the stop had cleared it, and panicked).
func TestStopRightAfterCreate(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	cfg, err := worker.NewConfig(map[string]string{"bootstrap.servers": b.Addr, "listeners": "http://127.0.0.1:0"})
	require.NoError(t, err)
	plugins := builtinPlugins()
	plugins.Connectors = append(plugins.Connectors, sharingPlugin)
	for i := range 20 {
		h, err := worker.New(worker.Options{Config: cfg, Plugins: plugins, Offsets: worker.NewMemOffsetStore(),
			ClientOpts: []kgo.Opt{kgo.SeedBrokers(b.Addr)}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()
		require.Eventually(t, h.Ready, 10*time.Second, time.Millisecond)
		_, err = h.CreateConnector(context.Background(), "c", map[string]string{"connector.class": "test.SharingSourceConnector"}, "")
		require.NoError(t, err, "round %d", i)
		cancel()
		require.NoError(t, <-done)
	}
}
