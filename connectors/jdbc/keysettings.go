package jdbc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // use.time.zone and db.timezone must resolve on hosts without a zoneinfo database

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// more is what the naming, field-filter, batching, time-zone and pool keys
// of both front-ends resolve to.
type more struct {
	// zone is the zone temporal values are bound in (use.time.zone,
	// db.timezone); nil is UTC, the fast path.
	zone *time.Location
	// dateZone is the zone of Confluent's Kafka Date values
	// (date.timezone=DB_TIMEZONE); nil is UTC.
	dateZone *time.Location
	// keepDots is Debezium's PassthroughCollectionNamingStrategy: the
	// table name is not changed after the format is applied.
	keepDots bool
	// fieldFilter is Debezium's field.include.list / field.exclude.list;
	// nil keeps every field.
	fieldFilter *fieldFilter
	// whitelist is Confluent's fields.whitelist; empty keeps every field.
	whitelist map[string]bool
	// tsFields are Confluent's timestamp.fields.list; tsNanos says they
	// hold nanoseconds (timestamp.precision.mode=nanoseconds).
	tsFields map[string]bool
	tsNanos  bool
	// noDefaults is Confluent's replace.null.with.default=false: a null
	// field is written as NULL even when its schema has a default.
	noDefaults bool
	// dedupe keeps only the last change of a key in a batch (Debezium's
	// reduction buffer, keyed.message.batch.mode=deduplication).
	dedupe bool
	pool   poolSize
}

// poolSize is the database/sql pool: Debezium's connection.pool.* keys,
// fixed for Confluent (which holds one connection per task).
type poolSize struct {
	maxOpen, maxIdle int
	idle             time.Duration // 0: idle connections are kept
}

// fieldFilter keeps or drops fields named topic:field.
type fieldFilter struct {
	include bool
	names   map[string]bool // "topic:field"
}

// keeps reports whether the field name of a record of topic is written.
func (f *fieldFilter) keeps(topic, name string) bool {
	return f == nil || f.names[topic+":"+name] == f.include
}

// keepsValueField reports whether a non-key field of a record of topic is
// written, under either front-end's filter.
func (s *settings) keepsValueField(topic, name string) bool {
	if len(s.whitelist) > 0 && !s.whitelist[name] {
		return false
	}
	return s.fieldFilter.keeps(topic, name)
}

// filterKeys drops the key fields Debezium's field filter excludes; only
// fields of the key or value are filtered, as Debezium does.
func (s *settings) filterKeys(topic string, keys []field) []field {
	if s.fieldFilter == nil || (s.pk != pkKey && s.pk != pkValue) {
		return keys
	}
	return slices.DeleteFunc(keys, func(f field) bool { return !s.fieldFilter.keeps(topic, f.name) })
}

// fieldValue is a field's value, its schema default standing in for null
// unless replace.null.with.default=false.
func (s *settings) fieldValue(st *connect.Struct, f *connect.Field) any {
	if s.noDefaults {
		return st.GetWithoutDefault(f.Name)
	}
	return st.GetField(f)
}

// resolveMore reads the keys of more; raw is the config as given, to tell
// a key set to its default from one not set.
func resolveMore(cfg connect.Config, raw map[string]string, s *settings, bad func(string, string, ...any)) {
	s.pool = poolSize{maxOpen: 2, maxIdle: 2, idle: 5 * time.Minute}
	if s.front == confluent {
		s.zone = loadZone(cflTimeZone.Name(), cflTimeZone.Get(cfg), bad)
		if strings.EqualFold(cflDateTZ.Get(cfg), "DB_TIMEZONE") {
			s.dateZone = s.zone
		}
		if l := cflWhitelist.Get(cfg); len(l) > 0 {
			s.whitelist = map[string]bool{}
			for _, n := range l {
				s.whitelist[n] = true
			}
		}
		s.noDefaults = !cflReplaceNull.Get(cfg)
		for _, n := range cflTSFields.Get(cfg) {
			if s.tsFields == nil {
				s.tsFields = map[string]bool{}
			}
			s.tsFields[n] = true
		}
		s.tsNanos = strings.EqualFold(cflTSPrecision.Get(cfg), "nanoseconds")
		// Confluent has no key for it: upserts keep the last row of a key
		// (the same final table) so Postgres's ON CONFLICT never meets a
		// row twice in one statement.
		s.dedupe = s.mode == "upsert"
		return
	}
	zone := dbzTimeZone.Get(cfg)
	if !dbzDBTimeZone.IsNull(cfg) {
		alias := dbzDBTimeZone.Get(cfg)
		if _, set := raw[dbzTimeZone.Name()]; set && !strings.EqualFold(alias, zone) {
			bad(dbzDBTimeZone.Name(), "is the older name of use.time.zone, which is set to %s: set only one", zone)
		}
		zone = alias
	}
	s.zone = loadZone(dbzTimeZone.Name(), zone, bad)
	resolveNaming(cfg, s, bad)
	resolveFieldFilter(cfg, s, bad)
	resolveBatchMode(cfg, raw, s, bad)
	resolvePool(cfg, s, bad)
}

// loadZone returns the zone name names, nil for UTC: an IANA name or a
// fixed offset (+02:00), as Java's ZoneId.of takes them.
func loadZone(key, name string, bad func(string, string, ...any)) *time.Location {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "UTC") || name == "Z" || name == "" {
		return nil
	}
	if name[0] == '+' || name[0] == '-' {
		if t, err := time.Parse("-07:00", name); err == nil {
			_, off := t.Zone()
			return time.FixedZone(name, off)
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		bad(key, "unknown time zone %q: use an IANA name such as Europe/Paris, an offset such as +02:00, or UTC", name)
		return nil
	}
	return loc
}

