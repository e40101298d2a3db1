package httpsource

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The groups of the keys in the docs and the validate answer.
const (
	groupListen   = "Listeners"
	groupRecords  = "Records"
	groupAuth     = "Authentication"
	groupLimits   = "Limits"
	groupProtocol = "Protocols"
)

// allProtocols are the protocols a connector serves unless protocols says
// otherwise, in the order the docs list them.
var allProtocols = []string{ProtoES, ProtoHEC, ProtoLoki, ProtoOTLP, ProtoGeneric}

// listenerSyntax reads the listeners: host:port, http:// or https://.
var listenerSyntax = kit.ListenerSyntax{Plain: []string{"http"}, TLS: []string{"https"}}

// The connector's keys.
var (
	listenersKey = kit.List("listeners", nil, connect.High,
		"Addresses the connector listens on, each host:port (plain HTTP), http://host:port or https://host:port (TLS with the ssl.* keys). "+
			"Port 0 picks a free port. Each task owns some of the listeners: min(tasks.max, number of listeners) tasks.",
		kit.Required(), kit.Validate(listenerSyntax.Validator()),
		kit.Group(groupListen, 1))
	topicKey = kit.String("topic", "", connect.High,
		"Topic the events are written to, and the fallback of topic.format.",
		kit.Required(), kit.Validate(kit.TopicName), kit.Group(groupRecords, 1))
	topicFormatKey = kit.String("topic.format", "", connect.Medium,
		"Topic per event, a template of metadata fields: ${index}, ${sourcetype}, ${labels.app}, ${resource.service.name}, ${tenant}, ${protocol}… "+
			"An event without one of the fields goes to topic. The result is made a legal topic name: characters outside [a-zA-Z0-9._-] become _, "+
			"it is cut to 249 characters, and \".\" or \"..\" become \"_\". Empty means always topic.",
		kit.NullDefault(), kit.Validate(connect.ValidatorFunc{Fn: validateFormat, Desc: "a template with ${field} references"}), kit.Group(groupRecords, 2))
	keyFieldKey = kit.String("key.field", "", connect.Medium,
		"Record key: a metadata field of the event, else a top-level field of the event object, as a string; a null key when the event has neither. Empty means no key.",
		kit.NullDefault(), kit.Group(groupRecords, 3))
	metaLocationKey = kit.String("metadata.location", "headers", connect.Medium,
		"Where the shipper's metadata (index, host, source, labels, attributes, tenant, protocol) goes: headers (one string header per field, named as the field), "+
			"value (an object event gets a metadata.field field; any other event becomes {\"message\": event, <metadata.field>: {…}}), or none.",
		kit.Validate(connect.OneOf{Values: []string{"headers", "value", "none"}, CaseInsensitive: true}), kit.Group(groupRecords, 4))
	metaFieldKey = kit.String("metadata.field", "@metadata", connect.Low,
		"Name of the metadata object field when metadata.location=value.",
		kit.Validate(connect.NonEmpty{}), kit.Group(groupRecords, 5))
	headersKeepKey = kit.List("headers.keep", []string{}, connect.Low,
		"Request headers copied into each record's headers under their own names (X-Scope-OrgID is always kept, as the metadata field tenant).",
		kit.Group(groupRecords, 6))
	protocolsKey = kit.List("protocols", allProtocols, connect.Medium,
		"Protocols served on every listener: elasticsearch, splunk_hec, loki, otlp, json.",
		kit.Validate(connect.ValidatorFunc{Fn: validateProtocols, Desc: "subset of " + strings.Join(allProtocols, ", ")}), kit.Group(groupProtocol, 1))
	jsonPathsKey = kit.List("json.paths", []string{"/"}, connect.Medium,
		"Paths of the generic JSON endpoint (POST; a JSON object, a JSON array or NDJSON). / is Fluent Bit's http output default uri; "+
			"a path ending in / other than / itself also serves the paths below it.",
		kit.Validate(connect.ValidatorFunc{Fn: validatePaths, Desc: "list of paths starting with /"}), kit.Group(groupProtocol, 2))
	jsonTimestampKey = kit.String("json.timestamp.field", "date", connect.Medium,
		"Top-level field of generic JSON events holding the event time (Fluent Bit's json_date_key is date): a number of seconds (with a fraction), "+
			"milliseconds, microseconds or nanoseconds told apart by magnitude, or an RFC 3339 string. An event without it, or whose field holds no time, "+
			"gets the request's arrival time; empty means always the arrival time.",
		kit.Group(groupProtocol, 3))
	esVersionKey = kit.String("es.version", "8.17.0", connect.Low,
		"Elasticsearch version number GET / reports: Beats refuses an Elasticsearch older than itself.",
		kit.Validate(connect.NonEmpty{}), kit.Group(groupProtocol, 4))
	esBusyKey = kit.String("es.busy.response", esBusyRequest, connect.Low,
		"How the Elasticsearch _bulk endpoint answers when the broker is behind (the queue stayed full, or the acknowledgement did not come "+
			"within request.timeout.ms): request answers the whole request 429 es_rejected_execution_exception with Retry-After, which "+
			"Vector, Fluent Bit, syslog-ng and the official clients retry; items answers HTTP 200 with \"errors\":true and every item that "+
			"would have been written refused 429 es_rejected_execution_exception, the one answer rsyslog's omelasticsearch (with "+
			"retryfailures and a retry ruleset) and Beats resend without loss: omelasticsearch ignores the HTTP status and drops or duplicates "+
			"a batch answered 429 or 503 as a whole. As with a whole-request 503, the events of a request whose acknowledgement did not come in time "+
			"are still written, so a resent item may arrive twice. Vector and Fluent Bit do not retry per-item 429s by default: keep request for them.",
		kit.Validate(connect.OneOf{Values: []string{esBusyRequest, esBusyItems}, CaseInsensitive: true}), kit.Group(groupProtocol, 5))
	hecAckKey = kit.Bool("hec.ack.enabled", false, connect.Low,
		"Whether Splunk HEC indexer acknowledgements (/services/collector/ack) are offered.", kit.Group(groupProtocol, 6))

	tokensKey = kit.Password("auth.tokens", connect.High,
		"Comma-separated tokens a client may present as Authorization: Bearer <token>, Splunk <token> or ApiKey <token>. "+
			"With neither tokens nor basic credentials set, no authentication is asked.", kit.Group(groupAuth, 1))
	basicUserKey = kit.String("auth.basic.username", "", connect.High,
		"User name accepted with HTTP basic authentication (with auth.basic.password).", kit.NullDefault(), kit.Group(groupAuth, 2))
	basicPassKey = kit.Password("auth.basic.password", connect.High,
		"Password accepted with HTTP basic authentication.", kit.Group(groupAuth, 3))

	maxBytesKey = kit.Long("max.request.bytes", 10<<20, connect.Medium,
		"Largest request body, before and after decompression; larger ones get 413.", kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 1))
	maxEventsKey = kit.Int("max.events.per.request", 100000, connect.Medium,
		"Most events one request may carry; more get 413.", kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 2))
	maxEventBytesKey = kit.Int("max.event.bytes", 1000000, connect.Medium,
		"Largest record one event may make (its value, key and headers, estimated); a request with a larger one gets 413 naming it. "+
			"Keep it below the producer's max.request.size (1048576 by default) and the topic's max.message.bytes: the broker would refuse the record and fail the task.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 3))
	maxRequestsKey = kit.Int("max.concurrent.requests", 16, connect.Medium,
		"Requests a task reads and delivers at once (each holds up to max.request.bytes); more wait up to request.timeout.ms, then get 503.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 3))
	maxConnsKey = kit.Int("max.connections", 1024, connect.Low,
		"Open connections per listener; more wait in the kernel's accept queue.", kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 4))
	timeoutKey = kit.Millis("request.timeout.ms", 30*time.Second, connect.Medium,
		"How long a request may wait for room in the queue and then for the broker's acknowledgement before it is answered 429 (queue full) or 503, "+
			"with Retry-After. Keep it below the shippers' own timeouts (Vector's is 60 s); events already queued are still written (at-least-once).",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 5))
	bodyTimeoutKey = kit.Millis("request.body.timeout.ms", 10*time.Second, connect.Low,
		"How long a request that holds one of max.concurrent.requests may take to send its body; a slower one is answered 408 and its place "+
			"given back, so clients that send slowly or never finish cannot stop ingestion. Allow max.request.bytes at the shippers' slowest link.",
		kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 6))
	retryAfterKey = kit.Int("retry.after.seconds", 5, connect.Low,
		"Seconds a 429 or 503 answer's Retry-After asks the client to wait.", kit.Validate(connect.AtLeast(0)), kit.Group(groupLimits, 7))
	queueRecordsKey = kit.Int("max.queue.size", kit.DefaultMaxRecords, connect.Low,
		"Events a task holds for the broker (Debezium's name); a request waits while they do not fit.", kit.Validate(connect.AtLeast(1)), kit.Group(groupLimits, 8))
	queueBytesKey = kit.Long("max.queue.size.in.bytes", 64<<20, connect.Low,
		"Bytes of events (their JSON size, roughly) a task holds for the broker (Debezium's name); 0 for no byte bound.", kit.Validate(connect.AtLeast(0)), kit.Group(groupLimits, 9))
)

