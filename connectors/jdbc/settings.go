package jdbc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// frontEnd is the key set a connector was configured with, chosen by the
// class the user named in connector.class.
type frontEnd int

const (
	// debezium is Debezium's keys and record interpretation (the
	// envelope read natively), also taken by Sluice's own class.
	debezium frontEnd = iota
	// confluent is Confluent's keys: flat records.
	confluent
)

func (f frontEnd) class() string {
	if f == confluent {
		return ConfluentClass
	}
	return DebeziumClass
}

// frontEndOf returns the front-end connector.class names: Confluent's
// class (full or simple name with its package) picks Confluent's keys;
// anything else, Debezium's.
func frontEndOf(config map[string]string) frontEnd {
	if strings.TrimSpace(config["connector.class"]) == ConfluentClass {
		return confluent
	}
	return debezium
}

// pkMode is where the primary key columns come from.
type pkMode string

const (
	pkNone   pkMode = "none"
	pkKafka  pkMode = "kafka"
	pkKey    pkMode = "record_key"
	pkValue  pkMode = "record_value"
	pkHeader pkMode = "record_header"
)

// settings are both front-ends reduced to one engine's needs.
type settings struct {
	front      frontEnd
	target     *target
	user       string
	mode       string // insert, upsert, update
	pk         pkMode
	pkFields   []string
	deletes    bool
	truncates  bool
	create     bool
	evolve     bool
	quote      bool
	tableFmt   string
	batchSize  int
	maxRetries int
	backoff    kit.Backoff
	// connAttempts and connBackoff are Confluent's connection.attempts and
	// connection.backoff.ms, for connecting at start; Debezium tries once.
	connAttempts int
	connBackoff  time.Duration
	more         // the keys resolved in keysettings.go

	shapes map[shapeKey]*shape // the task's cache of op columns, see makeOp
}

