package convert

import (
	"github.com/sluicehq/sluice/runtime/connect"
)

// parseSchema builds a Connect schema from its JSON form (Kafka's
// asConnectSchema), checking what Kafka checks with Kafka's messages.
// span is one complete, syntactically valid JSON value; JSON null yields
// a nil schema.
func parseSchema(span []byte, replaceNull bool, depth int) (*connect.Schema, error) {
	if depth > maxJSONDepth {
		return nil, dataErr("Schema nesting depth exceeds the maximum allowed (%d)", maxJSONDepth)
	}
	if string(span) == "null" {
		return nil, nil
	}
	node, err := readMembers(span)
	if err != nil {
		return nil, err
	}
	typ, ok := stringValue(node["type"])
	if !ok {
		return nil, dataErr("Schema must contain 'type' field")
	}
	t, ok := typesByName[typ]
	if !ok {
		return nil, dataErr("Unknown schema type: %s", typ)
	}
	s := &connect.Schema{Type: t}
	if err := parseChildren(s, node, replaceNull, depth); err != nil {
		return nil, err
	}
	if err := parseMeta(s, node); err != nil {
		return nil, err
	}
	connect.Seal(s)
	if def, ok := node["default"]; ok {
		r := jsonReader{scanner: scanner{data: def}, replaceNull: replaceNull}
		if s.Default, err = r.value(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func parseChildren(s *connect.Schema, node map[string][]byte, replaceNull bool, depth int) error {
	var err error
	switch s.Type {
	case connect.TypeArray:
		items, ok := node["items"]
		if !ok || string(items) == "null" {
			return dataErr("Array schema did not specify the element type")
		}
		s.ValueSchema, err = parseSchema(items, replaceNull, depth+1)
		return err
	case connect.TypeMap:
		keys, hasKeys := node["keys"]
		if !hasKeys {
			return dataErr("Map schema did not specify the key type")
		}
		values, hasValues := node["values"]
		if !hasValues {
			return dataErr("Map schema did not specify the value type")
		}
		if s.KeySchema, err = parseSchema(keys, replaceNull, depth+1); err != nil {
			return err
		}
		if s.ValueSchema, err = parseSchema(values, replaceNull, depth+1); err != nil {
			return err
		}
		if s.KeySchema == nil {
			return dataErr("keySchema cannot be null.")
		}
		if s.ValueSchema == nil {
			return dataErr("valueSchema cannot be null.")
		}
	case connect.TypeStruct:
		return parseFields(s, node["fields"], replaceNull, depth)
	}
	return nil
}

func parseFields(s *connect.Schema, fields []byte, replaceNull bool, depth int) error {
	elems, ok, err := readElements(fields)
	if err != nil {
		return err
	}
	if !ok {
		return dataErr("Struct schema's \"fields\" argument is not an array.")
	}
	seen := make(map[string]bool, len(elems))
	for _, elem := range elems {
		var name string
		if member, err := readMembers(elem); err == nil {
			name, ok = stringValue(member["field"])
		}
		if !ok {
			return dataErr("Struct schema's field name not specified properly")
		}
		if seen[name] {
			return dataErr("Cannot create field because of field name duplication %s", name)
		}
		seen[name] = true
		fs, err := parseSchema(elem, replaceNull, depth+1)
		if err != nil {
			return err
		}
		s.Fields = append(s.Fields, connect.Field{Name: name, Index: len(s.Fields), Schema: fs})
	}
	return nil
}

// parseMeta reads optional, name, version, doc and parameters; members of
// the wrong JSON type are ignored, as Kafka ignores them, except
// non-string parameter values.
func parseMeta(s *connect.Schema, node map[string][]byte) error {
	s.Optional = string(node["optional"]) == "true"
	if name, ok := stringValue(node["name"]); ok {
		s.Name = name
	}
	if v := node["version"]; len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
		sc := scanner{data: v}
		if num, integral, err := sc.number(); err == nil && integral {
			s.Version = int(int32(javaLong(num)))
		}
	}
	if doc, ok := stringValue(node["doc"]); ok {
		s.Doc = doc
	}
	params, isObject, err := readObject(node["parameters"])
	if err != nil || !isObject {
		return err
	}
	s.Parameters = make(map[string]string, len(params))
	for k, v := range params {
		str, ok := stringValue(v)
		if !ok {
			return dataErr("Schema parameters must have string values.")
		}
		s.Parameters[k] = str
	}
	return nil
}

// readMembers returns an object's members by name (the last of duplicates
// wins, as in Jackson's tree); anything but an object has none.
func readMembers(span []byte) (map[string][]byte, error) {
	m, _, err := readObject(span)
	return m, err
}

func readObject(span []byte) (map[string][]byte, bool, error) {
	sc := scanner{data: span}
	if sc.peek() != '{' {
		return nil, false, nil
	}
	out := make(map[string][]byte)
	empty, err := sc.open('}')
	for err == nil && !empty {
		var k, v []byte
		if k, err = sc.key(); err != nil {
			break
		}
		name := string(k)
		if v, err = sc.span(); err != nil {
			break
		}
		out[name] = v
		var more bool
		more, err = sc.more('}')
		empty = !more
	}
	return out, true, err
}

// readElements returns an array's elements; ok is false for a non-array.
func readElements(span []byte) (elems [][]byte, ok bool, err error) {
	sc := scanner{data: span}
	if sc.peek() != '[' {
		return nil, false, nil
	}
	empty, err := sc.open(']')
	for err == nil && !empty {
		var v []byte
		if v, err = sc.span(); err != nil {
			break
		}
		elems = append(elems, v)
		var more bool
		more, err = sc.more(']')
		empty = !more
	}
	return elems, true, err
}

// stringValue decodes a JSON string value; ok is false for other kinds.
func stringValue(span []byte) (string, bool) {
	if len(span) == 0 || span[0] != '"' {
		return "", false
	}
	sc := scanner{data: span}
	b, err := sc.stringBytes()
	return string(b), err == nil
}
