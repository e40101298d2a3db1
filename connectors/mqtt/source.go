package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The source's own keys: Confluent's (§6.1), and mqtt.share.group.
var (
	topicsKey = kit.List("mqtt.topics", nil, connect.High,
		"MQTT topic filters to subscribe to (+ and # wildcards allowed).",
		kit.Required(), kit.Validate(connect.ValidatorFunc{Fn: validateFilters, Desc: "list of MQTT topic filters"}), kit.Group(groupSource, 1))
	kafkaTopicKey = kit.String("kafka.topic", "mqtt", connect.High,
		"Kafka topic the records go to: a fixed name (Confluent's meaning), or a template (a Sluice extension) in which ${topic} stands for the "+
			"MQTT topic (its / made .) and ${topic[N]} for its Nth level from 0, e.g. iot.${topic[1]}; a derived name is made a legal topic name.",
		kit.Validate(connect.ValidatorFunc{Fn: func(_ string, v any) string { s, _ := v.(string); return validTemplate(s) }, Desc: "a topic name or a template with ${topic} / ${topic[N]}"}),
		kit.Group(groupSource, 2))
	qosKey = kit.Int("mqtt.qos", 0, connect.High,
		"Subscription QoS. Confluent's default 0 is at-most-once: the server sends each message once and forgets it, so a crash or a lost connection loses messages. "+
			"Use 1 (or 2) to lose nothing: each message is acknowledged to the server only once the Kafka broker holds its record.",
		kit.Validate(connect.Between(0, 2)), kit.Group(groupSource, 3))
	shareGroupKey = kit.String("mqtt.share.group", "", connect.Low,
		"Shared-subscription group (a Sluice key) used when the connector runs more than one task: each task subscribes to $share/<group>/<filter>, "+
			"so the server gives each message to one task only. Empty means the connector name.",
		kit.NullDefault(), kit.Group(groupSource, 4))

	queueSizeKey = kit.Int("records.buffer.queue.size", defaultQueue, connect.Low,
		"Records a task holds between the MQTT connection and the Kafka producer; while it is full the task stops reading from the server. "+
			"It also bounds the MQTT 5 Receive Maximum (at most 65535): the QoS 1 and 2 messages the server sends before it hears an acknowledgement.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupBuffer, 1))
	batchSizeKey = kit.Int("records.buffer.queue.max.batch.size", 4096, connect.Low,
		"Most records one poll returns.", kit.Validate(connect.AtLeast(1)), kit.Group(groupBuffer, 2))
	emptyTimeoutKey = kit.Int("records.buffer.queue.empty.timeout", 100, connect.Low,
		"Milliseconds a poll waits for records when there are none.", kit.Validate(connect.AtLeast(0)), kit.Group(groupBuffer, 3))
	fullTimeoutKey = kit.Int("records.buffer.queue.full.timeout", 60000, connect.Low,
		"Milliseconds the task waits for room in a full queue before it logs a warning; it keeps waiting (nothing is dropped): "+
			"the server holds the messages meanwhile.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupBuffer, 4))
)

// SourceConfig declares the MQTT source's keys.
var SourceConfig = append(ConnDef(false), kit.Def(topicsKey, kafkaTopicKey, qosKey, shareGroupKey,
	queueSizeKey, batchSizeKey, emptyTimeoutKey, fullTimeoutKey)...)

// The keys the connector adds to each task's config.
const (
	taskIDKey    = "task.id"
	taskCountKey = "task.count"
)

// SourcePlugin is the MQTT source plugin.
var SourcePlugin = connect.ConnectorPlugin{
	Class:   "io.sluice.connect.mqtt.MqttSourceConnector",
	Aliases: []string{"io.confluent.connect.mqtt.MqttSourceConnector"},
	Version: connect.BuiltinVersion,
	Config:  SourceConfig,
	Doc: "Subscribes to an MQTT broker (MQTT 5 or 3.1.1) with a persistent session and writes each message as a record; " +
		"with mqtt.qos 1 or 2 a message is acknowledged to the MQTT broker only once the Kafka broker holds its record, so nothing is lost.",
	NewConnector:  func() connect.Connector { return &sourceConnector{} },
	NewSourceTask: func() connect.SourceTask { return &SourceTask{} },
}

func validateFilters(_ string, v any) string {
	items, _ := v.([]string)
	if len(items) == 0 {
		return "at least one topic filter is required"
	}
	for _, f := range items {
		if msg := filterProblem(strings.TrimSpace(f)); msg != "" {
			return msg
		}
	}
	return ""
}

// filterProblem says what is wrong with an MQTT topic filter, or "".
func filterProblem(f string) string {
	if f == "" {
		return "an empty topic filter"
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return fmt.Sprintf("topic filter %q: # must be the last level", f)
		case l != "#" && l != "+" && strings.ContainsAny(l, "#+"):
			return fmt.Sprintf("topic filter %q: + and # must fill a whole level", f)
		}
	}
	return ""
}

// sourceSettings are a task's parsed config.
type sourceSettings struct {
	conn         ConnConfig
	filters      []string
	qos          byte
	topics       topicMapper
	queueSize    int
	batch        int
	emptyTimeout time.Duration
	fullTimeout  time.Duration
	name         string
	taskID       int
	taskCount    int
	shareGroup   string
}

func parseSource(props map[string]string) (sourceSettings, error) {
	var s sourceSettings
	cfg, err := SourceConfig.Parse(props)
	if err != nil {
		return s, err
	}
	if s.conn, err = ParseConnConfig(cfg); err != nil {
		return s, err
	}
	for _, f := range topicsKey.Get(cfg) {
		s.filters = append(s.filters, strings.TrimSpace(f))
	}
	s.qos = byte(qosKey.Get(cfg))
	s.topics = newTopicMapper(kafkaTopicKey.Get(cfg))
	s.queueSize = int(queueSizeKey.Get(cfg))
	s.batch = int(batchSizeKey.Get(cfg))
	s.emptyTimeout = time.Duration(emptyTimeoutKey.Get(cfg)) * time.Millisecond
	s.fullTimeout = time.Duration(fullTimeoutKey.Get(cfg)) * time.Millisecond
	s.name = props["name"]
	s.taskID, _ = strconv.Atoi(props[taskIDKey])
	s.taskCount, _ = strconv.Atoi(props[taskCountKey])
	s.taskCount = max(1, s.taskCount)
	s.shareGroup = shareGroupKey.Get(cfg)
	if s.shareGroup == "" {
		s.shareGroup = s.name
	}
	if s.shareGroup == "" {
		s.shareGroup = "sluice"
	}
	s.conn.ReceiveMaximum = uint16(min(s.queueSize, receiveWindow))
	if s.conn.ClientID == "" {
		s.conn.ClientID = fmt.Sprintf("sluice-%s-%d", s.name, s.taskID)
	} else if s.taskCount > 1 {
		s.conn.ClientID = fmt.Sprintf("%s-%d", s.conn.ClientID, s.taskID)
	}
	return s, nil
}

// receiveWindow caps the MQTT 5 Receive Maximum the source asks for: the
// QoS 1 and 2 messages the server sends ahead of their acknowledgements.
// paho.golang tracks manual acknowledgements in a list it scans for every
// message received, so its cost per message grows with the window: at
// records.buffer.queue.size (50000) the scan was 15% of the task's CPU
// and the source moved 0.77x what a plain subscriber does; 2048 keeps the
// broker's round trip covered (2048 messages per round trip of a few ms)
// and the scan short.
const receiveWindow = 2048

// subscriptions are the filters a task subscribes to: shared ones when
// the connector runs several tasks.
func (s sourceSettings) subscriptions() []string {
	if s.taskCount <= 1 {
		return s.filters
	}
	out := make([]string, len(s.filters))
	for i, f := range s.filters {
		if strings.HasPrefix(f, "$share/") {
			out[i] = f
			continue
		}
		out[i] = "$share/" + s.shareGroup + "/" + f
	}
	return out
}

// sourceConnector hands every task the whole config, numbered.
type sourceConnector struct {
	props map[string]string
	log   *slog.Logger
}

var _ connect.ConnectorValidator = (*sourceConnector)(nil)

func (c *sourceConnector) Start(ctx connect.ConnectorContext, config map[string]string) error {
	s, err := parseSource(config)
	if err != nil {
		return fmt.Errorf("start MqttSourceConnector: %w", err)
	}
	c.props, c.log = config, ctx.Logger()
	if s.qos == 0 {
		c.log.Warn("mqtt.qos=0: delivery is at-most-once, messages are lost when the task or its connection fails; set mqtt.qos=1 to lose nothing")
	}
	if s.conn.CleanSession {
		c.log.Warn("mqtt.clean.session.enabled=true: the MQTT server drops the session at disconnect, so messages published while the task is away are lost")
	}
	return nil
}

// TaskConfigs gives each task the config with its number and the count
// (several tasks share the filters through shared subscriptions).
func (c *sourceConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	n := max(1, maxTasks)
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = maps.Clone(c.props)
		out[i][taskIDKey] = strconv.Itoa(i)
		out[i][taskCountKey] = strconv.Itoa(n)
	}
	return out, nil
}

