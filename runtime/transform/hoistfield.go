package transform

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// hoistField is org.apache.kafka.connect.transforms.HoistField: it wraps
// the key or value in a one-field Struct (with a schema) or Map (without).
type hoistField struct {
	side  side
	field string
	cache schemaCache
}

var hoistFieldConfig = connect.ConfigDef{
	{Name: "field", Type: connect.ConfigString, Default: connect.NoDefault, Importance: connect.Medium,
		Doc: "Name of the single field of the Struct or Map that wraps the data."},
}

func (h *hoistField) Configure(props map[string]string) error {
	cfg, err := hoistFieldConfig.Parse(props)
	if err != nil {
		return err
	}
	h.field = cfg.String("field")
	return nil
}

func (h *hoistField) Apply(r *connect.Record) (*connect.Record, error) {
	s, v := h.side.schema(r), h.side.value(r)
	if s == nil {
		return h.side.with(r, nil, map[string]any{h.field: v}), nil
	}
	updated := h.cache.get(s)
	if updated == nil {
		updated = connect.StructBuilder().Field(h.field, s).Build()
		h.cache.put(s, updated)
	}
	st := connect.NewStruct(updated)
	if err := connect.ValidateValue(s, v); err != nil {
		return nil, fmt.Errorf("hoist into field %s: %w", h.field, err)
	}
	st.Set(&updated.Fields[0], v)
	return h.side.with(r, updated, st), nil
}
