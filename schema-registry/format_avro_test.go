package registry

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseAvro(t *testing.T, schema string, refs ...ResolvedReference) Parsed {
	t.Helper()
	p, err := avroFormat{}.Parse(schema, refs)
	require.NoError(t, err, schema)
	return p
}

func TestAvroParse(t *testing.T) {
	p := parseAvro(t, `{"type": "record", "name": "r", "namespace": "a.b", "fields": [ {"name": "f", "type": "int", "doc": "d"} ]}`)
	assert.Equal(t, `{"type":"record","name":"r","namespace":"a.b","fields":[{"name":"f","type":"int","doc":"d"}]}`, p.Canonical())
	assert.Equal(t, "a.b.r", p.Name())
	assert.Contains(t, p.Normalized(), `"a.b.r"`)
	assert.Equal(t, "", parseAvro(t, `"string"`).Name())

	_, err := avroFormat{}.Parse(`{"type":"record","name":"r","fields":[{"name":"f","type":"nope"}]}`, nil)
	require.Error(t, err)
}

// A type defined by an earlier, unrelated parse must not leak into later
// ones (hamba's global cache would let it).
func TestAvroParseFreshCache(t *testing.T) {
	parseAvro(t, `{"type":"record","name":"Addr","namespace":"x","fields":[{"name":"s","type":"string"}]}`)
	user := `{"type":"record","name":"User","fields":[{"name":"a","type":"x.Addr"}]}`
	_, err := avroFormat{}.Parse(user, nil)
	require.Error(t, err)

	ref := ResolvedReference{Reference: Reference{Name: "x.Addr", Subject: "addr", Version: 1}, Type: TypeAvro,
		Schema: `{"type":"record","name":"Addr","namespace":"x","fields":[{"name":"s","type":"string"}]}`}
	inner := ResolvedReference{Reference: Reference{Name: "x.Street", Subject: "street", Version: 1}, Type: TypeAvro,
		Schema: `{"type":"record","name":"Street","namespace":"x","fields":[{"name":"n","type":"string"}]}`}
	ref2 := ResolvedReference{Reference: Reference{Name: "x.Addr2", Subject: "addr2", Version: 1}, Type: TypeAvro,
		Schema: `{"type":"record","name":"Addr2","namespace":"x","fields":[{"name":"s","type":"x.Street"}]}`}
	parseAvro(t, user, ref)
	// Dependents listed before their dependencies still resolve.
	parseAvro(t, `{"type":"record","name":"U","fields":[{"name":"a","type":"x.Addr2"}]}`, ref2, inner)
}

func avroRecord(fields string) string {
	return `{"type":"record","name":"r","namespace":"ns","fields":[` + fields + `]}`
}