// resolve reads config under the front-end its class names and returns
// the settings, or every problem found, each naming its key.
func resolve(config map[string]string) (*settings, error) {
	cfg, err := Config.Parse(config)
	if err != nil {
		return nil, err
	}
	front := frontEndOf(config)
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.NewConfigError(key, "%s: %s", key, fmt.Sprintf(format, args...)))
	}
	other, otherClass := confluentOnly, ConfluentClass
	if front == confluent {
		other, otherClass = debeziumOnly, DebeziumClass
	}
	for k := range config {
		if slices.Contains(other, k) {
			bad(k, "is a key of %s, not of %s (the class this connector was created with); use that class or this one's keys", otherClass, front.class())
		}
	}
	for _, k := range unsupported {
		if v, ok := config[k.Name()]; ok && !slices.Contains(other, k.Name()) && strings.TrimSpace(v) != k.Key().Default {
			bad(k.Name(), "is not supported by Sluice's JDBC sink: only its default (%s) is accepted; %s", orNone(k.Key().Default.(string)), laterWhy[k.Name()])
		}
	}
	s := &settings{front: front, mode: strings.ToLower(insertMode.Get(cfg)), deletes: deleteEnabled.Get(cfg), connAttempts: 1}
	if front == confluent {
		resolveConfluent(cfg, s, bad)
	} else {
		resolveDebezium(cfg, s, bad)
	}
	if !batchSize.IsNull(cfg) {
		s.batchSize = int(batchSize.Get(cfg))
	}
	if s.batchSize < 1 {
		bad(batchSize.Name(), "must be at least 1, got %d", s.batchSize)
	}
	resolveMore(cfg, config, s, bad)
	if s.mode == "upsert" && s.pk == pkNone {
		key := dbzPKMode.Name()
		if front == confluent {
			key = cflPKMode.Name()
		}
		bad(key, "insert.mode=upsert needs key fields: set %s to record_key, record_value or kafka", key)
	}
	if s.mode == "update" && s.pk == pkNone {
		bad(insertMode.Name(), "insert.mode=update needs key fields (a primary key mode other than none)")
	}
	if t, err := parseURL(connURL.Get(cfg), s.user, connPassword.Get(cfg)); err != nil {
		bad(connURL.Name(), "%v", err)
	} else {
		s.target = t
		if front == confluent {
			checkDialectName(cflDialect.Get(cfg), t.dialect, bad)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	return s, nil
}

func resolveDebezium(cfg connect.Config, s *settings, bad func(string, string, ...any)) {
	s.user = dbzUser.Get(cfg)
	s.pk = pkMode(strings.ToLower(dbzPKMode.Get(cfg)))
	s.pkFields = dbzPKFields.Get(cfg)
	s.truncates = dbzTruncate.Get(cfg)
	switch strings.ToLower(dbzEvolution.Get(cfg)) {
	case "basic":
		s.create, s.evolve = true, true
	case "validate-only":
		bad(dbzEvolution.Name(), "validate-only is not supported by Sluice's JDBC sink yet; use none or basic")
	}
	s.tableFmt = dbzCollectionFormat.Get(cfg)
	if !tableFormat.IsNull(cfg) {
		s.tableFmt = tableFormat.Get(cfg) // the deprecated alias
	}
	s.quote = dbzQuote.Get(cfg)
	s.batchSize = 500
	s.maxRetries = int(dbzMaxRetries.Get(cfg))
	d := dbzRetryDelay.Get(cfg)
	s.backoff = kit.Backoff{Initial: d, Max: d, Multiplier: 1, Jitter: -1}
	if s.deletes && s.pk == pkNone {
		bad(deleteEnabled.Name(), "delete.enabled=true needs a primary.key.mode other than none")
	}
	if s.pk == pkHeader && len(s.pkFields) == 0 {
		bad(dbzPKFields.Name(), "primary.key.mode=record_header needs the header names in primary.key.fields")
	}
	if s.maxRetries < 0 {
		bad(dbzMaxRetries.Name(), "must not be negative")
	}
}

func resolveConfluent(cfg connect.Config, s *settings, bad func(string, string, ...any)) {
	s.user = cflUser.Get(cfg)
	s.pk = pkMode(strings.ToLower(cflPKMode.Get(cfg)))
	s.pkFields = cflPKFields.Get(cfg)
	s.create, s.evolve = cflAutoCreate.Get(cfg), cflAutoEvolve.Get(cfg)
	s.tableFmt = "${topic}"
	if !tableFormat.IsNull(cfg) {
		s.tableFmt = tableFormat.Get(cfg)
	}
	s.quote = strings.EqualFold(cflQuote.Get(cfg), "always")
	s.batchSize = 3000
	s.maxRetries = int(cflMaxRetries.Get(cfg))
	d := cflRetryBackoff.Get(cfg)
	s.backoff = kit.Backoff{Initial: d, Max: d, Multiplier: 1, Jitter: -1}
	if s.deletes && s.pk != pkKey {
		bad(deleteEnabled.Name(), "delete.enabled=true requires pk.mode=record_key (as Confluent's sink does)")
	}
	if s.pk == pkKafka && len(s.pkFields) != 0 && len(s.pkFields) != 3 {
		bad(cflPKFields.Name(), "with pk.mode=kafka, pk.fields names the three columns of topic, partition and offset, got %d names", len(s.pkFields))
	}
	if s.maxRetries < 0 {
		bad(cflMaxRetries.Name(), "must not be negative")
	}
	if s.connAttempts = int(cflAttempts.Get(cfg)); s.connAttempts < 1 {
		bad(cflAttempts.Name(), "must be at least 1")
	}
	s.connBackoff = cflConnBackoff.Get(cfg)
}

// checkDialectName accepts Confluent's dialect.name when empty or naming
// the dialect of the URL.
func checkDialectName(name string, d dialect, bad func(string, string, ...any)) {
	want := map[dialect]string{postgresDialect: "PostgreSqlDatabaseDialect", mysqlDialect: "MySqlDatabaseDialect", mariadbDialect: "MySqlDatabaseDialect"}[d]
	if name != "" && name != want {
		bad(cflDialect.Name(), "%s does not match connection.url (Sluice writes with %s there); leave it empty", name, want)
	}
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
