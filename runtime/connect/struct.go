package connect

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"time"
)

// ErrData is wrapped by every data error (Kafka's DataException): a value
// that does not match its schema, a missing required field, a bad logical
// value.
var ErrData = errors.New("data error")

// Struct is the value of a STRUCT schema: one slot per field, in field
// order.
type Struct struct {
	schema *Schema
	values []any
}

// NewStruct returns an empty Struct of schema s, which must be a STRUCT.
func NewStruct(s *Schema) *Struct {
	if s == nil || s.Type != TypeStruct {
		panic("connect: NewStruct needs a STRUCT schema, got " + s.String())
	}
	return &Struct{schema: s, values: make([]any, len(s.Fields))}
}

// Schema returns the struct's schema.
func (st *Struct) Schema() *Schema { return st.schema }

// Get returns the named field's value, or its schema default when unset.
// An unknown field is an error.
func (st *Struct) Get(name string) (any, error) {
	f := st.schema.Field(name)
	if f == nil {
		return nil, fmt.Errorf("%w: %s is not a valid field name", ErrData, name)
	}
	return st.GetField(f), nil
}

// GetField returns a field's value, or its schema default when unset.
func (st *Struct) GetField(f *Field) any {
	v := st.values[f.Index]
	if v == nil {
		return f.Schema.Default
	}
	return v
}

// GetWithoutDefault returns the raw value stored for name (nil when unset).
func (st *Struct) GetWithoutDefault(name string) any {
	f := st.schema.Field(name)
	if f == nil {
		return nil
	}
	return st.values[f.Index]
}

// Put sets the named field after checking v against the field's schema.
// It returns st so calls can be chained.
func (st *Struct) Put(name string, v any) (*Struct, error) {
	f := st.schema.Field(name)
	if f == nil {
		return st, fmt.Errorf("%w: %s is not a valid field name", ErrData, name)
	}
	if err := ValidateValue(f.Schema, v); err != nil {
		return st, fmt.Errorf("invalid value for field %s: %w", name, err)
	}
	st.values[f.Index] = v
	return st, nil
}

// MustPut is Put for values the caller built against the schema; a mismatch
// panics.
func (st *Struct) MustPut(name string, v any) *Struct {
	if _, err := st.Put(name, v); err != nil {
		panic(err)
	}
	return st
}

// Set stores v in field f without validation; for converters and
// transforms that already produce values of the right type.
func (st *Struct) Set(f *Field, v any) { st.values[f.Index] = v }

// Validate checks that every required field is set.
func (st *Struct) Validate() error { return ValidateValue(st.schema, st) }

// String renders the struct as Kafka's Struct.toString does.
func (st *Struct) String() string {
	var b bytes.Buffer
	b.WriteString("Struct{")
	first := true
	for i, f := range st.schema.Fields {
		if st.values[i] == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&b, "%s=%v", f.Name, st.values[i])
	}
	b.WriteByte('}')
	return b.String()
}

// ValidateValue checks v against schema s (Kafka's
// ConnectSchema.validateValue): nil only when optional or defaulted, the Go
// type matching the schema type, struct schemas identical, recursively.
func ValidateValue(s *Schema, v any) error {
	if s == nil {
		return nil
	}
	if v == nil {
		if s.Optional || s.Default != nil {
			return nil
		}
		return fmt.Errorf("%w: invalid value: null used for required field: %q, schema type: %s", ErrData, s.Name, s.Type)
	}
	switch s.Name {
	case DecimalName:
		if _, ok := v.(*big.Rat); !ok {
			return typeErr(s, v)
		}
		return nil
	case DateName, TimeName, TimestampName:
		if _, ok := v.(time.Time); !ok {
			return typeErr(s, v)
		}
		return nil
	}
	ok := false
	switch s.Type {
	case TypeInt8:
		_, ok = v.(int8)
	case TypeInt16:
		_, ok = v.(int16)
	case TypeInt32:
		_, ok = v.(int32)
	case TypeInt64:
		_, ok = v.(int64)
	case TypeFloat32:
		_, ok = v.(float32)
	case TypeFloat64:
		_, ok = v.(float64)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeString:
		_, ok = v.(string)
	case TypeBytes:
		_, ok = v.([]byte)
	case TypeArray:
		arr, isArr := v.([]any)
		if !isArr {
			return typeErr(s, v)
		}
		for _, e := range arr {
			if err := ValidateValue(s.ValueSchema, e); err != nil {
				return err
			}
		}
		return nil
	case TypeMap:
		switch m := v.(type) {
		case map[string]any:
			for k, e := range m {
				if err := ValidateValue(s.KeySchema, k); err != nil {
					return err
				}
				if err := ValidateValue(s.ValueSchema, e); err != nil {
					return err
				}
			}
			return nil
		case map[any]any:
			for k, e := range m {
				if err := ValidateValue(s.KeySchema, k); err != nil {
					return err
				}
				if err := ValidateValue(s.ValueSchema, e); err != nil {
					return err
				}
			}
			return nil
		}
	case TypeStruct:
		st, isStruct := v.(*Struct)
		if !isStruct {
			return typeErr(s, v)
		}
		if st.schema != s && !st.schema.Equal(s) {
			return fmt.Errorf("%w: struct schemas do not match", ErrData)
		}
		for i, f := range st.schema.Fields {
			if err := ValidateValue(f.Schema, st.values[i]); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return nil
	}
	if !ok {
		return typeErr(s, v)
	}
	return nil
}

func typeErr(s *Schema, v any) error {
	name := ""
	if s.Name != "" {
		name = " (" + s.Name + ")"
	}
	return fmt.Errorf("%w: invalid Go type %T for schema type %s%s", ErrData, v, s.Type, name)
}

// ValuesEqual compares two Connect values deeply (bytes by content, structs
// by schema and fields, decimals numerically).
func ValuesEqual(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *Struct:
		y, ok := b.(*Struct)
		if !ok || !x.schema.Equal(y.schema) {
			return false
		}
		for i := range x.values {
			if !ValuesEqual(x.values[i], y.values[i]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !ValuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !ValuesEqual(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
