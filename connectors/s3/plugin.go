package s3

import (
	"fmt"
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Plugin is the S3 sink plugin.
var Plugin = connect.ConnectorPlugin{
	Class:        "io.sluice.connect.s3.S3SinkConnector",
	Aliases:      []string{"io.confluent.connect.s3.S3SinkConnector"},
	Version:      connect.BuiltinVersion,
	Config:       SinkConfig,
	Doc:          "Writes records to S3 objects with the names and contents of Confluent's S3 sink (JSON, ByteArray, Avro and Parquet; Default, Field and time-based partitioners; key and header sidecars), committing offsets only for files completely uploaded.",
	NewConnector: func() connect.Connector { return &sinkConnector{} },
	NewSinkTask:  func() connect.SinkTask { return newSinkTask() },
}

// sinkConnector runs tasks.max identical tasks; the consumer group splits
// the partitions between them.
type sinkConnector struct{ props map[string]string }

// Start implements connect.Connector.
func (c *sinkConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := parseSettings(config); err != nil {
		return fmt.Errorf("start S3SinkConnector: %w", err)
	}
	c.props = config
	return nil
}

// TaskConfigs implements connect.Connector.
func (c *sinkConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = maps.Clone(c.props)
	}
	return out, nil
}

// Stop implements connect.Connector.
func (c *sinkConnector) Stop() error { return nil }
