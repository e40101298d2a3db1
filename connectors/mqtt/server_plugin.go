package mqtt

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The groups of the built-in server's keys in the docs and the validate
// answer.
const (
	groupServerListen = "Listeners"
	groupServerAuth   = "Authentication"
	groupServerLimits = "Limits"
)

// serverListenerSyntax reads the listeners: host:port, or mqtt:// or tcp://
// (plain), mqtts://, ssl:// or tls:// (TLS).
var serverListenerSyntax = kit.ListenerSyntax{Plain: []string{"mqtt", "tcp"}, TLS: []string{"mqtts", "ssl", "tls"}}

// The built-in MQTT server's keys. listeners, the ssl.* keys,
// max.connections and the max.queue.* keys are the HTTP source's (Kafka's
// and Debezium's names); kafka.topic is Confluent's MQTT source's. The
// others are Sluice's own: Confluent has no MQTT server.
var (
	srvListenersKey = kit.List("listeners", nil, connect.High,
		"Addresses the MQTT server listens on, each host:port or mqtt://host:port (plain TCP), or mqtts://host:port or ssl://host:port "+
			"(TLS with the ssl.* keys). Port 0 picks a free port. Each task owns some of the listeners: min(tasks.max, number of listeners) tasks.",
		kit.Required(), kit.Validate(serverListenerSyntax.Validator()),
		kit.Group(groupServerListen, 1))
	srvTopicKey = kit.String("kafka.topic", "", connect.High,
		"Kafka topic the messages are written to: a fixed name (Confluent's meaning), or a template in which ${topic} stands for the MQTT topic "+
			"(its / made .) and ${topic[N]} for its Nth level from 0, e.g. iot.${topic[1]}; a templated name is made legal "+
			"(characters outside [a-zA-Z0-9._-] become _).",
		kit.Required(), kit.Validate(connect.ValidatorFunc{Fn: validateTopicKey, Desc: "a topic name or a template with ${topic} / ${topic[N]}"}),
		kit.Group(groupServerListen, 2))
	srvCredentialsKey = kit.Password("mqtt.credentials", connect.High,
		"(A Sluice key.) Comma-separated username:password pairs a client must present in CONNECT; a client without a matching pair is "+
			"refused (CONNACK 0x86 in v5, 0x04 in v3.1.1). Empty means no password is asked (use ssl.client.auth=required to ask for a "+
			"client certificate instead, or as well).", kit.Group(groupServerAuth, 1))
	srvMaxConnsKey = kit.Int("max.connections", 1024, connect.Medium,
		"Open connections per listener. When all are taken, the oldest connection that has not yet sent its CONNECT is closed to make room, "+
			"or else the new one is.", kit.Validate(connect.AtLeast(1)), kit.Group(groupServerLimits, 1))
	srvMaxPacketKey = kit.Int("mqtt.max.packet.size", 1000000, connect.Medium,
		"(A Sluice key.) Largest MQTT packet accepted, in bytes, advertised to v5 clients as Maximum Packet Size; a bigger one ends the "+
			"connection (DISCONNECT 0x95 in v5). Keep it below the producer's max.request.size (1048576 by default).",
		kit.Validate(connect.Between(64, 268435455)), kit.Group(groupServerLimits, 2))
	srvReceiveMaxKey = kit.Int("mqtt.receive.maximum", 4096, connect.Medium,
		"(A Sluice key.) QoS 1 and 2 messages a client may have unacknowledged at once, advertised to v5 clients as Receive Maximum; a v5 "+
			"client that sends more is disconnected (0x93). It also bounds a v3.1.1 client's: the server stops reading from it while that many wait.",
		kit.Validate(connect.Between(1, 65535)), kit.Group(groupServerLimits, 3))
	srvConnectTimeoutKey = kit.Millis("mqtt.connect.timeout.ms", 10*time.Second, connect.Low,
		"(A Sluice key.) How long a new connection (and its TLS handshake) may take to send its CONNECT; a silent one is closed.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupServerLimits, 4))
	srvMaxKeepAliveKey = kit.Int("mqtt.max.keepalive.seconds", 600, connect.Low,
		"(A Sluice key.) Largest keep-alive a client may ask; a v5 client asking more (or 0, none) is told this one (Server Keep Alive). "+
			"A client that sends nothing for 1.5 times its keep-alive is disconnected.",
		kit.Validate(connect.Between(1, 65535)), kit.Group(groupServerLimits, 5))
	srvWriteTimeoutKey = kit.Millis("mqtt.write.timeout.ms", 30*time.Second, connect.Low,
		"(A Sluice key.) How long writing acknowledgements to a client may block; a client that does not read them is disconnected.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupServerLimits, 6))
	srvQueueRecordsKey = kit.Int("max.queue.size", kit.DefaultMaxRecords, connect.Low,
		"Messages a task holds for the broker (Debezium's name); the server stops reading from clients while they do not fit.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupServerLimits, 7))
	srvQueueBytesKey = kit.Long("max.queue.size.in.bytes", 64<<20, connect.Low,
		"Bytes of messages a task holds for the broker (Debezium's name); 0 for no byte bound.",
		kit.Validate(connect.AtLeast(0)), kit.Group(groupServerLimits, 8))
)

// srvTLSKeys are the listeners' TLS keys: Kafka's PEM names for a server,
// as the HTTP source's.
var srvTLSKeys = kit.TLSKeys{
	CA:         "ssl.truststore.certificates",
	Cert:       "ssl.keystore.certificate.chain",
	Key:        "ssl.keystore.key",
	ClientAuth: "ssl.client.auth",
	Group:      "TLS",
}

// ServerConfig declares the built-in MQTT server's keys.
var ServerConfig = append(kit.Def(srvListenersKey, srvTopicKey, srvCredentialsKey,
	srvMaxConnsKey, srvMaxPacketKey, srvReceiveMaxKey, srvConnectTimeoutKey, srvMaxKeepAliveKey, srvWriteTimeoutKey,
	srvQueueRecordsKey, srvQueueBytesKey), srvTLSKeys.Def()...)

// srvTaskIDKey is set by the connector in each task's config, naming the
// task in logs and serverAddrs.
const srvTaskIDKey = "task.id"

// ServerPlugin is the built-in MQTT server source plugin.
var ServerPlugin = connect.ConnectorPlugin{
	Class:   "io.sluice.connect.mqtt.MqttServerSourceConnector",
	Version: connect.BuiltinVersion,
	Config:  ServerConfig,
	Doc: "An MQTT v5 and v3.1.1 server devices publish to directly: each PUBLISH becomes a record (key the MQTT topic, value the payload), " +
		"answered PUBACK (QoS 1) or PUBREC (QoS 2) only once the broker holds it.",
	NewConnector:  func() connect.Connector { return &serverConnector{} },
	NewSourceTask: func() connect.SourceTask { return &ServerTask{} },
}

func validateTopicKey(_ string, v any) string {
	s, _ := v.(string)
	return validTemplate(s)
}

// serverConfig is a task's parsed configuration.
type serverConfig struct {
	listeners      []kit.Listener
	tls            kit.TLS
	topics         topicMapper
	credentials    map[string]string // username → password; nil: none asked
	maxConns       int
	maxPacket      int
	receiveMax     int
	connectTimeout time.Duration
	maxKeepAlive   int
	writeTimeout   time.Duration
	queueRecords   int
	queueBytes     int64
}

// parseServerConfig reads and checks a connector or task config.
func parseServerConfig(props map[string]string) (*serverConfig, error) {
	cfg, err := ServerConfig.Parse(props)
	if err != nil {
		return nil, err
	}
	return serverSettings(cfg)
}

// serverSettings reads a parsed config, checking what crosses keys.
func serverSettings(cfg connect.Config) (*serverConfig, error) {
	c := &serverConfig{
		tls:            srvTLSKeys.Values(cfg),
		topics:         newTopicMapper(srvTopicKey.Get(cfg)),
		maxConns:       int(srvMaxConnsKey.Get(cfg)),
		maxPacket:      int(srvMaxPacketKey.Get(cfg)),
		receiveMax:     int(srvReceiveMaxKey.Get(cfg)),
		connectTimeout: srvConnectTimeoutKey.Get(cfg),
		maxKeepAlive:   int(srvMaxKeepAliveKey.Get(cfg)),
		writeTimeout:   srvWriteTimeoutKey.Get(cfg),
		queueRecords:   int(srvQueueRecordsKey.Get(cfg)),
		queueBytes:     srvQueueBytesKey.Get(cfg),
	}
	for _, s := range srvListenersKey.Get(cfg) {
		l, err := serverListenerSyntax.Parse(s)
		if err != nil {
			return nil, connect.NewConfigError(srvListenersKey.Name(), "listeners: %v", err)
		}
		if l.TLS && c.tls.Cert == "" {
			return nil, connect.NewConfigError(srvListenersKey.Name(), "listeners: %s needs %s and %s", s, srvTLSKeys.Cert, srvTLSKeys.Key)
		}
		c.listeners = append(c.listeners, l)
	}
	for _, pair := range strings.Split(srvCredentialsKey.Get(cfg), ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		user, pwd, ok := strings.Cut(pair, ":")
		if !ok || user == "" {
			return nil, connect.NewConfigError(srvCredentialsKey.Name(), "%s: entry %d is not username:password", srvCredentialsKey.Name(), len(c.credentials)+1)
		}
		if c.credentials == nil {
			c.credentials = map[string]string{}
		}
		c.credentials[user] = pwd
	}
	return c, nil
}

// serverConnector splits the listeners among the tasks.
type serverConnector struct{ props map[string]string }

var _ connect.ConnectorValidator = (*serverConnector)(nil)

func (c *serverConnector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := parseServerConfig(config); err != nil {
		return fmt.Errorf("start MqttServerSourceConnector: %w", err)
	}
	c.props = config
	return nil
}

// TaskConfigs gives each of min(maxTasks, listeners) tasks its share of
// the listeners, dealt round-robin.
func (c *serverConnector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	cfg, err := ServerConfig.Parse(c.props)
	if err != nil {
		return nil, err
	}
	return kit.DealListeners(c.props, srvListenersKey.Get(cfg), srvListenersKey.Name(), srvTaskIDKey, maxTasks), nil
}

func (c *serverConnector) Stop() error { return nil }

// Validate adds the checks across keys: TLS listeners need a
// certificate, credentials must be username:password pairs, client
// certificates need a CA.
func (c *serverConnector) Validate(_ context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	cfg, err := ServerConfig.Parse(config)
	if err != nil {
		return results // the per-key errors say why
	}
	sc, err := serverSettings(cfg)
	if err == nil && (anyTLS(sc.listeners) || !strings.EqualFold(sc.tls.ClientAuth, "none") && sc.tls.ClientAuth != "") {
		if _, terr := sc.tls.Server(); terr != nil {
			key := srvTLSKeys.Cert
			if strings.Contains(terr.Error(), "client auth") {
				key = srvTLSKeys.ClientAuth
			}
			err = connect.NewConfigError(key, "%v", terr)
		}
	}
	return kit.AddConfigErrors(results, err)
}

func anyTLS(ls []kit.Listener) bool {
	for _, l := range ls {
		if l.TLS {
			return true
		}
	}
	return false
}
