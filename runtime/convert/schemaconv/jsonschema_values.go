package schemaconv

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// jsonSchemaType maps a JSON Schema's type (and connect.type) to a Connect
// schema.
func jsonSchemaType(js map[string]any) (*connect.Schema, error) {
	ct, _ := js[propConnectType].(string)
	title, _ := js["title"].(string)
	switch js["type"] {
	case "object":
		if ct == "map" {
			vals, _ := js["additionalProperties"].(map[string]any)
			vs, err := connectOfJSONSchema(vals, false)
			if err != nil {
				return nil, err
			}
			return connect.MapOf(connect.StringSchema, vs), nil
		}
		return jsonStruct(js)
	case "array":
		items, _ := js["items"].(map[string]any)
		if ct == "map" {
			props, _ := items["properties"].(map[string]any)
			ks, err := connectOfJSONSchema(asMap(props["key"]), false)
			if err != nil {
				return nil, err
			}
			vs, err := connectOfJSONSchema(asMap(props["value"]), false)
			if err != nil {
				return nil, err
			}
			return connect.MapOf(ks, vs), nil
		}
		es, err := connectOfJSONSchema(items, false)
		if err != nil {
			return nil, err
		}
		return connect.ArrayOf(es), nil
	case "integer":
		t := map[string]connect.Type{"int8": connect.TypeInt8, "int16": connect.TypeInt16, "int32": connect.TypeInt32}[ct]
		return &connect.Schema{Type: cmp.Or(t, connect.TypeInt64)}, nil
	case "number":
		if title == connect.DecimalName {
			return &connect.Schema{Type: connect.TypeBytes}, nil
		}
		if ct == "float32" {
			return &connect.Schema{Type: connect.TypeFloat32}, nil
		}
		return &connect.Schema{Type: connect.TypeFloat64}, nil
	case "boolean":
		return &connect.Schema{Type: connect.TypeBoolean}, nil
	case "string":
		if ct == "bytes" {
			return &connect.Schema{Type: connect.TypeBytes}, nil
		}
		return &connect.Schema{Type: connect.TypeString}, nil
	}
	return nil, fmt.Errorf("JSON Schema type %v has no Connect equivalent", js["type"])
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// jsonStruct orders the properties by connect.index, then by name.
func jsonStruct(js map[string]any) (*connect.Schema, error) {
	props, _ := js["properties"].(map[string]any)
	type prop struct {
		name  string
		index int64
	}
	var order []prop
	for name, p := range props {
		idx := int64(1 << 62)
		if n, ok := asMap(p)["connect.index"].(json.Number); ok {
			idx, _ = n.Int64()
		}
		order = append(order, prop{name, idx})
	}
	slices.SortFunc(order, func(a, b prop) int { return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.name, b.name)) })
	s := &connect.Schema{Type: connect.TypeStruct}
	for i, p := range order {
		fs, err := connectOfJSONSchema(asMap(props[p.name]), false)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.name, err)
		}
		s.Fields = append(s.Fields, connect.Field{Name: p.name, Index: i, Schema: fs})
	}
	return s, nil
}

// jsonCodec writes and reads JSON text for a Connect schema.
type jsonCodec struct {
	cs   *connect.Schema
	name string
	*inlineTags
}

func (c *jsonCodec) connectSchema() *connect.Schema { return c.cs }
func (c *jsonCodec) recordName() string             { return c.name }
func (c *jsonCodec) canRead(codec) error            { return nil }

func (c *jsonCodec) encode(dst []byte, s *connect.Schema, v any) ([]byte, error) {
	jv, err := jsonValueOf(s, v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(jv)
	if err != nil {
		return nil, dataErrCause(err, "write JSON")
	}
	return append(dst, b...), nil
}

func (c *jsonCodec) decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return jsonToConnect(c.cs, v)
}

// jsonValueOf returns the JSON form of a Connect value (JsonSchemaData's
// fromConnectData): bytes as base64, Decimal as a number, Date, Time and
// Timestamp as integers, non-string-keyed maps as arrays of key/value.
func jsonValueOf(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		r, ok := v.(*big.Rat)
		if !ok {
			return nil, dataErr("Decimal value %v is a %T, not *big.Rat", v, v)
		}
		return json.Number(connect.DecimalString(scale, r)), nil
	case connect.DateName:
		return connect.DateToDays(v.(time.Time))
	case connect.TimeName:
		return connect.TimeToMillis(v.(time.Time))
	case connect.TimestampName:
		return v.(time.Time).UnixMilli(), nil
	}
	if err := connect.ValidateValue(&connect.Schema{Type: s.Type, Optional: true}, v); err != nil && s.Type.IsPrimitive() {
		return nil, err
	}
	switch s.Type {
	case connect.TypeArray:
		xs := v.([]any)
		out := make([]any, len(xs))
		for i, e := range xs {
			var err error
			if out[i], err = jsonValueOf(s.ValueSchema, e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case connect.TypeMap:
		return jsonMap(s, v)
	case connect.TypeStruct:
		st, ok := v.(*connect.Struct)
		if !ok {
			return nil, dataErr("STRUCT value is a %T", v)
		}
		out := make(obj, 0, len(s.Fields))
		for i := range s.Fields {
			f := &s.Fields[i]
			jv, err := jsonValueOf(f.Schema, st.GetField(f))
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			out = out.set(f.Name, jv)
		}
		return out, nil
	}
	return v, nil
}

func jsonMap(s *connect.Schema, v any) (any, error) {
	if m, ok := v.(map[string]any); ok && s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
		out := make(map[string]any, len(m))
		for k, e := range m {
			jv, err := jsonValueOf(s.ValueSchema, e)
			if err != nil {
				return nil, err
			}
			out[k] = jv
		}
		return out, nil
	}
	out := []any{}
	for k, e := range mapEntries(v) {
		jk, err := jsonValueOf(s.KeySchema, k)
		if err != nil {
			return nil, err
		}
		jv, err := jsonValueOf(s.ValueSchema, e)
		if err != nil {
			return nil, err
		}
		out = append(out, obj{{"key", jk}, {"value", jv}})
	}
	return out, nil
}

// jsonToConnect converts decoded JSON (numbers as json.Number) to the Go
// type Connect uses for s.
func jsonToConnect(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Name {
	case connect.DecimalName:
		n, ok := v.(json.Number)
		r, ok2 := new(big.Rat).SetString(string(n))
		if !ok || !ok2 {
			return nil, fmt.Errorf("Decimal %v is not a number", v)
		}
		return r, nil
	case connect.DateName, connect.TimeName, connect.TimestampName:
		return connectDefault(s, v)
	}
	switch s.Type {
	case connect.TypeBytes:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("bytes %v is not a base64 string", v)
		}
		return base64.StdEncoding.DecodeString(str)
	case connect.TypeArray:
		xs, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%v is not an array", v)
		}
		out := make([]any, len(xs))
		for i, e := range xs {
			var err error
			if out[i], err = jsonToConnect(s.ValueSchema, e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case connect.TypeMap:
		return jsonMapToConnect(s, v)
	case connect.TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%v is not an object", v)
		}
		st := connect.NewStruct(s)
		for i := range s.Fields {
			f := &s.Fields[i]
			c, err := jsonToConnect(f.Schema, m[f.Name])
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			st.Set(f, c)
		}
		return st, nil
	}
	return genericToConnect(s, v)
}

func jsonMapToConnect(s *connect.Schema, v any) (any, error) {
	return decodedMapToConnect(s, v, jsonToConnect, "")
}
