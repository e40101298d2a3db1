package schemaconv

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestAvroDataWithoutConnectMetaData(t *testing.T) {
	m := connect.NewSchemaBuilder(connect.TypeMap).Optional().Default(map[string]any{"connect.x": int32(1)}).Build()
	m.KeySchema, m.ValueSchema = connect.StringSchema, connect.Int32Schema
	s := connect.NewSchemaBuilder(connect.TypeStruct).Name("a.B").Version(2).Doc("d").
		Field("small", connect.Int8Schema).
		Field("price", connect.DecimalSchema(2).Build()).
		Field("m", m).
		Build()
	with, err := NewAvroData(s, true)
	require.NoError(t, err)
	assert.Contains(t, with.JSON, `"connect.version":2`)
	d, err := NewAvroData(s, false)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"record","name":"B","namespace":"a","doc":"d","fields":[`+
		`{"name":"small","type":"int"},`+
		`{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":64,"scale":2}},`+
		`{"name":"m","type":[{"type":"map","values":"int"},"null"],"default":{"connect.x":1}}]}`, d.JSON)
	b, err := d.Append(nil, connect.NewStruct(s).MustPut("small", int8(-1)).MustPut("price", big.NewRat(150, 100)).MustPut("m", nil))
	require.NoError(t, err)
	// small -1 (zigzagged 1); price: 2 bytes (zigzagged 4) 0x00 0x96,
	// unscaled 150; m null, so its default: union branch 0, a block of 1
	// entry (zigzagged 2), "connect.x" (9, zigzagged 18), 1 (zigzagged 2),
	// the end of the blocks.
	assert.Equal(t, append(append([]byte{1, 4, 0, 0x96, 0, 2, 18}, "connect.x"...), 2, 0), b)
}
