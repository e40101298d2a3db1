package s3

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestShouldChangeSchema(t *testing.T) {
	build := func(name string, version int, amount *connect.Schema, extra ...string) *connect.Schema {
		b := connect.NewSchemaBuilder(connect.TypeStruct).Name(name).Version(version).Field("amount", amount)
		for _, f := range extra {
			b = b.Field(f, connect.StringSchema)
		}
		return b.Build()
	}
	i32, i64, str := connect.Int32Schema, connect.Int64Schema, connect.StringSchema
	for _, c := range []struct {
		name      string
		mode      string
		rec, file *connect.Schema
		change    bool
	}{
		{"equal", "NONE", build("P", 1, i32), build("P", 1, i32), false},
		{"NONE: any difference", "NONE", build("P", 1, i32), build("P", 2, i32), true},
		{"BACKWARD: older record projects", "BACKWARD", build("P", 1, i32), build("P", 2, i64), false},
		{"BACKWARD: newer record rotates", "BACKWARD", build("P", 3, i32), build("P", 2, i64), true},
		{"FORWARD: newer record projects", "FORWARD", build("P", 3, i32, "x"), build("P", 2, i32), false},
		{"FORWARD: older record rotates", "FORWARD", build("P", 1, i32), build("P", 2, i32), true},
		// Shapes that cannot be projected rotate whatever the versions.
		{"narrowing type", "BACKWARD", build("P", 1, i64), build("P", 2, i32), true},
		{"other type", "FULL", build("P", 1, str), build("P", 2, i32), true},
		{"other name", "BACKWARD", build("Q", 1, i32), build("P", 2, i32), true},
		{"required field missing", "BACKWARD", build("P", 1, i32), build("P", 2, i32, "y"), true},
	} {
		got, err := shouldChangeSchema(c.mode, c.rec, c.file)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.change, got, c.name)
	}
	_, err := shouldChangeSchema("BACKWARD", build("P", 0, i32), build("P", 2, i64))
	assert.ErrorContains(t, err, "Schema version required for BACKWARD compatibility")
}

func TestProjectPromotesAndFillsDefaults(t *testing.T) {
	v1 := connect.NewSchemaBuilder(connect.TypeStruct).Name("P").Version(1).
		Field("n", connect.Int32Schema).Field("tags", connect.ArrayOf(connect.Int8Schema)).
		Field("gone", connect.StringSchema).Build()
	v2 := connect.NewSchemaBuilder(connect.TypeStruct).Name("P").Version(2).
		Field("n", connect.Float64Schema).Field("tags", connect.ArrayOf(connect.Int64Schema)).
		Field("note", connect.OptionalStringSchema).
		Field("kind", connect.NewSchemaBuilder(connect.TypeString).Default("plain").Build()).Build()
	r := &connect.Record{ValueSchema: v1, Value: connect.NewStruct(v1).MustPut("n", int32(7)).MustPut("tags", []any{int8(1), int8(2)}).MustPut("gone", "x")}
	out, err := projectRecord(r, v2)
	require.NoError(t, err)
	st := out.Value.(*connect.Struct)
	assert.Same(t, v2, out.ValueSchema)
	assert.Equal(t, 7.0, st.GetWithoutDefault("n"))
	assert.Equal(t, []any{int64(1), int64(2)}, st.GetWithoutDefault("tags"))
	assert.Nil(t, st.GetWithoutDefault("note"))
	assert.Equal(t, "plain", st.GetWithoutDefault("kind"))
	require.NoError(t, st.Validate())
	assert.Same(t, r, must(projectRecord(r, v1)), "nothing to project")

	required := connect.NewSchemaBuilder(connect.TypeStruct).Name("P").Version(3).Field("must", connect.StringSchema).Build()
	_, err = projectRecord(r, required)
	assert.ErrorContains(t, err, "Required field `must` is missing from source schema")
}

func must(r *connect.Record, err error) *connect.Record {
	if err != nil {
		panic(err)
	}
	return r
}
