package schemaconv

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/runtime/connect"
)

// jsonSchemaFormat is JsonSchemaConverter's format: Connect schemas as
// JSON Schemas in the shape of Confluent's JsonSchemaData (objects with
// properties annotated "connect.index", integer and number widths in
// "connect.type", optional as oneOf with null, the schema name as title).
type jsonSchemaFormat struct{}

func (jsonSchemaFormat) name() string              { return "JSON Schema" }
func (jsonSchemaFormat) schemaType() sr.SchemaType { return sr.TypeJSON }

func (jsonSchemaFormat) fromConnect(s *connect.Schema) (string, error) {
	js, err := jsonSchemaOf(s, -1)
	if err != nil {
		return "", err
	}
	out, err := json.Marshal(js)
	if err != nil {
		return "", dataErrCause(err, "encode JSON Schema for %s", s)
	}
	return string(out), nil
}

func (jsonSchemaFormat) parse(text string) (codec, error) {
	var raw map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse JSON Schema: %w", err)
	}
	cs, err := connectOfJSONSchema(raw, false)
	if err != nil {
		return nil, err
	}
	cd := &jsonCodec{cs: cs, name: cs.Name}
	if root := jsonTagNode(raw); root != nil {
		cd.inlineTags = newInlineTags(func(*connect.Schema) *tagNode { return root }, root)
	}
	return cd, nil
}

var jsonTypes = map[connect.Type][2]string{
	connect.TypeInt8: {"integer", "int8"}, connect.TypeInt16: {"integer", "int16"},
	connect.TypeInt32: {"integer", "int32"}, connect.TypeInt64: {"integer", "int64"},
	connect.TypeFloat32: {"number", "float32"}, connect.TypeFloat64: {"number", "float64"},
	connect.TypeBoolean: {"boolean", ""}, connect.TypeString: {"string", ""}, connect.TypeBytes: {"string", "bytes"},
}

// jsonSchemaOf returns the JSON Schema of s; index ≥ 0 marks a struct
// field's position ("connect.index").
func jsonSchemaOf(s *connect.Schema, index int) (obj, error) {
	o, err := jsonSchemaBase(s)
	if err != nil {
		return nil, err
	}
	if s.Name != "" {
		o = o.set("title", s.Name)
	}
	if s.Doc != "" {
		o = o.set("description", s.Doc)
	}
	if s.Version != 0 {
		o = o.set(propConnectVersion, s.Version)
	}
	if len(s.Parameters) > 0 {
		p := obj{}
		for _, k := range slices.Sorted(maps.Keys(s.Parameters)) {
			p = p.set(k, s.Parameters[k])
		}
		o = o.set(propConnectParams, p)
	}
	if s.Optional {
		o = obj{{"oneOf", []obj{{{"type", "null"}}, o}}}
	}
	if s.Default != nil {
		d, err := jsonValueOf(s, s.Default)
		if err != nil {
			return nil, err
		}
		o = o.set("default", d)
	}
	if index >= 0 {
		o = o.set("connect.index", index)
	}
	return o, nil
}

func jsonSchemaBase(s *connect.Schema) (obj, error) {
	switch s.Type {
	case connect.TypeStruct:
		props := obj{}
		for i, f := range s.Fields {
			fs, err := jsonSchemaOf(f.Schema, i)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			props = props.set(f.Name, fs)
		}
		return obj{{"type", "object"}, {"properties", props}}, nil
	case connect.TypeArray:
		items, err := jsonSchemaOf(s.ValueSchema, -1)
		if err != nil {
			return nil, err
		}
		return obj{{"type", "array"}, {"items", items}}, nil
	case connect.TypeMap:
		vals, err := jsonSchemaOf(s.ValueSchema, -1)
		if err != nil {
			return nil, err
		}
		if s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
			return obj{{"type", "object"}, {"additionalProperties", vals}, {propConnectType, "map"}}, nil
		}
		keys, err := jsonSchemaOf(s.KeySchema, -1)
		if err != nil {
			return nil, err
		}
		entry := obj{{"type", "object"}, {"properties", obj{{"key", keys.set("connect.index", 0)}, {"value", vals.set("connect.index", 1)}}}}
		return obj{{"type", "array"}, {"items", entry}, {propConnectType, "map"}}, nil
	}
	if s.Name == connect.DecimalName {
		return obj{{"type", "number"}, {propConnectType, "bytes"}}, nil
	}
	t, ok := jsonTypes[s.Type]
	if !ok {
		return nil, dataErr("unknown Connect schema type %s", s.Type)
	}
	o := obj{{"type", t[0]}}
	if t[1] != "" {
		o = o.set(propConnectType, t[1])
	}
	return o, nil
}

// connectOfJSONSchema derives the Connect schema of a JSON Schema.
func connectOfJSONSchema(js map[string]any, optional bool) (*connect.Schema, error) {
	if alts, ok := js["oneOf"].([]any); ok {
		return jsonOneOf(js, alts)
	}
	s, err := jsonSchemaType(js)
	if err != nil {
		return nil, err
	}
	s.Optional = optional
	if t, ok := js["title"].(string); ok {
		s.Name = t
	}
	if d, ok := js["description"].(string); ok {
		s.Doc = d
	}
	if v, ok := js[propConnectVersion].(json.Number); ok {
		n, _ := v.Int64()
		s.Version = int(n)
	}
	if params, ok := js[propConnectParams].(map[string]any); ok {
		s.Parameters = make(map[string]string, len(params))
		for k, v := range params {
			s.Parameters[k] = fmt.Sprint(v)
		}
	}
	if d, ok := js["default"]; ok && d != nil {
		if s.Default, err = jsonToConnect(s, d); err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
	}
	return connect.Seal(s), nil
}

// jsonOneOf is an optional schema: oneOf null and one other type.
func jsonOneOf(js map[string]any, alts []any) (*connect.Schema, error) {
	var other map[string]any
	nullable := false
	for _, a := range alts {
		m, ok := a.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("oneOf holds %v, not a schema", a)
		}
		if m["type"] == "null" {
			nullable = true
			continue
		}
		if other != nil {
			return nil, fmt.Errorf("oneOf of several non-null types has no Connect equivalent")
		}
		other = m
	}
	if other == nil {
		return nil, fmt.Errorf("oneOf holds only null")
	}
	if d, ok := js["default"]; ok {
		other = maps.Clone(other)
		other["default"] = d
	}
	return connectOfJSONSchema(other, nullable)
}
