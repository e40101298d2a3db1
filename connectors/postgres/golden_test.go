package postgres

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenColumn is one column of the golden table: its name (and golden
// file), SQL type and the literal of its value. Values are Debezium's
// documented examples where the documentation gives one.
type goldenColumn struct{ name, sqlType, literal string }

var goldenColumns = []goldenColumn{
	{"boolean", "boolean", "true"},
	{"bit1", "bit(1)", "B'1'"},
	{"bit12", "bit(12)", "B'101100000001'"},
	{"varbit", "bit varying", "B'101'"},
	{"int2", "smallint", "32767"},
	{"int4", "integer", "-2147483648"},
	{"int4_not_null", "integer NOT NULL", "7"},
	{"int8", "bigint", "9223372036854775807"},
	{"oid", "oid", "4294967295"},
	{"float4", "real", "1.5"},
	{"float8", "double precision", "3.141592653589793"},
	{"numeric", "numeric(10,2)", "1234.56"},
	{"numeric_var", "numeric", "-0.00120"},
	{"money", "money", "1234.56"},
	{"char", "char(3)", "'abc'"},
	{"char_padded", "char(5)", "'ab'"},
	{"varchar", "varchar(10)", "'varchar'"},
	{"text", "text", "'héllo \"world\"'"},
	{"bytea", "bytea", `'\xdeadbeef'`},
	{"uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"},
	{"json", "json", `'{"key" : "val"}'`},
	{"jsonb", "jsonb", `'{"key" : "val"}'`},
	{"xml", "xml", "'<a>b</a>'"},
	{"date", "date", "'2018-06-20'"},
	{"time", "time", "'15:13:16.945104'"},
	{"time3", "time(3)", "'15:13:16.945'"},
	{"timestamp", "timestamp", "'2018-06-20 15:13:16.945104'"},
	{"timestamp3", "timestamp(3)", "'2018-06-20 15:13:16.945'"},
	{"timestamptz", "timestamptz", "'2018-06-20 17:13:16.945104+02'"},
	{"timestamptz_whole", "timestamptz", "'2018-06-20 17:13:16+02'"},
	{"timestamptz3", "timestamptz(3)", "'2018-06-20 17:13:16.5+02'"},
	{"timetz", "timetz", "'17:13:16.945104+02'"},
	{"interval", "interval", "'1 year 2 months 3 days 4 hours 5 minutes 6.78 seconds'"},
	{"point", "point", "'(1.5,-2)'"},
	{"ltree", "ltree", "'Top.Science.Astronomy'"},
	{"citext", "citext", "'Hello'"},
	{"hstore", "hstore", "'key=>val'"},
	{"tsvector", "tsvector", "'a fat cat sat on a mat'"},
	{"inet", "inet", "'192.168.100.128/25'"},
	{"cidr", "cidr", "'192.168.100.128/25'"},
	{"macaddr", "macaddr", "'08:00:2b:01:02:03'"},
	{"macaddr8", "macaddr8", "'08:00:2b:01:02:03:04:05'"},
	{"int4range", "int4range", "'[1,10)'"},
	{"int8range", "int8range", "'[5,)'"},
	{"numrange", "numrange", "'[1.5,2.25]'"},
	{"tsrange", "tsrange", "'[2018-06-20 15:13:16.945104,2018-06-21)'"},
	{"tstzrange", "tstzrange", "'[2018-06-20 15:13:16+02,2018-06-21 00:00+00)'"},
	{"daterange", "daterange", "'[2018-06-20,2018-06-21]'"},
	{"enum", "mood", "'happy'"},
	{"int4_array", "integer[]", "'{1,NULL,3}'"},
	{"text_array", "text[]", `'{"a b","c\"d",NULL}'`},
	{"enum_array", "mood[]", "'{sad,ok}'"},
	{"inet_array", "inet[]", "'{192.168.0.1,::1}'"},
}

// goldenRun is one connector config the golden table is captured under,
// with the columns whose representation it changes (nil: all); their
// goldens are named <column>.<suffix>.json.
type goldenRun struct {
	suffix  string
	config  map[string]string
	columns []string
}

var goldenRuns = []goldenRun{
	{suffix: "", config: nil},
	{suffix: "modes", config: map[string]string{
		IntervalHandlingModeConfig: "string", HStoreHandlingModeConfig: "map", DecimalHandlingModeConfig: "string",
		BinaryHandlingModeConfig: "base64",
	}, columns: []string{"interval", "hstore", "money", "numeric", "numeric_var", "bytea"}},
	{suffix: "money3", config: map[string]string{MoneyFractionDigitsConfig: "3"}, columns: []string{"money"}},
	{suffix: "double", config: map[string]string{DecimalHandlingModeConfig: "double"}, columns: []string{"money", "numeric"}},
}

// TestGoldenEvents captures a table with one column per mapped type, one
// row by snapshot and one by streaming, through the real task and
// JsonConverter (schemas.enable=true), and compares every column's schema
// and values with testdata/golden/<column>.json; golden_envelope's whole
// events, volatile source fields normalised, are compared with
// envelope_read.json and envelope_create.json. go test -run Golden -update
// rewrites them.
func TestGoldenEvents(t *testing.T) {
	pg := testenv.StartPostgres(t)
	pg.Exec(t, "CREATE DATABASE app", "ALTER DATABASE app SET timezone TO 'UTC'", "ALTER DATABASE app SET lc_monetary TO 'C'")
	execApp(t, pg, goldenDDL()...)

	tasks := make([]*sourceTask, len(goldenRuns))
	for i, run := range goldenRuns {
		cfg := shopConfig(pg)
		maps.Copy(cfg, map[string]string{
			TopicPrefixConfig: "dbserver1", SlotNameConfig: "golden" + run.suffix, PublicationNameConfig: "golden" + run.suffix,
			TableIncludeListConfig: "public.golden_types,public.golden_envelope",
		})
		maps.Copy(cfg, run.config)
		tasks[i] = startTask(t, &taskContext{}, cfg)
	}
	reads := make([]map[string]*connect.Record, len(goldenRuns))
	for i, task := range tasks {
		reads[i] = byTable(pollN(t, task, 2))
	}
	names := make([]string, len(goldenColumns))
	for i, c := range goldenColumns {
		names[i] = c.name
	}
	execApp(t, pg, goldenInsert("golden_types", names...), goldenInsert("golden_envelope", "first_name", "last_name"))
	for i, task := range tasks {
		creates := byTable(pollN(t, task, 2))
		checkColumnGoldens(t, goldenRuns[i], reads[i]["golden_types"], creates["golden_types"])
		if goldenRuns[i].suffix == "" {
			t.Run("envelope_read", func(t *testing.T) {
				checkGolden(t, "envelope_read.json", envelopeGolden(t, reads[i]["golden_envelope"]))
			})
			t.Run("envelope_create", func(t *testing.T) {
				checkGolden(t, "envelope_create.json", envelopeGolden(t, creates["golden_envelope"]))
			})
		}
	}
}

// goldenDDL creates the extensions, the enum and the two golden tables,
// each with the row id 1.
func goldenDDL() []string {
	cols, values := []string{"id integer PRIMARY KEY"}, []string{"1"}
	for _, c := range goldenColumns {
		cols = append(cols, c.name+" "+c.sqlType)
		values = append(values, c.literal)
	}
	return []string{
		"CREATE EXTENSION hstore", "CREATE EXTENSION citext", "CREATE EXTENSION ltree",
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		"CREATE TABLE golden_types (" + strings.Join(cols, ", ") + ")",
		"INSERT INTO golden_types VALUES (" + strings.Join(values, ", ") + ")",
		"CREATE TABLE golden_envelope (id integer PRIMARY KEY, first_name varchar(255) NOT NULL, last_name text)",
		"INSERT INTO golden_envelope VALUES (1, 'Anne', 'Kretchmar')",
	}
}

// goldenInsert copies row 1 of table as row 2, so that the streamed row
// holds the snapshot row's values.
func goldenInsert(table string, cols ...string) string {
	list := strings.Join(cols, ", ")
	return "INSERT INTO " + table + " (id, " + list + ") SELECT 2, " + list + " FROM " + table + " WHERE id = 1"
}

// byTable indexes records by the table they come from.
func byTable(records []*connect.Record) map[string]*connect.Record {
	out := map[string]*connect.Record{}
	for _, r := range records {
		out[r.Topic[strings.LastIndexByte(r.Topic, '.')+1:]] = r
	}
	return out
}

// renderRecord converts a record's key or value as the worker would with
// JsonConverter and schemas.enable=true.
func renderRecord(t *testing.T, r *connect.Record, key bool) []byte {
	t.Helper()
	c := convert.NewJSONConverter()
	require.NoError(t, c.Configure(map[string]string{"schemas.enable": "true"}, key))
	s, v := r.ValueSchema, r.Value
	if key {
		s, v = r.KeySchema, r.Key
	}
	b, err := c.FromConnect(r.Topic, nil, s, v)
	require.NoError(t, err)
	return b
}

// checkColumnGoldens compares each of run's columns: its field schema in
// after (the same in both events) and its value in each event.
func checkColumnGoldens(t *testing.T, run goldenRun, read, create *connect.Record) {
	t.Helper()
	readJSON, createJSON := renderRecord(t, read, false), renderRecord(t, create, false)
	for _, c := range goldenColumns {
		if run.columns != nil && !contains(run.columns, c.name) {
			continue
		}
		name := c.name + ".json"
		if run.suffix != "" {
			name = c.name + "." + run.suffix + ".json"
		}
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			schema, readValue := afterColumn(t, readJSON, c.name)
			createSchema, createValue := afterColumn(t, createJSON, c.name)
			require.JSONEq(t, string(schema), string(createSchema), "snapshot and stream schemas differ")
			golden := orderedJSON(t, []string{"sql", "literal", "schema", "read", "create"},
				jsonString(c.sqlType), jsonString(c.literal), schema, readValue, createValue)
			checkGolden(t, name, golden)
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// afterColumn returns, as the converter wrote them, the schema of column
// col in the after field and its value in the payload's after.
func afterColumn(t *testing.T, event []byte, col string) (schema, value json.RawMessage) {
	t.Helper()
	var env struct {
		Schema struct {
			Fields []struct {
				Field  string            `json:"field"`
				Fields []json.RawMessage `json:"fields"`
			} `json:"fields"`
		} `json:"schema"`
		Payload struct {
			After map[string]json.RawMessage `json:"after"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(event, &env))
	for _, f := range env.Schema.Fields {
		if f.Field != "after" {
			continue
		}
		for _, raw := range f.Fields {
			var named struct{ Field string }
			require.NoError(t, json.Unmarshal(raw, &named))
			if named.Field == col {
				schema = raw
			}
		}
	}
	require.NotNil(t, schema, "no field %s in after", col)
	value, ok := env.Payload.After[col]
	require.True(t, ok, "no value for %s in after", col)
	return schema, value
}

// volatileFields match the source and timing fields that change from run
// to run; their values are replaced by "<normalised>".
var volatileFields = regexp.MustCompile(`"(ts_ms|ts_us|ts_ns|lsn|txId|xmin)":-?[0-9]+|"(sequence|version)":"(?:[^"\\]|\\.)*"`)

// envelopeGolden renders a record's key and value with the volatile
// fields normalised.
func envelopeGolden(t *testing.T, r *connect.Record) []byte {
	t.Helper()
	normalise := func(b []byte) []byte {
		return volatileFields.ReplaceAllFunc(b, func(m []byte) []byte {
			name := m[:bytes.IndexByte(m, ':')]
			return append(append([]byte{}, name...), []byte(`:"<normalised>"`)...)
		})
	}
	return orderedJSON(t, []string{"key", "value"}, renderRecord(t, r, true), normalise(renderRecord(t, r, false)))
}

// orderedJSON builds an object of the given members in order, indented.
func orderedJSON(t *testing.T, names []string, values ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(n))
		b.WriteByte(':')
		b.Write(values[i])
	}
	b.WriteByte('}')
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, b.Bytes(), "", "  "))
	out.WriteByte('\n')
	return out.Bytes()
}

func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// knownDeviations are goldens that hold Debezium's output where Sluice's
// still differs, with the reason. -update leaves them alone; a mismatch
// skips the subtest, naming the gap, and a match fails so that the entry
// is removed once the gap is closed.
var knownDeviations = map[string]string{}

// checkGolden compares got with testdata/golden/name, or rewrites the file
// under -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	reason, known := knownDeviations[name]
	if *update && !known {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test -run Golden -update")
	switch {
	case known && string(want) == string(got):
		t.Errorf("%s now matches Debezium: remove it from knownDeviations", name)
	case known:
		t.Skipf("known deviation from Debezium in %s: %s", name, reason)
	default:
		assert.Equal(t, string(want), string(got), name)
	}
}