func TestAvroReadIncompatibilities(t *testing.T) {
	tests := []struct {
		name, reader, writer string
		want                 []string // substrings, one per incompatibility; none = compatible
	}{
		{"same", avroRecord(`{"name":"a","type":"int"}`), avroRecord(`{"name":"a","type":"int"}`), nil},
		{"reader adds field with default", avroRecord(`{"name":"a","type":"int"},{"name":"b","type":"int","default":1}`), avroRecord(`{"name":"a","type":"int"}`), nil},
		{"reader adds field without default", avroRecord(`{"name":"a","type":"int"},{"name":"b","type":"int"}`), avroRecord(`{"name":"a","type":"int"}`),
			[]string{"READER_FIELD_MISSING_DEFAULT_VALUE"}},
		{"reader drops field", avroRecord(`{"name":"a","type":"int"}`), avroRecord(`{"name":"a","type":"int"},{"name":"b","type":"int"}`), nil},
		{"every problem reported", avroRecord(`{"name":"b","type":"int"},{"name":"c","type":"int"},{"name":"a","type":"string"}`), avroRecord(`{"name":"a","type":"int"}`),
			[]string{"'b'", "'c'", "TYPE_MISMATCH"}},
		{"int to long", avroRecord(`{"name":"a","type":"long"}`), avroRecord(`{"name":"a","type":"int"}`), nil},
		{"int to float", avroRecord(`{"name":"a","type":"float"}`), avroRecord(`{"name":"a","type":"int"}`), nil},
		{"long to double", avroRecord(`{"name":"a","type":"double"}`), avroRecord(`{"name":"a","type":"long"}`), nil},
		{"float to double", avroRecord(`{"name":"a","type":"double"}`), avroRecord(`{"name":"a","type":"float"}`), nil},
		{"long to int", avroRecord(`{"name":"a","type":"int"}`), avroRecord(`{"name":"a","type":"long"}`), []string{"TYPE_MISMATCH"}},
		{"double to float", avroRecord(`{"name":"a","type":"float"}`), avroRecord(`{"name":"a","type":"double"}`), []string{"TYPE_MISMATCH"}},
		{"string to bytes", avroRecord(`{"name":"a","type":"bytes"}`), avroRecord(`{"name":"a","type":"string"}`), nil},
		{"bytes to string", avroRecord(`{"name":"a","type":"string"}`), avroRecord(`{"name":"a","type":"bytes"}`), nil},
		{"enum symbol added", `{"type":"enum","name":"e","symbols":["A","B","C"]}`, `{"type":"enum","name":"e","symbols":["A","B"]}`, nil},
		{"enum symbol removed", `{"type":"enum","name":"e","symbols":["A"]}`, `{"type":"enum","name":"e","symbols":["A","B"]}`, []string{"MISSING_ENUM_SYMBOLS"}},
		{"enum symbol removed with default", `{"type":"enum","name":"e","symbols":["A"],"default":"A"}`, `{"type":"enum","name":"e","symbols":["A","B"]}`, nil},
		{"record renamed", `{"type":"record","name":"s","fields":[]}`, `{"type":"record","name":"r","fields":[]}`, []string{"NAME_MISMATCH"}},
		{"record renamed with alias", `{"type":"record","name":"s","aliases":["r"],"fields":[]}`, `{"type":"record","name":"r","fields":[]}`, nil},
		{"namespace change only", `{"type":"record","name":"r","namespace":"x","fields":[]}`, `{"type":"record","name":"r","namespace":"y","fields":[]}`, nil},
		{"field renamed", avroRecord(`{"name":"b","type":"int"}`), avroRecord(`{"name":"a","type":"int"}`), []string{"READER_FIELD_MISSING_DEFAULT_VALUE"}},
		{"field renamed with alias", avroRecord(`{"name":"b","type":"int","aliases":["a"]}`), avroRecord(`{"name":"a","type":"int"}`), nil},
		{"fixed size", `{"type":"fixed","name":"f","size":4}`, `{"type":"fixed","name":"f","size":8}`, []string{"FIXED_SIZE_MISMATCH"}},
		{"union widened", avroRecord(`{"name":"a","type":["null","int","string"]}`), avroRecord(`{"name":"a","type":["null","int"]}`), nil},
		{"union narrowed", avroRecord(`{"name":"a","type":["null","int"]}`), avroRecord(`{"name":"a","type":["null","int","string"]}`), []string{"MISSING_UNION_BRANCH"}},
		{"value into union", avroRecord(`{"name":"a","type":["null","long"]}`), avroRecord(`{"name":"a","type":"int"}`), nil},
		{"value into union without branch", avroRecord(`{"name":"a","type":["null","string"]}`), avroRecord(`{"name":"a","type":"int"}`), []string{"MISSING_UNION_BRANCH"}},
		{"union into value", avroRecord(`{"name":"a","type":"long"}`), avroRecord(`{"name":"a","type":["int","long"]}`), nil},
		{"nullable union into value", avroRecord(`{"name":"a","type":"long"}`), avroRecord(`{"name":"a","type":["null","long"]}`), []string{"TYPE_MISMATCH"}},
		{"array items", `{"type":"array","items":"long"}`, `{"type":"array","items":"int"}`, nil},
		{"map values", `{"type":"map","values":"int"}`, `{"type":"map","values":"string"}`, []string{"TYPE_MISMATCH"}},
		{"decimal scale", `{"type":"bytes","logicalType":"decimal","precision":10,"scale":5}`, `{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}`, []string{"decimal"}},
		{"decimal wider", `{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}`, `{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}`, nil},
		{"logical type changed", `{"type":"int","logicalType":"date"}`, `{"type":"int","logicalType":"time-millis"}`, []string{"logical type"}},
		{"logical type added", `{"type":"long","logicalType":"timestamp-millis"}`, `"long"`, nil},
		{"recursive", `{"type":"record","name":"n","fields":[{"name":"next","type":["null","n"]}]}`, `{"type":"record","name":"n","fields":[{"name":"next","type":["null","n"]}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseAvro(t, tt.reader).ReadIncompatibilities(parseAvro(t, tt.writer))
			require.Len(t, got, len(tt.want), strings.Join(got, "\n"))
			for i, w := range tt.want {
				assert.Contains(t, got[i], w)
			}
		})
	}
}

func TestAvroNormalized(t *testing.T) {
	a := parseAvro(t, `{"type":"record","name":"r","namespace":"a.b","doc":"d","fields":[{"name":"f","type":{"type":"string"},"default":"x","aliases":["z","y"]},{"name":"e","type":{"type":"enum","name":"E","symbols":["A"]}}]}`)
	b := parseAvro(t, `{"namespace":"a.b","name":"r","type":"record","fields":[{"type":"string","name":"f","aliases":["y","z"],"default":"x"},{"name":"e","type":{"name":"E","type":"enum","symbols":["A"]}}],"doc":"d"}`)
	assert.NotEqual(t, a.Canonical(), b.Canonical())
	assert.Equal(t, a.Normalized(), b.Normalized())
	assert.Equal(t, `{"name":"a.b.r","doc":"d","type":"record","fields":[{"name":"f","aliases":["y","z"],"type":"string","default":"x"},`+
		`{"name":"e","type":{"name":"a.b.E","type":"enum","symbols":["A"]}}]}`, a.Normalized())
	assert.Equal(t, `{"type":"long","logicalType":"timestamp-millis"}`, parseAvro(t, `{"logicalType":"timestamp-millis","type":"long"}`).Normalized())
}
