package postgres

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// foreignKey is a documented key of Debezium's Postgres connector that
// Sluice does not implement. Each is declared, so that validation, the
// docs and the parser know it: a value that asks for what Sluice does
// anyway (accept, Debezium's default among them) passes without a word;
// any other is refused by validation with an error naming the key, or,
// for a key that changes nothing in the events Sluice writes (warn),
// accepted and logged at WARN when the connector starts.
type foreignKey struct {
	name   string
	typ    connect.ConfigType
	def    any      // Debezium's default
	accept []string // values Sluice behaves as
	warn   bool
	why    string // what Sluice does instead
}

// foreignKeys lists them, refused ones first.
var foreignKeys = []foreignKey{
	{"converters", connect.ConfigList, nil, nil, false, "custom converters are Java classes (Debezium's CustomConverter SPI); reshape values with a transform instead"},
	{"read.only", connect.ConfigBoolean, false, []string{"false"}, false,
		"read-only incremental snapshots are not implemented: incremental snapshots write their watermarks to the signalling table (signal.data.collection)"},
	{"incremental.snapshot.allow.schema.changes", connect.ConfigBoolean, false, []string{"false"}, false,
		"incremental snapshots do not follow schema changes made while they run"},
	{"slot.failover", connect.ConfigBoolean, false, []string{"false"}, false, "failover slots (Postgres 17) are not created"},
	{"slot.stream.params", connect.ConfigString, nil, nil, false, "pgoutput is given only proto_version, publication_names and messages"},
	{"database.connection.factory.class", connect.ConfigClass, nil, nil, false,
		"connection factories are Java classes (AWS IAM authentication); use database.user and database.password"},
	{"skip.messages.without.change", connect.ConfigBoolean, false, []string{"false"}, false,
		"an update is emitted even when none of the included columns changed"},
	{"snapshot.locking.mode", connect.ConfigString, "none", []string{"none"}, false,
		"the snapshot takes no table locks: it reads the snapshot the slot exports"},
	{"snapshot.locking.mode.custom.name", connect.ConfigString, nil, nil, false, "custom snapshot locks are Java classes (Debezium's snapshot SPI)"},
	{"snapshot.mode.custom.name", connect.ConfigString, nil, nil, false, "custom snapshotters are Java classes (Debezium's snapshot SPI)"},
	{"snapshot.query.mode", connect.ConfigString, "select_all", []string{"select_all"}, false,
		"snapshot queries select every captured column; snapshot.select.statement.overrides replaces a table's query"},
	{"snapshot.query.mode.custom.name", connect.ConfigString, nil, nil, false, "custom snapshot queries are Java classes (Debezium's snapshot SPI)"},
	{"max.queue.size.in.bytes", connect.ConfigLong, 0, []string{"0"}, false, "the queue is bounded in records, by max.queue.size"},
	{"notification.enabled.channels", connect.ConfigList, nil, nil, false, "notifications are not sent"},
	{"xmin.fetch.interval.ms", connect.ConfigLong, 0, []string{"0"}, false, "source.xmin is always null"},
	{"topic.naming.strategy", connect.ConfigClass, "io.debezium.schema.SchemaTopicNamingStrategy",
		[]string{"io.debezium.schema.SchemaTopicNamingStrategy", "io.debezium.schema.DefaultTopicNamingStrategy"}, false,
		"topics are named <topic.prefix>.<schema>.<table>, as those two strategies name them; rename them with a transform (RegexRouter)"},
	{"topic.delimiter", connect.ConfigString, ".", []string{"."}, false, "topic names join their parts with '.'"},
	{"schema.name.adjustment.mode", connect.ConfigString, "none", []string{"none"}, false, "schema names are not adjusted"},
	{"field.name.adjustment.mode", connect.ConfigString, "none", []string{"none"}, false, "field names are not adjusted"},
	{"errors.max.retries", connect.ConfigInt, -1, []string{"-1"}, false,
		"a lost connection is retried until it comes back (the worker backs off between polls), and a slot that is gone fails the task"},
	{"guardrail.collections.max", connect.ConfigInt, 0, []string{"0"}, false, "the number of captured tables is not limited"},
	{"replica.identity.autoset.values", connect.ConfigString, nil, nil, false,
		"the connector does not change tables' REPLICA IDENTITY; set it with ALTER TABLE ... REPLICA IDENTITY"},

	{"snapshot.isolation.mode", connect.ConfigString, "serializable", []string{"serializable", "repeatable_read"}, true,
		"the snapshot always reads one consistent snapshot, in a REPEATABLE READ transaction, without table locks"},
	{"snapshot.lock.timeout.ms", connect.ConfigLong, 10000, []string{"10000"}, true, "the snapshot takes no table locks"},
	{"snapshot.max.threads", connect.ConfigInt, 1, []string{"1"}, true, "tables are snapshotted one after the other, over one connection"},
	{"legacy.snapshot.max.threads", connect.ConfigBoolean, false, []string{"false"}, true, "tables are snapshotted one after the other, over one connection"},
	{"snapshot.mode.configuration.based.snapshot.data", connect.ConfigBoolean, false, []string{"false"}, true, configurationBased},
	{"snapshot.mode.configuration.based.snapshot.schema", connect.ConfigBoolean, false, []string{"false"}, true, configurationBased},
	{"snapshot.mode.configuration.based.start.stream", connect.ConfigBoolean, false, []string{"false"}, true, configurationBased},
	{"snapshot.mode.configuration.based.snapshot.on.schema.error", connect.ConfigBoolean, false, []string{"false"}, true, configurationBased},
	{"snapshot.mode.configuration.based.snapshot.on.data.error", connect.ConfigBoolean, false, []string{"false"}, true, configurationBased},
	{"guardrail.collections.limit.action", connect.ConfigString, "warn", []string{"warn"}, true, "it applies only with guardrail.collections.max, which is not supported"},
	{"poll.dispatch.interval.ms", connect.ConfigLong, 0, []string{"0"}, true, "a poll returns the records that are ready"},
	{"schema.refresh.mode", connect.ConfigString, "columns_diff", []string{"columns_diff"}, true, "schemas follow pgoutput's RELATION messages"},
	{"statistics.metrics.enabled", connect.ConfigBoolean, true, []string{"false"}, true, "there are no quantile statistics; metrics are the worker's Prometheus metrics"},
	{"custom.metric.tags", connect.ConfigString, nil, nil, true, "metrics are the worker's Prometheus metrics, labelled by connector and task: there are no MBeans to tag"},
	{"custom.sanitize.pattern", connect.ConfigString, nil, nil, true, "the connector logs no config values to mask"},
	{"topic.cache.size", connect.ConfigInt, 10000, []string{"10000"}, true, "there is no topic name cache to size"},
	{"retriable.restart.connector.wait.ms", connect.ConfigLong, 10000, []string{"10000"}, true, "the worker's backoff decides when a failed poll is retried"},
	{"database.query.timeout.ms", connect.ConfigInt, 600000, []string{"600000"}, true, "queries have no timeout of their own"},
	{"database.tcpKeepAlive", connect.ConfigBoolean, true, []string{"true"}, true, "TCP keepalive is always on"},
	{"extended.headers.enabled", connect.ConfigBoolean, true, []string{"false"}, true, "records carry no __debezium.context.* headers"},
}

