package schemaconv

import (
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestAvroSchemaGolden(t *testing.T) {
	cases := []struct {
		name   string
		schema *connect.Schema
		want   string
	}{
		{"int32", connect.Int32Schema, `"int"`},
		{"optional string", connect.OptionalStringSchema, `["null","string"]`},
		{"int8", connect.Int8Schema, `{"type":"int","connect.type":"int8"}`},
		{"decimal", connect.DecimalSchema(2).Build(),
			`{"type":"bytes","logicalType":"decimal","precision":64,"scale":2,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal"}`},
		{"timestamp", connect.TimestampSchema().Build(),
			`{"type":"long","logicalType":"timestamp-millis","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp"}`},
		{"unnamed struct", connect.StructBuilder().Field("a", connect.Int64Schema).Field("b", connect.OptionalStringSchema).Build(),
			`{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"a","type":"long"},{"name":"b","type":["null","string"],"default":null}]}`},
		{"int-keyed map", connect.MapOf(connect.Int32Schema, connect.StringSchema),
			`{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := avroSchemaOf(c.schema)
			require.NoError(t, err)
			assert.JSONEq(t, c.want, got)
		})
	}
}

func TestAvroWireGolden(t *testing.T) {
	s := connect.StructBuilder().Name("x.R").Field("a", connect.Int32Schema).Field("b", connect.OptionalStringSchema).Build()
	cd, err := avroFormat{}.parse(mustAvro(t, s))
	require.NoError(t, err)
	c := testConverter(avroFormat{}, "t-value", mustAvro(t, s), 7)
	c.writes[s] = derived{cd, mustAvro(t, s)}
	got, err := c.FromConnect("t", nil, s, connect.NewStruct(s).MustPut("a", int32(-2)).MustPut("b", "hi"))
	require.NoError(t, err)
	// magic, id 7, zigzag(-2)=3, union branch 1, len 2, "hi"
	assert.Equal(t, []byte{0, 0, 0, 0, 7, 3, 2, 4, 'h', 'i'}, got)

	gs, gv, err := c.ToConnect("t", nil, got)
	require.NoError(t, err)
	assert.True(t, s.Equal(gs))
	assert.Equal(t, "hi", gv.(*connect.Struct).GetWithoutDefault("b"))

	_, _, err = c.ToConnect("t", nil, []byte{1, 0, 0, 0, 7})
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Unknown magic byte!")
}

func mustAvro(t testing.TB, s *connect.Schema) string {
	text, err := avroSchemaOf(s)
	require.NoError(t, err)
	return text
}

// testConverter is a configured converter whose registry caches already
// know id for text under subject (a schema without a data contract), so
// no registry is contacted.
func testConverter(f format, subject, text string, id int) *Converter {
	c := &Converter{fmt: f}
	if err := c.Configure(map[string]string{RegistryURLConfig: "http://127.0.0.1:1"}, false); err != nil {
		panic(err)
	}
	c.reg.cache(subject, text, id)
	c.reg.keepContract(id, &schemaBody{})
	return c
}

// Schemas written by other Avro producers map as Confluent's AvroData
// maps them.
func TestForeignAvroSchemas(t *testing.T) {
	text := `{"type":"record","name":"ns.Ev","fields":[
		{"name":"color","type":{"type":"enum","name":"Color","symbols":["RED","GREEN"]}},
		{"name":"either","type":["int","string"]},
		{"name":"hash","type":{"type":"fixed","name":"H","size":2}},
		{"name":"n","type":"int","default":5}]}`
	cd, err := avroFormat{}.parse(text)
	require.NoError(t, err)
	s := cd.connectSchema()
	assert.Equal(t, "ns.Ev", s.Name)
	color := s.Field("color").Schema
	assert.Equal(t, connect.TypeString, color.Type)
	assert.Equal(t, "ns.Color", color.Parameters[enumParam])
	either := s.Field("either").Schema
	assert.Equal(t, unionName, either.Name)
	assert.Equal(t, []string{"int", "string"}, []string{either.Fields[0].Name, either.Fields[1].Name})
	assert.Equal(t, connect.TypeBytes, s.Field("hash").Schema.Type)
	assert.Equal(t, int32(5), s.Field("n").Schema.Default)

	as := avro.MustParse(text)
	data, err := avro.Marshal(as, map[string]any{"color": "GREEN", "either": map[string]any{"string": "s"},
		"hash": [2]byte{1, 2}, "n": 9})
	require.NoError(t, err)
	v, err := cd.decode(data)
	require.NoError(t, err)
	st := v.(*connect.Struct)
	assert.Equal(t, "GREEN", st.GetWithoutDefault("color"))
	assert.Equal(t, "s", st.GetWithoutDefault("either").(*connect.Struct).GetWithoutDefault("string"))
	assert.Equal(t, []byte{1, 2}, st.GetWithoutDefault("hash"))

	again, err := cd.encode(nil, s, st)
	require.NoError(t, err)
	assert.Equal(t, data, again)
}

func TestSubjectStrategies(t *testing.T) {
	for _, c := range []struct{ strategy, want string }{
		{TopicNameStrategy, "t-key"},
		{RecordNameStrategy, "x.R"},
		{TopicRecordNameStrategy, "t-x.R"},
	} {
		t.Run(c.strategy, func(t *testing.T) {
			got, err := subjectStrategy(c.strategy, true)("t", "x.R")
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	_, err := subjectStrategy(RecordNameStrategy, false)("t", "")
	require.ErrorIs(t, err, connect.ErrData)
}

func TestConfigureNeedsURL(t *testing.T) {
	err := NewAvroConverter().Configure(map[string]string{}, false)
	require.ErrorIs(t, err, connect.ErrConfig)
	require.Len(t, Plugins(), 3)
}