// tlsKeys are the listeners' TLS keys: Kafka's PEM names for a server.
var tlsKeys = kit.TLSKeys{
	CA:         "ssl.truststore.certificates",
	Cert:       "ssl.keystore.certificate.chain",
	Key:        "ssl.keystore.key",
	ClientAuth: "ssl.client.auth",
	Group:      "TLS",
}

// Config declares the connector's keys.
var Config = append(kit.Def(listenersKey, topicKey, topicFormatKey, keyFieldKey, metaLocationKey, metaFieldKey, headersKeepKey,
	protocolsKey, jsonPathsKey, jsonTimestampKey, esVersionKey, esBusyKey, hecAckKey,
	tokensKey, basicUserKey, basicPassKey,
	maxBytesKey, maxEventsKey, maxEventBytesKey, maxRequestsKey, maxConnsKey, timeoutKey, bodyTimeoutKey, retryAfterKey, queueRecordsKey, queueBytesKey),
	tlsKeys.Def()...)

// taskIDKey is set by the connector in each task's config, naming the
// task in logs and listenAddrs.
const taskIDKey = "task.id"

// Plugin is the HTTP log-ingestion source plugin.
var Plugin = connect.ConnectorPlugin{
	Class:   "io.sluice.connect.http.HttpSourceConnector",
	Version: connect.BuiltinVersion,
	Config:  Config,
	Doc: "Receives logs over HTTP from the shippers teams already run — Elasticsearch _bulk, Splunk HEC, Loki push, OTLP/HTTP logs and generic JSON — " +
		"and answers each request 2xx only once the broker acknowledged every event from it.",
	NewConnector:  func() connect.Connector { return &connector{} },
	NewSourceTask: func() connect.SourceTask { return &Task{} },
}