const configurationBased = "it applies only to snapshot.mode=configuration_based, which is not supported"

// foreignPrefixes are families of Debezium keys named by a prefix: refused
// (column masking by hash), or ignored with a warning.
var foreignPrefixes = []struct {
	prefix string
	warn   bool
	why    string
}{
	{"column.mask.hash.", false, "hashing column values is not implemented; column.mask.with.N.chars masks them"},
	{"signal.consumer.", true, "the Kafka signal channel's consumer takes only signal.kafka.bootstrap.servers"},
}

// foreignConfig declares the keys of foreignKeys.
func foreignConfig() connect.ConfigDef {
	def := make(connect.ConfigDef, 0, len(foreignKeys))
	for _, k := range foreignKeys {
		doc := "Debezium's key; not supported by Sluice: " + k.why + "."
		if k.warn {
			doc = "Debezium's key; ignored by Sluice, with a warning at start when set otherwise: " + k.why + "."
		}
		def = append(def, connect.ConfigKey{Name: k.name, Type: k.typ, Default: k.def, Validator: foreignValue{k}, Importance: connect.Low, Doc: doc})
	}
	return def
}

// foreignValue accepts an unset key and the values Sluice behaves as;
// any value of a warn key passes (the connector logs it at start).
type foreignValue struct{ k foreignKey }

// Validate implements connect.Validator.
func (f foreignValue) Validate(_ string, v any) string {
	if v == nil || f.k.warn || f.k.accepts(v) {
		return ""
	}
	return "not supported by Sluice: " + f.k.why
}

func (f foreignValue) String() string {
	if len(f.k.accept) == 0 {
		return "unset"
	}
	return strings.Join(f.k.accept, ", ")
}

// accepts reports whether v is one of the values Sluice behaves as.
func (k foreignKey) accepts(v any) bool {
	s := connect.FormatConfigValue(k.typ, v)
	return slices.ContainsFunc(k.accept, func(a string) bool { return strings.EqualFold(a, s) })
}

// foreignFamilyErrors returns, per key, the refusal of keys of a refused
// family set in config.
func foreignFamilyErrors(config map[string]string) map[string][]string {
	out := map[string][]string{}
	for key := range config {
		for _, f := range foreignPrefixes {
			if !f.warn && strings.HasPrefix(key, f.prefix) {
				out[key] = append(out[key], fmt.Sprintf("Invalid value %s for configuration %s: not supported by Sluice: %s", config[key], key, f.why))
			}
		}
	}
	return out
}

// ignoredKeys returns a warning for each key set in config that Sluice
// accepts without acting on it, sorted by key.
func ignoredKeys(config map[string]string) []string {
	var out []string
	for _, k := range foreignKeys {
		raw, set := config[k.name]
		if !k.warn || !set {
			continue
		}
		if v, err := connect.ParseConfigValue(k.typ, raw); err == nil && k.accepts(v) {
			continue
		}
		out = append(out, fmt.Sprintf("%s=%s is ignored: %s", k.name, raw, k.why))
	}
	for key := range config {
		for _, f := range foreignPrefixes {
			if f.warn && strings.HasPrefix(key, f.prefix) {
				out = append(out, fmt.Sprintf("%s is ignored: %s", key, f.why)) // its value may be a secret
			}
		}
	}
	sort.Strings(out)
	return out
}