func (c *sourceConnector) Stop() error { return nil }

// Validate connects once (bounded by mqtt.connect.timeout.seconds and 15
// seconds) with a throwaway client id and a clean session, and names the
// key at fault: wrong credentials on mqtt.username and mqtt.password, an
// unreachable server or a TLS failure on mqtt.server.uri.
func (c *sourceConnector) Validate(ctx context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	return validateConn(ctx, SourceConfig, config, results)
}

// validateConn is the connection check of Validate, for the source and
// the sink.
func validateConn(ctx context.Context, def connect.ConfigDef, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	add := func(name, msg string) {
		for i := range results {
			if results[i].Name == name {
				results[i].Errors = append(results[i].Errors, msg)
				return
			}
		}
	}
	cfg, err := def.Parse(config)
	if err != nil {
		return results // the per-key errors say why
	}
	conn, err := ParseConnConfig(cfg)
	if err != nil {
		for _, k := range jksKeys {
			if k.Get(cfg) != "" {
				add(k.Name(), jksMessage(k.Name()))
			}
		}
		if len(conn.Servers) == 0 || (conn.TLS.Cert == "") != (conn.TLS.Key == "") {
			add(serverURIKey.Name(), err.Error())
		}
		return results
	}
	limit := min(conn.ConnectTimeout, 15*time.Second)
	conn.ConnectTimeout, conn.MaxRetry = limit, limit
	conn.CleanSession = true
	conn.ClientID = fmt.Sprintf("sluice-validate-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(ctx, limit+2*time.Second)
	defer cancel()
	cl := NewClient(conn, ClientOptions{})
	err = cl.Connect(ctx)
	_ = cl.Close()
	switch {
	case err == nil:
	case errors.Is(err, ErrAuth):
		msg := "the MQTT server refused these credentials: " + err.Error()
		add(usernameKey.Name(), msg)
		add(passwordKey.Name(), msg)
	default:
		add(serverURIKey.Name(), "cannot connect: "+err.Error())
	}
	return results
}