func validateFormat(_ string, v any) string {
	s, _ := v.(string)
	if _, err := parseTemplate(s); err != nil {
		return err.Error()
	}
	return ""
}

func validateProtocols(_ string, v any) string {
	items, _ := v.([]string)
	if len(items) == 0 {
		return "at least one protocol is required"
	}
	for _, p := range items {
		if !containsFold(allProtocols, p) {
			return fmt.Sprintf("unknown protocol %q (known: %s)", p, strings.Join(allProtocols, ", "))
		}
	}
	return ""
}

func validatePaths(_ string, v any) string {
	items, _ := v.([]string)
	for _, p := range items {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " {}\t") {
			return fmt.Sprintf("path %q must start with / and hold no spaces or braces", p)
		}
	}
	return ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, strings.TrimSpace(s)) {
			return true
		}
	}
	return false
}

// connector splits the listeners among the tasks.
type connector struct{ props map[string]string }

var _ connect.ConnectorValidator = (*connector)(nil)

func (c *connector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if _, err := parseConfig(config); err != nil {
		return fmt.Errorf("start HttpSourceConnector: %w", err)
	}
	c.props = config
	return nil
}

// TaskConfigs gives each of min(maxTasks, listeners) tasks its share of
// the listeners, dealt round-robin.
func (c *connector) TaskConfigs(maxTasks int) ([]map[string]string, error) {
	cfg, err := Config.Parse(c.props)
	if err != nil {
		return nil, err
	}
	return kit.DealListeners(c.props, listenersKey.Get(cfg), listenersKey.Name(), taskIDKey, maxTasks), nil
}

func (c *connector) Stop() error { return nil }

// Validate adds the checks across keys: https listeners need a
// certificate, basic credentials go in pairs.
func (c *connector) Validate(_ context.Context, config map[string]string, results []connect.ConfigValue) []connect.ConfigValue {
	cfg, err := Config.Parse(config)
	if err != nil {
		return results // the per-key errors say why
	}
	add := func(name, msg string) {
		for i := range results {
			if results[i].Name == name {
				results[i].Errors = append(results[i].Errors, msg)
				return
			}
		}
	}
	if _, err := settingsOf(cfg); err != nil {
		add(listenersKey.Name(), err.Error())
	}
	if basicUserKey.Get(cfg) != "" && basicPassKey.Get(cfg) == "" {
		add(basicPassKey.Name(), "auth.basic.password is required with auth.basic.username")
	}
	return results
}
