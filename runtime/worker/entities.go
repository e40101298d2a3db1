package worker

import "strconv"

// The JSON entities of the Kafka Connect REST API, with Kafka's field names
// (org.apache.kafka.connect.runtime.rest.entities). The herder returns them
// and the REST layer encodes them as they are.

// State is a connector or task state as the status API reports it.
type State string

// The states (Kafka's AbstractStatus.State; DESTROYED is never shown).
const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
	StateStopped    State = "STOPPED"
	StateDestroyed  State = "DESTROYED"
)

// TargetState is the state a connector is asked to be in.
type TargetState string

// The target states (Kafka's TargetState).
const (
	TargetStarted TargetState = "STARTED"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

// ConnectorTaskID names one task.
type ConnectorTaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

// ConnectorInfo is a connector's config and tasks.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []ConnectorTaskID `json:"tasks"`
	Type   string            `json:"type"`
}

// TaskInfo is one task's id and config.
type TaskInfo struct {
	ID     ConnectorTaskID   `json:"id"`
	Config map[string]string `json:"config"`
}

// ConnectorState is the connector part of a status.
type ConnectorState struct {
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// TaskState is one task's status.
type TaskState struct {
	ID       int    `json:"id"`
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
	// Info is what a task this worker runs says about itself
	// (connect.TaskInfo: a push source's listen address), a Sluice
	// extension Kafka's clients ignore.
	Info map[string]string `json:"info,omitempty"`
}

// ConnectorStateInfo is GET /connectors/{name}/status.
type ConnectorStateInfo struct {
	Name      string         `json:"name"`
	Connector ConnectorState `json:"connector"`
	Tasks     []TaskState    `json:"tasks"`
	Type      string         `json:"type"`
}

// ConnectorOffset is one source partition's offset (for sinks
// {"kafka_topic","kafka_partition"} and {"kafka_offset"}); a nil Offset in
// an alter request resets the partition.
type ConnectorOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// ConnectorOffsets is the body of the offsets API.
type ConnectorOffsets struct {
	Offsets []ConnectorOffset `json:"offsets"`
}

// PluginInfo is one entry of GET /connector-plugins.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// ConfigKeyInfo describes one config key (ConfigKeyInfo).
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	Order         int      `json:"order"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
}

// ConfigValueInfo is one key's validation result (ConfigValueInfo).
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// ConfigInfo pairs a key's definition with its validation result.
type ConfigInfo struct {
	// Definition is null for a key the connector does not declare but
	// reported an error on (a pattern key such as column.mask.hash.*),
	// as in Kafka's AbstractHerder.generateResult.
	Definition *ConfigKeyInfo  `json:"definition"`
	Value      ConfigValueInfo `json:"value"`
}

// ConfigInfos is the validate endpoint's answer.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// ServerInfo is GET /.
type ServerInfo struct {
	Version        string `json:"version"`
	Commit         string `json:"commit"`
	KafkaClusterID string `json:"kafka_cluster_id"`
}

// String renders the id as Kafka does: connector-task.
func (id ConnectorTaskID) String() string { return id.Connector + "-" + strconv.Itoa(id.Task) }
