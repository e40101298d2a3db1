package file

import (
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Config keys, as Kafka's FileStream connectors name them.
const (
	// FileConfig names the file to read or append to.
	FileConfig = "file"
	// TopicConfig names the source's destination topic.
	TopicConfig = "topic"
	// BatchSizeConfig bounds the records one source poll returns.
	BatchSizeConfig = "batch.size"
	// DefaultBatchSize is batch.size's default.
	DefaultBatchSize = 2000
)

// Source is the FileStream source plugin: it reads lines from a file or
// standard input into one topic.
var Source = connect.ConnectorPlugin{
	Class:         "org.apache.kafka.connect.file.FileStreamSourceConnector",
	Version:       connect.BuiltinVersion,
	Config:        SourceConfig,
	ExactlyOnce:   true,
	Doc:           "Reads a text file (or standard input) line by line, tailing it as it grows, and writes each line to a topic as a string.",
	NewConnector:  func() connect.Connector { return &sourceConnector{} },
	NewSourceTask: func() connect.SourceTask { return newSourceTask() },
}

// Sink is the FileStream sink plugin: it appends record values to a file or
// standard output, one per line.
var Sink = connect.ConnectorPlugin{
	Class:   "org.apache.kafka.connect.file.FileStreamSinkConnector",
	Version: connect.BuiltinVersion,
	Config:  SinkConfig,
	Doc:     "Appends the value of every record it consumes to a file (or standard output), one line per record.",
	NewConnector: func() connect.Connector {
		return &sinkConnector{kit.SinkConnector{Check: func(config map[string]string) error {
			if _, err := SinkConfig.Parse(config); err != nil {
				return fmt.Errorf("start FileStreamSinkConnector: %w", err)
			}
			return nil
		}}}
	},
	NewSinkTask: func() connect.SinkTask { return newSinkTask() },
}

// SourceConfig declares the source's keys, with Kafka's types and defaults.
var SourceConfig = connect.ConfigDef{
	{
		Name: FileConfig, Type: connect.ConfigString, Default: nil, Importance: connect.High,
		Doc: "Path of the file to read; when unset, the connector reads standard input.",
	},
	{
		Name: TopicConfig, Type: connect.ConfigString, Default: connect.NoDefault,
		Validator: singleTopic{}, Importance: connect.High,
		Doc: "Topic the lines are written to.",
	},
	{
		Name: BatchSizeConfig, Type: connect.ConfigInt, Default: DefaultBatchSize, Importance: connect.Low,
		Doc: "Maximum number of lines the task returns from one poll of the file.",
	},
}

// SinkConfig declares the sink's keys; the sink's topics key is the
// worker's.
var SinkConfig = connect.ConfigDef{
	{
		Name: FileConfig, Type: connect.ConfigString, Default: nil, Importance: connect.High,
		Doc: "Path of the file to append to; when unset, the connector writes to standard output.",
	},
}

// singleTopic is Kafka's NonEmptyString for the source's topic, which also
// refuses a comma-separated list: Kafka once declared topic as a LIST and
// refused more than one entry with the message below, and a comma is not
// legal in a topic name, so catching it here beats failing at produce time.
type singleTopic struct{}

// Validate implements connect.Validator.
func (singleTopic) Validate(_ string, v any) string {
	s, _ := v.(string)
	switch {
	case v == nil:
		return ""
	case s == "":
		return "String must be non-empty"
	case strings.Contains(s, ","):
		return "'topic' in FileStreamSourceConnector configuration requires definition of a single topic"
	}
	return ""
}

func (singleTopic) String() string { return "non-empty string" }

// sourceConnector hands its whole config to a single task: one input stream
// cannot be split.
type sourceConnector struct{ props map[string]string }

func (c *sourceConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := SourceConfig.Parse(config); err != nil {
		return fmt.Errorf("start FileStreamSourceConnector: %w", err)
	}
	c.props = config
	return nil
}

func (c *sourceConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{maps.Clone(c.props)}, nil
}

func (c *sourceConnector) Stop() error { return nil }

// sinkConnector runs tasks.max identical tasks, each appending to the file.
type sinkConnector struct{ kit.SinkConnector }