func resolveNaming(cfg connect.Config, s *settings, bad func(string, string, ...any)) {
	key, class := dbzCollNaming.Name(), strings.TrimSpace(dbzCollNaming.Get(cfg))
	if !dbzTableNaming.IsNull(cfg) {
		key, class = dbzTableNaming.Name(), strings.TrimSpace(dbzTableNaming.Get(cfg))
	}
	switch class {
	case dbzDefaultCollNaming, dbzOldTableNaming:
	case dbzPassthroughNaming:
		s.keepDots = true
	default:
		bad(key, "%s is not a naming strategy Sluice's JDBC sink has; use %s (dots become underscores) or %s (the name as formatted)",
			class, dbzDefaultCollNaming, dbzPassthroughNaming)
	}
	if c := strings.TrimSpace(dbzColNaming.Get(cfg)); c != dbzDefaultColNaming && c != dbzOldColNaming {
		bad(dbzColNaming.Name(), "%s is not supported: Sluice's JDBC sink names a column after its field only (%s)", c, dbzDefaultColNaming)
	}
}

func resolveFieldFilter(cfg connect.Config, s *settings, bad func(string, string, ...any)) {
	inc, exc := dbzFieldInclude.Get(cfg), dbzFieldExclude.Get(cfg)
	if len(inc) > 0 && len(exc) > 0 {
		bad(dbzFieldInclude.Name(), "cannot be set together with field.exclude.list: set one of them")
		return
	}
	key, list := dbzFieldInclude.Name(), inc
	if len(exc) > 0 {
		key, list = dbzFieldExclude.Name(), exc
	}
	if len(list) == 0 {
		return
	}
	f := &fieldFilter{include: len(inc) > 0, names: map[string]bool{}}
	for _, e := range list {
		topic, name, ok := strings.Cut(e, ":")
		if !ok || topic == "" || name == "" || strings.Contains(name, ":") {
			bad(key, "entry %q is not of the form topic:field", e)
			continue
		}
		f.names[e] = true
	}
	s.fieldFilter = f
}

func resolveBatchMode(cfg connect.Config, raw map[string]string, s *settings, bad func(string, string, ...any)) {
	s.dedupe = true // Debezium's default, keyed.message.batch.mode=deduplication
	modeSet := !dbzBatchMode.IsNull(cfg)
	if modeSet {
		switch m := strings.ToLower(strings.TrimSpace(dbzBatchMode.Get(cfg))); m {
		case "deduplication", "passthrough":
			s.dedupe = m == "deduplication"
		default:
			bad(dbzBatchMode.Name(), "must be deduplication or passthrough, got %q", m)
		}
	}
	if _, set := raw[dbzReduction.Name()]; set {
		r := dbzReduction.Get(cfg)
		if modeSet && r != s.dedupe {
			bad(dbzReduction.Name(), "use.reduction.buffer=%t disagrees with keyed.message.batch.mode=%s: set only one", r, dbzBatchMode.Get(cfg))
		}
		s.dedupe = r
	}
}

func resolvePool(cfg connect.Config, s *settings, bad func(string, string, ...any)) {
	minSize, maxSize, timeout := dbzPoolMin.Get(cfg), dbzPoolMax.Get(cfg), dbzPoolTimeout.Get(cfg)
	if maxSize < 1 {
		bad(dbzPoolMax.Name(), "must be at least 1, got %d", maxSize)
	}
	if minSize < 0 || minSize > maxSize {
		bad(dbzPoolMin.Name(), "must be between 0 and connection.pool.max_size (%d), got %d", maxSize, minSize)
	}
	if timeout < 0 {
		bad(dbzPoolTimeout.Name(), "must not be negative, got %d", timeout)
	}
	s.pool = poolSize{maxOpen: int(maxSize), maxIdle: int(minSize), idle: time.Duration(timeout) * time.Second}
}

// String describes the pool for the start log line.
func (p poolSize) String() string {
	return fmt.Sprintf("max %d open, %d idle, idle timeout %s", p.maxOpen, p.maxIdle, p.idle)
}

// The schemas a timestamp.fields.list field is written with: Debezium's
// MicroTimestamp, whose column holds microseconds.
var (
	epochMicrosSchema         = connect.NewSchemaBuilder(connect.TypeInt64).Name(dbz.MicroTimestampName).Build()
	optionalEpochMicrosSchema = connect.NewSchemaBuilder(connect.TypeInt64).Name(dbz.MicroTimestampName).Optional().Build()
)

// epochTimestamps turns the INT64 and STRING fields of
// timestamp.fields.list into microsecond timestamps, as Confluent's sink
// binds them with setTimestamp.
func (s *settings) epochTimestamps(fields []field) error {
	for i, f := range fields {
		if !s.tsFields[f.name] || (f.schema.Type != connect.TypeInt64 && f.schema.Type != connect.TypeString) {
			continue
		}
		sch := epochMicrosSchema
		if f.schema.Optional {
			sch = optionalEpochMicrosSchema
		}
		var n int64
		switch v := f.value.(type) {
		case nil:
			fields[i] = field{f.name, sch, nil}
			continue
		case int64:
			n = v
		case string:
			var err error
			if n, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
				return fmt.Errorf("column %s (timestamp.fields.list): %q is not an epoch number", f.name, v)
			}
		default:
			return fmt.Errorf("column %s (timestamp.fields.list): want an INT64 or STRING, got %T", f.name, f.value)
		}
		if s.tsNanos {
			n /= 1000
		}
		fields[i] = field{f.name, sch, n}
	}
	return nil
}
