package mqtt

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The groups of the keys in the docs and the validate answer.
const (
	groupConn    = "Connection"
	groupTLS     = "TLS"
	groupSource  = "Source"
	groupBuffer  = "Buffer"
	versionAuto  = "auto"
	version5     = "5"
	version311   = "3.1.1"
	maxReceive   = 65535 // MQTT v5 Receive Maximum's largest value
	defaultQueue = 50000
)

// The connection keys, shared by the source and the sink: Confluent's
// names (§6.1), plus Sluice's mqtt.version, session expiry and PEM TLS
// keys.
var (
	serverURIKey = kit.List("mqtt.server.uri", nil, connect.High,
		"MQTT servers to connect to, tried in order: tcp://host:1883 or mqtt://host:1883 (plain), ssl://host:8883 or mqtts://host:8883 (TLS with the mqtt.ssl.* keys).",
		kit.Required(), kit.Validate(connect.ValidatorFunc{Fn: validateServers, Desc: "list of tcp://, mqtt://, ssl:// or mqtts:// host:port"}), kit.Group(groupConn, 1))
	usernameKey = kit.Password("mqtt.username", connect.High,
		"User name to connect with (a password-type key, as Confluent declares it, so it is masked).", kit.Group(groupConn, 2))
	passwordKey = kit.Password("mqtt.password", connect.High,
		"Password to connect with.", kit.Group(groupConn, 3))
	clientIDKey = kit.String("mqtt.client.id", "", connect.Medium,
		"Client id. The source's session on the server is kept under it, so it must stay the same across restarts and differ from every other client's. "+
			"Empty means one derived from the connector name: sluice-<connector name>-<task number>. With several tasks, each task's id is this value followed by -<task number>.",
		kit.NullDefault(), kit.Group(groupConn, 4))
	connectTimeoutKey = kit.Int("mqtt.connect.timeout.seconds", 30, connect.Low,
		"Seconds one connection attempt may take (TCP, TLS and the MQTT CONNECT/CONNACK).", kit.Validate(connect.AtLeast(1)), kit.Group(groupConn, 5))
	keepAliveKey = kit.Int("mqtt.keepalive.interval.seconds", 60, connect.Low,
		"Keep-alive interval in seconds: the longest the client stays silent before it pings the server; 0 turns keep-alive off.",
		kit.Validate(connect.Between(0, 65535)), kit.Group(groupConn, 6))
	maxRetryKey = kit.Millis("max.retry.time.ms", 30*time.Second, connect.Low,
		"How long the client keeps trying to connect, with backoff, before it gives up: at start, and after a connection is lost "+
			"(the task then fails; the server keeps the persistent session and its queued messages meanwhile). 0 means without end.",
		kit.Validate(connect.AtLeast(0)), kit.Group(groupConn, 7))
	versionKey = kit.String("mqtt.version", versionAuto, connect.Low,
		"MQTT protocol version (a Sluice key): 5, 3.1.1, or auto (MQTT 5, falling back to 3.1.1 when the server refuses 5).",
		kit.Validate(connect.OneOf{Values: []string{versionAuto, version5, version311}}), kit.Group(groupConn, 8))
	sessionExpiryKey = kit.Long("mqtt.session.expiry.interval.seconds", 7*24*3600, connect.Low,
		"MQTT 5 Session Expiry Interval (a Sluice key): how long the server keeps the session and its queued messages after the client disconnects, "+
			"when mqtt.clean.session.enabled=false. 4294967295 means never. MQTT 3.1.1 servers keep a persistent session by their own settings "+
			"(Mosquitto: persistent_client_expiration).",
		kit.Validate(connect.Between(1, 4294967295)), kit.Group(groupConn, 9))

	// Confluent's JKS keys: declared so a config written for Confluent
	// gets a clear answer, refused when set.
	jksKeys = []kit.Key[string]{
		kit.Password("mqtt.ssl.trust.store.path", connect.Low, "Confluent's JKS trust store: not supported (Go reads no JKS); give the CA certificates as PEM in mqtt.ssl.ca.", kit.Group(groupTLS, 10)),
		kit.Password("mqtt.ssl.trust.store.password", connect.Low, "Confluent's JKS trust store password: not supported; PEM in mqtt.ssl.ca has none.", kit.Group(groupTLS, 11)),
		kit.Password("mqtt.ssl.key.store.path", connect.Low, "Confluent's JKS key store: not supported; give the client certificate and key as PEM in mqtt.ssl.cert and mqtt.ssl.key.", kit.Group(groupTLS, 12)),
		kit.Password("mqtt.ssl.key.store.password", connect.Low, "Confluent's JKS key store password: not supported; mqtt.ssl.key is an unencrypted PEM key.", kit.Group(groupTLS, 13)),
		kit.Password("mqtt.ssl.key.password", connect.Low, "Confluent's JKS key password: not supported; mqtt.ssl.key is an unencrypted PEM key.", kit.Group(groupTLS, 14)),
	}
)

// tlsKeys are the PEM TLS keys (Sluice's: Confluent has JKS only):
// mqtt.ssl.ca, mqtt.ssl.cert, mqtt.ssl.key, mqtt.ssl.verify.hostname,
// mqtt.ssl.min.version.
var tlsKeys = func() kit.TLSKeys {
	k := kit.PrefixedTLSKeys("mqtt.ssl.", false)
	k.Group = groupTLS
	return k
}()

