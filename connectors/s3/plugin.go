package s3

import (
	"fmt"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Plugin is the S3 sink plugin.
var Plugin = connect.ConnectorPlugin{
	Class:   "io.sluice.connect.s3.S3SinkConnector",
	Aliases: []string{"io.confluent.connect.s3.S3SinkConnector"},
	Version: connect.BuiltinVersion,
	Config:  SinkConfig,
	Doc:     "Writes records to S3 objects with the names and contents of Confluent's S3 sink (JSON, ByteArray, Avro and Parquet; Default, Field and time-based partitioners; key and header sidecars), committing offsets only for files completely uploaded.",
	NewConnector: func() connect.Connector {
		return &sinkConnector{kit.SinkConnector{Check: func(config map[string]string) error {
			if _, err := parseSettings(config); err != nil {
				return fmt.Errorf("start S3SinkConnector: %w", err)
			}
			return nil
		}}}
	},
	NewSinkTask: func() connect.SinkTask { return newSinkTask() },
}

// sinkConnector runs tasks.max identical tasks; the consumer group splits
// the partitions between them.
type sinkConnector struct{ kit.SinkConnector }
