package datagen

import (
	"fmt"
	"maps"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Config keys.
const (
	TopicConfig          = "kafka.topic"
	QuickstartConfig     = "quickstart"
	MaxIntervalConfig    = "max.interval"
	IterationsConfig     = "iterations"
	RandomSeedConfig     = "random.seed"
	RateConfig           = "rate"
	KeyCardinalityConfig = "key.cardinality"
	MessageSizeConfig    = "message.size"
	BatchSizeConfig      = "batch.size"
	// TaskIDConfig is set by the connector in each task's config.
	TaskIDConfig = "task.id"
)

// Plugin is the data generator source plugin.
var Plugin = connect.ConnectorPlugin{
	Class:         "io.sluice.connect.datagen.DatagenConnector",
	Aliases:       []string{"io.confluent.kafka.connect.datagen.DatagenConnector"},
	Version:       connect.BuiltinVersion,
	ExactlyOnce:   true,
	Config:        Config,
	Doc:           "Generates mock records (users, pageviews, orders, or fixed-size bench records) at a chosen rate, for demos, tests and benchmarks.",
	NewConnector:  func() connect.Connector { return &connector{} },
	NewSourceTask: func() connect.SourceTask { return &task{} },
}

// Config declares the generator's keys.
var Config = connect.ConfigDef{
	{
		Name: TopicConfig, Type: connect.ConfigString, Default: connect.NoDefault, Validator: nonEmpty{},
		Importance: connect.High, Doc: "Topic the generated records are written to.",
	},
	{
		Name: QuickstartConfig, Type: connect.ConfigString, Default: "users",
		Validator:  connect.OneOf{Values: quickstartNames(), CaseInsensitive: true},
		Importance: connect.High, Doc: "Shape of the generated records: users, pageviews, orders, or bench (fixed-size payloads for load tests).",
	},
	{
		Name: MaxIntervalConfig, Type: connect.ConfigLong, Default: int64(500), Validator: connect.AtLeast(0),
		Importance: connect.High, Doc: "Maximum time in milliseconds a task waits between two records (a random wait up to this bound); 0 generates as fast as possible.",
	},
	{
		Name: IterationsConfig, Type: connect.ConfigInt, Default: -1,
		Importance: connect.High, Doc: "Number of records each task generates before going idle, or less than 1 for no limit.",
	},
	{
		Name: RandomSeedConfig, Type: connect.ConfigLong, Default: nil,
		Importance: connect.Low, Doc: "Seed that makes the generated data reproducible: the same seed gives every task the same records on every run, and each task different ones.",
	},
	{
		Name: RateConfig, Type: connect.ConfigDouble, Default: 0.0, Validator: connect.AtLeast(0),
		Importance: connect.Medium, Doc: "Records per second each task generates, evenly spaced; when greater than 0 it replaces max.interval.",
	},
	{
		Name: KeyCardinalityConfig, Type: connect.ConfigLong, Default: int64(1000), Validator: connect.AtLeast(1),
		Importance: connect.Medium, Doc: "Number of distinct record keys.",
	},
	{
		Name: MessageSizeConfig, Type: connect.ConfigInt, Default: 1024, Validator: connect.Between(0, maxMessageSize),
		Importance: connect.Medium, Doc: "Length in bytes of the payload field of quickstart=bench records, which sets their approximate size.",
	},
	{
		Name: BatchSizeConfig, Type: connect.ConfigInt, Default: 1000, Validator: connect.AtLeast(1),
		Importance: connect.Low, Doc: "Maximum number of records a task returns from one poll.",
	},
}

const maxMessageSize = 16 << 20

// nonEmpty is Kafka's NonEmptyString validator, with its message.
type nonEmpty struct{}

// Validate implements connect.Validator.
func (nonEmpty) Validate(_ string, v any) string {
	if s, ok := v.(string); ok && s == "" {
		return "String must be non-empty"
	}
	return ""
}

func (nonEmpty) String() string { return "non-empty string" }

// connector gives each of tasks.max tasks the whole config plus its id.
type connector struct{ props map[string]string }

func (c *connector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := Config.Parse(config); err != nil {
		return fmt.Errorf("start DatagenConnector: %w", err)
	}
	c.props = config
	return nil
}

func (c *connector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	out := make([]map[string]string, maxTasks)
	for i := range out {
		out[i] = make(map[string]string, len(c.props)+1)
		maps.Copy(out[i], c.props)
		out[i][TaskIDConfig] = strconv.Itoa(i)
	}
	return out, nil
}

func (c *connector) Stop() error { return nil }
