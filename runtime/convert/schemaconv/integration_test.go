package schemaconv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/connect"
)

func TestConvertersThroughRegistry(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	for _, newConv := range []func() *Converter{NewAvroConverter, NewJSONSchemaConverter} {
		c := newConv()
		t.Run(c.fmt.name(), func(t *testing.T) {
			require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url}, false))
			data, err := c.FromConnect("orders-"+c.fmt.name(), nil, allSchema, allValue())
			require.NoError(t, err)
			require.Equal(t, byte(0), data[0])

			reader := newConv()
			require.NoError(t, reader.Configure(map[string]string{RegistryURLConfig: url}, false))
			s, v, err := reader.ToConnect("orders", nil, data)
			require.NoError(t, err)
			assertSchemaEqual(t, allSchema, s)
			for _, f := range allSchema.Fields {
				w, _ := allValue().Get(f.Name)
				g, _ := v.(*connect.Struct).Get(f.Name)
				assert.True(t, connect.ValuesEqual(w, g), "field %s", f.Name)
			}
		})
	}
}

func TestIncompatibleSchemaRefused(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	c := NewAvroConverter()
	require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url}, false))
	v1 := connect.StructBuilder().Name("x.R").Field("a", connect.Int32Schema).Build()
	_, err := c.FromConnect("t", nil, v1, connect.NewStruct(v1).MustPut("a", int32(1)))
	require.NoError(t, err)
	// A new required field without a default: BACKWARD refuses it.
	v2 := connect.StructBuilder().Name("x.R").Field("a", connect.Int32Schema).Field("b", connect.StringSchema).Build()
	_, err = c.FromConnect("t", nil, v2, connect.NewStruct(v2).MustPut("a", int32(1)).MustPut("b", "x"))
	require.ErrorIs(t, err, connect.ErrData)
	require.ErrorIs(t, err, ErrIncompatible)
	assert.Contains(t, err.Error(), "t-value")
	assert.Contains(t, err.Error(), "BACKWARD")
	t.Log(err)
}
