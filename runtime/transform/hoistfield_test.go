package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestHoistField(t *testing.T) {
	tr := newTransform(t, "HoistField$Key", map[string]string{"field": "magic"})
	out := apply(t, tr, keyRecord(nil, int64(42)))
	assert.Equal(t, map[string]any{"magic": int64(42)}, out.Key)
	assert.Nil(t, out.KeySchema)

	out = apply(t, tr, keyRecord(connect.Int32Schema, int32(42)))
	want := connect.StructBuilder().Field("magic", connect.Int32Schema).Build()
	assert.True(t, want.Equal(out.KeySchema))
	requireStructEqual(t, structOf(want, "magic", int32(42)), out.Key)
	again := apply(t, tr, keyRecord(connect.Int32Schema, int32(1)))
	assert.Same(t, out.KeySchema, again.KeySchema, "schema cached")

	out = apply(t, newTransform(t, "HoistField$Value", map[string]string{"field": "v"}), valueRecord(connect.OptionalStringSchema, nil))
	assert.Nil(t, out.Value.(*connect.Struct).GetWithoutDefault("v"), "an optional null is wrapped")

	err := applyErr(t, tr, keyRecord(connect.Int32Schema, "wrong type"))
	assert.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, configureErr(t, "HoistField$Value", nil).Error(), `Missing required configuration "field"`)
}