// cleanSessionKey declares mqtt.clean.session.enabled with the
// connector's default: false for the source (a persistent session is
// what makes it lose nothing; Confluent's default is true).
func cleanSessionKey(def bool) kit.Key[bool] {
	return kit.Bool("mqtt.clean.session.enabled", def, connect.Medium,
		"Whether the session starts clean: true discards the server's session for this client id at connect (MQTT 5: Clean Start, and a session that ends at disconnect). "+
			"false keeps a persistent session, so the server queues QoS 1 and 2 messages while the client is away and redelivers unacknowledged ones.",
		kit.Group(groupConn, 10))
}

// ConnDef declares the connection keys; cleanDefault is
// mqtt.clean.session.enabled's default for the connector.
func ConnDef(cleanDefault bool) connect.ConfigDef {
	keys := []kit.Declared{serverURIKey, usernameKey, passwordKey, clientIDKey, connectTimeoutKey, keepAliveKey, maxRetryKey,
		versionKey, sessionExpiryKey, cleanSessionKey(cleanDefault)}
	for _, k := range jksKeys {
		keys = append(keys, k)
	}
	return append(kit.Def(keys...), tlsKeys.Def()...)
}

// ConnConfig is how to connect to an MQTT server: the connection keys'
// values.
type ConnConfig struct {
	Servers        []*url.URL // schemes normalised to tcp or ssl
	Username       string
	Password       string
	ClientID       string // empty: the connector derives one
	ConnectTimeout time.Duration
	KeepAlive      time.Duration
	MaxRetry       time.Duration
	CleanSession   bool
	Version        string // auto, 5 or 3.1.1
	SessionExpiry  uint32 // seconds, MQTT 5, when !CleanSession
	TLS            kit.TLS
	// ReceiveMaximum bounds the QoS 1 and 2 messages the server sends
	// unacknowledged (MQTT 5); 0 means 65535.
	ReceiveMaximum uint16
}

// ParseConnConfig reads the connection keys from cfg, parsed by a
// definition holding ConnDef's keys. It refuses Confluent's JKS keys,
// naming the PEM keys to use instead.
func ParseConnConfig(cfg connect.Config) (ConnConfig, error) {
	var errs []string
	for _, k := range jksKeys {
		if k.Get(cfg) != "" {
			errs = append(errs, jksMessage(k.Name()))
		}
	}
	c := ConnConfig{
		Username:       usernameKey.Get(cfg),
		Password:       passwordKey.Get(cfg),
		ClientID:       clientIDKey.Get(cfg),
		ConnectTimeout: time.Duration(connectTimeoutKey.Get(cfg)) * time.Second,
		KeepAlive:      time.Duration(keepAliveKey.Get(cfg)) * time.Second,
		MaxRetry:       maxRetryKey.Get(cfg),
		CleanSession:   cfg.Bool("mqtt.clean.session.enabled"),
		Version:        versionKey.Get(cfg),
		SessionExpiry:  uint32(sessionExpiryKey.Get(cfg)),
		TLS:            tlsKeys.Values(cfg),
	}
	for _, s := range serverURIKey.Get(cfg) {
		u, err := parseServer(s)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		c.Servers = append(c.Servers, u)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, "mqtt.ssl.cert and mqtt.ssl.key go together: set both or neither")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%w: %s", connect.ErrConfig, strings.Join(errs, "; "))
	}
	return c, nil
}

func jksMessage(key string) string {
	switch key {
	case "mqtt.ssl.trust.store.path", "mqtt.ssl.trust.store.password":
		return key + " is a JKS setting, which Sluice does not read: give the CA certificates as PEM (inline or a file) in mqtt.ssl.ca and unset " + key
	default:
		return key + " is a JKS setting, which Sluice does not read: give the client certificate and unencrypted key as PEM in mqtt.ssl.cert and mqtt.ssl.key and unset " + key
	}
}

// parseServer reads one mqtt.server.uri entry.
func parseServer(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mqtt.server.uri %q is not scheme://host:port", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt":
		u.Scheme = "tcp"
	case "ssl", "mqtts", "tls":
		u.Scheme = "ssl"
	default:
		return nil, fmt.Errorf("mqtt.server.uri %q: scheme %s is none of tcp, mqtt, ssl, mqtts", s, u.Scheme)
	}
	if u.Port() == "" {
		if u.Scheme == "ssl" {
			u.Host += ":8883"
		} else {
			u.Host += ":1883"
		}
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("mqtt.server.uri %q: only a scheme, host and port may be given", s)
	}
	u.Path = ""
	return u, nil
}

func validateServers(_ string, v any) string {
	items, _ := v.([]string)
	if len(items) == 0 {
		return "at least one server is required"
	}
	for _, s := range items {
		if _, err := parseServer(s); err != nil {
			return err.Error()
		}
	}
	return ""
}

// usesTLS reports whether any server is ssl://.
func (c ConnConfig) usesTLS() bool {
	for _, u := range c.Servers {
		if u.Scheme == "ssl" {
			return true
		}
	}
	return false
}
