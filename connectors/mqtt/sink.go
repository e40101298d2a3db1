package mqtt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// The sink's classes.
const (
	// SinkClass is Sluice's MQTT sink; it takes Confluent's keys.
	SinkClass = "io.sluice.connect.mqtt.MqttSinkConnector"
	// ConfluentSinkClass is Confluent's MQTT sink, whose keys SinkClass
	// takes.
	ConfluentSinkClass = "io.confluent.connect.mqtt.MqttSinkConnector"
)

const groupSink = "Sink"

// The null-value behaviours (behavior.on.null.values).
const (
	nullIgnore = "ignore"
	nullLog    = "log"
	nullFail   = "fail"
	nullDelete = "delete"
)

// The sink's keys: Confluent's (§6.2) and two of Sluice's.
var (
	sinkQoSKey = kit.Int("mqtt.qos", 0, connect.Medium,
		"QoS of the messages published: 0 (at most once: the flush waits only until written), 1 (the flush waits for every PUBACK) or 2 (for every PUBCOMP). "+
			"Offsets are committed only for records whose messages were acknowledged, so 1 or 2 give at-least-once.",
		kit.Validate(connect.Between(0, 2)), kit.Group(groupSink, 1))
	retainedKey = kit.Bool("mqtt.retained.enabled", true, connect.Medium,
		"Whether messages are published retained. true, Confluent's default, is kept for compatibility and often surprises: "+
			"the server keeps the last message of every topic and hands it to every new subscriber. Set false for a plain stream.",
		kit.Group(groupSink, 2))
	publishTimeoutKey = kit.Int("mqtt.publish.timeout.ms", 30000, connect.Low,
		"How long one message may wait for its acknowledgement before the flush fails and the records from the first unacknowledged one "+
			"are published again; 0 or -1 waits forever.",
		kit.Validate(connect.AtLeast(-1)), kit.Group(groupSink, 3))
	topicFormatKey = kit.String("mqtt.topic.format", "${topic}", connect.Medium,
		"The MQTT topic of a record's message (a Sluice key; Confluent publishes to the Kafka topic's name, the default): a text with "+
			"${topic} (the record's topic), ${key} (its key as text) and ${header.NAME} (the value of its header NAME as text). "+
			"A record whose topic cannot be made (a null key, a missing header, a result with + # or NUL) goes to errors.tolerance and the dead letter queue.",
		kit.Validate(connect.ValidatorFunc{Fn: validTopicFormat, Desc: "text with ${topic}, ${key}, ${header.NAME}"}), kit.Group(groupSink, 4))
	nullValuesKey = kit.String("behavior.on.null.values", nullLog, connect.Low,
		"What a record with a null value (a tombstone) does (a Sluice key, named as Confluent's other sinks name it): "+
			"log (skip it, logged at Info), ignore (skip it silently), fail (error: errors.tolerance and the dead letter queue), or "+
			"delete (publish an empty retained message, which clears the topic's retained message on the server).",
		kit.Validate(connect.OneOf{Values: []string{nullLog, nullIgnore, nullFail, nullDelete}}), kit.Group(groupSink, 5))
)

// SinkConfig declares the sink's keys: the connection keys (clean
// session on by default, Confluent's default) and the publishing keys.
var SinkConfig = append(ConnDef(true), kit.Def(sinkQoSKey, retainedKey, publishTimeoutKey, topicFormatKey, nullValuesKey)...)

// SinkPlugin is the MQTT sink connector plugin.
var SinkPlugin = connect.ConnectorPlugin{
	Class:   SinkClass,
	Aliases: []string{ConfluentSinkClass},
	Version: connect.BuiltinVersion,
	Config:  SinkConfig,
	Doc: "Publishes records to an MQTT server (v5 or 3.1.1) with Confluent's keys: the value as the payload (bytes as is, " +
		"strings as UTF-8, anything else as JSON), to the Kafka topic's name or a template of topic, key and headers, at QoS 0, 1 or 2, " +
		"retained by default as Confluent does. Publishes are pipelined in order and offsets are committed only once acknowledged.",
	NewConnector: func() connect.Connector { return &sinkConnector{} },
	NewSinkTask:  func() connect.SinkTask { return &sinkTask{} },
}

// sinkSettings are a sink task's resolved keys.
type sinkSettings struct {
	conn    ConnConfig
	qos     byte
	retain  bool
	timeout time.Duration // 0: forever
	topic   *topicFormat
	nulls   string
	json    *convert.JSONConverter
}

// resolveSink reads config, returning every bad key at once.
func resolveSink(config map[string]string) (*sinkSettings, error) {
	cfg, err := SinkConfig.Parse(config)
	if err != nil {
		return nil, err
	}
	var errs []error
	s := &sinkSettings{
		qos: byte(sinkQoSKey.Get(cfg)), retain: retainedKey.Get(cfg), nulls: nullValuesKey.Get(cfg),
	}
	if ms := publishTimeoutKey.Get(cfg); ms > 0 {
		s.timeout = time.Duration(ms) * time.Millisecond
	}
	if s.conn, err = ParseConnConfig(cfg); err != nil {
		errs = append(errs, err)
	}
	if s.topic, err = parseTopicFormat(topicFormatKey.Get(cfg)); err != nil {
		errs = append(errs, connect.NewConfigError(topicFormatKey.Name(), "%s: %v", topicFormatKey.Name(), err))
	}
	s.json = convert.NewJSONConverter()
	if err := s.json.Configure(map[string]string{"schemas.enable": "false", "decimal.format": "NUMERIC"}, false); err != nil {
		errs = append(errs, fmt.Errorf("JSON writer: %w", err))
	}
	if s.nulls == nullDelete && !s.retain {
		errs = append(errs, connect.NewConfigError(nullValuesKey.Name(),
			"%s=delete publishes an empty retained message, which needs mqtt.retained.enabled=true", nullValuesKey.Name()))
	}
	return s, errors.Join(errs...)
}

// sinkConnector checks the config and gives each task its own client id.
type sinkConnector struct {
	kit.SinkConnector
}

// Start implements connect.Connector.
func (c *sinkConnector) Start(ctx connect.ConnectorContext, config map[string]string) error {
	c.Check = func(config map[string]string) error {
		if _, err := resolveSink(config); err != nil {
			return fmt.Errorf("start MQTT sink connector: %w", err)
		}
		return nil
	}
	return c.SinkConnector.Start(ctx, config)
}

// TaskConfigs implements connect.Connector: every task gets the config
// with its own mqtt.client.id (two connections with one id kick each
// other off the server): the configured id, or sluice-<connector name>,
// followed by -<task number> when there are several tasks or no id was
// set.
func (c *sinkConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	configs, err := c.SinkConnector.TaskConfigs(maxTasks)
	if err != nil {
		return nil, err
	}
	for i, cfg := range configs {
		id := cfg[clientIDKey.Name()]
		if id == "" {
			id = "sluice-" + cfg["name"] + "-" + strconv.Itoa(i)
		} else if len(configs) > 1 {
			id += "-" + strconv.Itoa(i)
		}
		configs[i] = maps.Clone(cfg)
		configs[i][clientIDKey.Name()] = id
	}
	return configs, nil
}

// Validate implements connect.ConnectorValidator: the cross-key
// problems, then, when the keys are good, one connection to the server
// (validateConn, shared with the source), whose failure is reported on
// the key at fault.
func (c *sinkConnector) Validate(ctx context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	_, err := resolveSink(config)
	return validateConn(ctx, SinkConfig, config, kit.AddConfigErrors(results, err))
}
