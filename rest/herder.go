package rest

import (
	"context"
	"io"

	"github.com/sluicehq/sluice/runtime/worker"
)

// Herder is what the REST API needs from the worker: the herder
// (runtime/worker) implements it. Errors wrap the worker package's
// sentinels (ErrNotFound, ErrAlreadyExists, ErrBadRequest, ErrConflict,
// ErrForbidden); anything else is a 500. A *worker.RedirectError makes the
// REST layer forward the request to the worker it names. Methods may block until the
// change is durable in the config topic; ctx carries the request deadline.
type Herder interface {
	ServerInfo(ctx context.Context) (worker.ServerInfo, error)
	// WriteMetrics writes the worker's metrics in the Prometheus text
	// format (GET /metrics).
	WriteMetrics(w io.Writer) error
	// Ready reports whether startup completed (GET /health).
	Ready() bool
	// Healthy answers within the deadline when the herder is not stuck.
	Healthy(ctx context.Context) error

	Connectors(ctx context.Context) ([]string, error)
	ConnectorInfo(ctx context.Context, name string) (worker.ConnectorInfo, error)
	ConnectorConfig(ctx context.Context, name string) (map[string]string, error)
	ConnectorStatus(ctx context.Context, name string) (worker.ConnectorStateInfo, error)
	Tasks(ctx context.Context, name string) ([]worker.TaskInfo, error)
	TaskStatus(ctx context.Context, name string, task int) (worker.TaskState, error)

	// CreateConnector creates a connector; initial is "" for RUNNING.
	CreateConnector(ctx context.Context, name string, config map[string]string, initial worker.TargetState) (worker.ConnectorInfo, error)
	// PutConnectorConfig creates or replaces a config; created says which.
	PutConnectorConfig(ctx context.Context, name string, config map[string]string) (info worker.ConnectorInfo, created bool, err error)
	// PatchConnectorConfig merges patch into the config; nil values remove keys.
	PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (worker.ConnectorInfo, error)
	DeleteConnector(ctx context.Context, name string) error

	// RestartConnector restarts as KIP-745 describes; a nil state means the
	// legacy connector-only restart (204), otherwise 202 with the state.
	RestartConnector(ctx context.Context, name string, includeTasks, onlyFailed bool) (*worker.ConnectorStateInfo, error)
	RestartTask(ctx context.Context, name string, task int) error
	PauseConnector(ctx context.Context, name string) error
	ResumeConnector(ctx context.Context, name string) error
	StopConnector(ctx context.Context, name string) error

	ConnectorTopics(ctx context.Context, name string) ([]string, error)
	ResetConnectorTopics(ctx context.Context, name string) error

	Offsets(ctx context.Context, name string) (worker.ConnectorOffsets, error)
	// AlterOffsets and ResetOffsets return the success message.
	AlterOffsets(ctx context.Context, name string, offsets worker.ConnectorOffsets) (string, error)
	ResetOffsets(ctx context.Context, name string) (string, error)

	// PutTaskConfigs is the internal endpoint a worker running a connector
	// uses to hand its task configs to the leader.
	PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error

	Plugins(connectorsOnly bool) []worker.PluginInfo
	// PluginConfig returns a plugin's config keys; unknown plugin is ErrNotFound.
	PluginConfig(plugin string) ([]worker.ConfigKeyInfo, error)
	// ValidateConfig validates config for plugin (ErrBadRequest when
	// connector.class names another plugin).
	ValidateConfig(ctx context.Context, plugin string, config map[string]string) (worker.ConfigInfos, error)
}
