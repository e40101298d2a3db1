package schemaconv

import (
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func dec(unscaled int64, scale int) *big.Rat {
	return connect.DecimalFromUnscaled(scale, big.NewInt(unscaled))
}

var (
	innerSchema = connect.StructBuilder().Name("com.example.Inner").
			Field("n", connect.Int32Schema).
			Field("s", connect.OptionalStringSchema).Build()
	allSchema = connect.StructBuilder().Name("com.example.All").Doc("every type").Version(3).
			Field("i8", connect.Int8Schema).
			Field("i16", connect.Int16Schema).
			Field("i32", connect.Int32Schema).
			Field("i64", connect.Int64Schema).
			Field("f32", connect.Float32Schema).
			Field("f64", connect.Float64Schema).
			Field("b", connect.BooleanSchema).
			Field("s", connect.StringSchema).
			Field("bytes", connect.BytesSchema).
			Field("dec", connect.DecimalSchema(2).Build()).
			Field("date", connect.DateSchema().Build()).
			Field("time", connect.TimeSchema().Build()).
			Field("ts", connect.TimestampSchema().Build()).
			Field("opt", connect.OptionalInt64Schema).
			Field("withdef", connect.NewSchemaBuilder(connect.TypeString).Default("dflt").Build()).
			Field("optdef", connect.NewSchemaBuilder(connect.TypeInt32).Optional().Default(int32(7)).Build()).
			Field("arr", connect.ArrayOf(innerSchema)).
			Field("smap", connect.MapOf(connect.StringSchema, connect.ArrayOf(connect.Int32Schema))).
			Field("imap", connect.MapOf(connect.Int32Schema, connect.StringSchema)).
			Field("nested", innerSchema).
			Field("optnested", connect.StructBuilder().Optional().Field("x", connect.Float64Schema).Build()).
			Field("params", connect.NewSchemaBuilder(connect.TypeString).Param("k", "v").Doc("a doc").Build()).Build()
)

func allValue() *connect.Struct {
	in := func(n int32, s any) *connect.Struct {
		return connect.NewStruct(innerSchema).MustPut("n", n).MustPut("s", s)
	}
	return connect.NewStruct(allSchema).
		MustPut("i8", int8(-8)).MustPut("i16", int16(1600)).MustPut("i32", int32(-320000)).
		MustPut("i64", int64(1)<<40).MustPut("f32", float32(1.5)).MustPut("f64", 2.25).
		MustPut("b", true).MustPut("s", "héllo").MustPut("bytes", []byte{0, 1, 0xff}).
		MustPut("dec", dec(-12345, 2)).
		MustPut("date", time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC)).
		MustPut("time", time.UnixMilli(12*3600*1000+5).UTC()).
		MustPut("ts", time.UnixMilli(1718000000123).UTC()).
		MustPut("withdef", "given").
		MustPut("optdef", int32(9)).
		MustPut("arr", []any{in(1, "a"), in(2, nil)}).
		MustPut("smap", map[string]any{"x": []any{int32(1), int32(2)}, "y": []any{}}).
		MustPut("imap", map[any]any{int32(1): "one", int32(2): "two"}).
		MustPut("nested", in(3, "c")).
		MustPut("params", "p")
}

func TestRoundTripEveryType(t *testing.T) {
	for _, f := range []format{avroFormat{}, jsonSchemaFormat{}} {
		t.Run(f.name(), func(t *testing.T) {
			text, err := f.fromConnect(allSchema)
			require.NoError(t, err)
			cd, err := f.parse(text)
			require.NoError(t, err)
			got := cd.connectSchema()
			assertSchemaEqual(t, allSchema, got)

			data, err := cd.encode(nil, allSchema, allValue())
			require.NoError(t, err)
			v, err := cd.decode(data)
			require.NoError(t, err)
			st := v.(*connect.Struct)
			require.NoError(t, st.Validate())
			want := allValue()
			for _, fld := range allSchema.Fields {
				w, _ := want.Get(fld.Name)
				g, _ := st.Get(fld.Name)
				assert.True(t, connect.ValuesEqual(w, g), "field %s: want %v, got %v", fld.Name, w, g)
			}
		})
	}
}

// assertSchemaEqual compares field by field for a readable failure.
func assertSchemaEqual(t *testing.T, want, got *connect.Schema) {
	t.Helper()
	require.Equal(t, len(want.Fields), len(got.Fields))
	for i := range want.Fields {
		w, g := want.Fields[i], got.Fields[i]
		assert.Equal(t, w.Name, g.Name)
		assert.True(t, w.Schema.Equal(g.Schema), "field %s: want %+v, got %+v", w.Name, *w.Schema, *g.Schema)
	}
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Version, got.Version)
	assert.Equal(t, want.Doc, got.Doc)
}
