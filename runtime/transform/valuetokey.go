package transform

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// valueToKey is org.apache.kafka.connect.transforms.ValueToKey: it replaces
// the key with a Struct or Map of some of the value's fields.
type valueToKey struct {
	fields      []string
	replaceNull bool
	cache       schemaCache
}

const valueToKeyPurpose = "copying fields from value to key"

var valueToKeyConfig = connect.ConfigDef{
	{Name: "fields", Type: connect.ConfigList, Default: connect.NoDefault, Validator: nonEmptyList,
		Importance: connect.High, Doc: "Value fields that make up the new key."},
	replaceNullWithDefaultKey,
}

func (t *valueToKey) Configure(props map[string]string) error {
	cfg, err := valueToKeyConfig.Parse(props)
	if err != nil {
		return err
	}
	t.fields = cfg.List("fields")
	t.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	return nil
}

func (t *valueToKey) Apply(r *connect.Record) (*connect.Record, error) {
	c := r.Copy()
	if r.ValueSchema == nil {
		m, err := requireMap(r.Value, valueToKeyPurpose)
		if err != nil {
			return nil, err
		}
		key := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			key[f] = m[f]
		}
		c.KeySchema, c.Key = nil, key
		return c, nil
	}
	st, err := requireStruct(r.Value, valueToKeyPurpose)
	if err != nil {
		return nil, err
	}
	keySchema := t.cache.get(st.Schema())
	if keySchema == nil {
		b := connect.StructBuilder()
		seen := make(map[string]bool, len(t.fields))
		for _, f := range t.fields {
			if seen[f] {
				return nil, fmt.Errorf("%w: Cannot create field because of field name duplication %s", connect.ErrData, f)
			}
			seen[f] = true
			vf := st.Schema().Field(f)
			if vf == nil {
				return nil, fmt.Errorf("%w: Field does not exist: %s", connect.ErrData, f)
			}
			b.Field(f, vf.Schema)
		}
		keySchema = b.Build()
		t.cache.put(st.Schema(), keySchema)
	}
	key := connect.NewStruct(keySchema)
	for i := range keySchema.Fields {
		kf := &keySchema.Fields[i]
		key.Set(kf, fieldValue(st, st.Schema().Field(kf.Name), t.replaceNull))
	}
	c.KeySchema, c.Key = keySchema, key
	c.ValueSchema = st.Schema()
	return c, nil
}
