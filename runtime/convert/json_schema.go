package convert

import (
	"slices"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The JSON form of a Connect schema, as Kafka's JsonConverter writes it
// (asJsonSchema). Members come in this order, the order Jackson keeps
// them in:
//
//	{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],
//	 "optional":false,"name":"n","version":1,"doc":"d","parameters":{"k":"v"},"default":…}
//
// "items" (arrays) or "keys" and "values" (maps) take the place of
// "fields"; a struct field is its schema's object with "field" appended.

var typeNames = map[connect.Type]string{
	connect.TypeBoolean: "boolean", connect.TypeInt8: "int8", connect.TypeInt16: "int16",
	connect.TypeInt32: "int32", connect.TypeInt64: "int64", connect.TypeFloat32: "float",
	connect.TypeFloat64: "double", connect.TypeBytes: "bytes", connect.TypeString: "string",
	connect.TypeArray: "array", connect.TypeMap: "map", connect.TypeStruct: "struct",
}

var typesByName = func() map[string]connect.Type {
	m := make(map[string]connect.Type, len(typeNames))
	for t, n := range typeNames {
		m[n] = t
	}
	return m
}()

// schema appends the JSON form of s ("null" for no schema).
func (w *jsonWriter) schema(b []byte, s *connect.Schema) ([]byte, error) {
	if s == nil {
		return append(b, "null"...), nil
	}
	name, ok := typeNames[s.Type]
	if !ok {
		return b, dataErr("Couldn't translate unsupported schema type %s.", s)
	}
	b = append(b, `{"type":"`...)
	b = append(b, name...)
	b = append(b, '"')
	b, err := w.schemaChildren(b, s)
	if err != nil {
		return b, err
	}
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, s.Optional)
	b = appendSchemaMeta(b, s)
	if s.Default != nil {
		b = append(b, `,"default":`...)
		if b, err = w.value(b, s, s.Default); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

func (w *jsonWriter) schemaChildren(b []byte, s *connect.Schema) ([]byte, error) {
	var err error
	switch s.Type {
	case connect.TypeArray:
		b = append(b, `,"items":`...)
		return w.schema(b, s.ValueSchema)
	case connect.TypeMap:
		b = append(b, `,"keys":`...)
		if b, err = w.schema(b, s.KeySchema); err != nil {
			return b, err
		}
		b = append(b, `,"values":`...)
		return w.schema(b, s.ValueSchema)
	case connect.TypeStruct:
		b = append(b, `,"fields":[`...)
		for i := range s.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = w.fieldSchema(b, &s.Fields[i]); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	return b, nil
}

// fieldSchema writes a field's schema object with "field" as its last
// member.
func (w *jsonWriter) fieldSchema(b []byte, f *connect.Field) ([]byte, error) {
	if f.Schema == nil {
		return b, dataErr("Struct field %s has no schema", f.Name)
	}
	b, err := w.schema(b, f.Schema)
	if err != nil {
		return b, err
	}
	b = append(b[:len(b)-1], `,"field":`...)
	b = appendJSONString(b, f.Name)
	return append(b, '}'), nil
}

// appendSchemaMeta writes name, version, doc and parameters. Parameters
// are sorted by key: Kafka keeps their insertion order, which a Go map
// does not record.
func appendSchemaMeta(b []byte, s *connect.Schema) []byte {
	if s.Name != "" {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, s.Name)
	}
	if s.Version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(s.Version), 10)
	}
	if s.Doc != "" {
		b = append(b, `,"doc":`...)
		b = appendJSONString(b, s.Doc)
	}
	if s.Parameters != nil {
		b = append(b, `,"parameters":{`...)
		keys := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, s.Parameters[k])
		}
		b = append(b, '}')
	}
	return b
}
