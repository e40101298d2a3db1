package transform

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// jsonSchemaData is Debezium's outbox JsonSchemaData: it infers a Connect
// schema from a JSON document and converts the document to a value of it,
// for the EventRouter's table.expand.json.payload.
type jsonSchemaData struct {
	// nullAsBytes keeps null members as optional BYTES fields
	// (table.json.payload.null.behavior=optional_bytes) rather than
	// leaving them out.
	nullAsBytes bool
}

// parse reads a JSON document and infers its schema: a struct named field
// for an object, or an array. As Jackson's readTree, the first value is
// read and what follows it ignored.
func (d jsonSchemaData) parse(field, doc string) (*jsonNode, *connect.Schema, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	n, err := readJSONNode(dec)
	if err != nil {
		return nil, nil, fmt.Errorf("parse payload: %w", err)
	}
	schema, err := d.schema(field, n)
	if err != nil {
		return nil, nil, err
	}
	if schema == nil {
		return nil, nil, fmt.Errorf("%w: payload is an empty array, whose schema cannot be inferred", connect.ErrData)
	}
	return n, schema, nil
}

// jsonKind is the kind of a JSON value, numbers split as Jackson's node
// types split them.
type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonString
	jsonInt    // an integer that fits 32 bits (IntNode)
	jsonLong   // an integer that fits 64 bits (LongNode)
	jsonBigInt // a larger integer (BigIntegerNode)
	jsonDouble // a number with a fraction or exponent (DoubleNode)
	jsonArray
	jsonObject
)

// isNumber reports whether k is one of the number kinds.
func (k jsonKind) isNumber() bool { return k >= jsonInt && k <= jsonDouble }

// jsonNode is a parsed JSON value that keeps object members in document
// order; a repeated member name keeps its first place and its last value,
// as in Jackson's tree.
type jsonNode struct {
	kind  jsonKind
	text  string // a string, or a number as written
	b     bool
	n     int64
	f     float64
	items []*jsonNode // array elements, or object member values
	names []string    // object member names, parallel to items
	index map[string]int
}

// member returns the named object member, or nil.
func (n *jsonNode) member(name string) *jsonNode {
	if i, ok := n.index[name]; ok {
		return n.items[i]
	}
	return nil
}

// readJSONNode reads one JSON value from d.
func readJSONNode(d *json.Decoder) (*jsonNode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case nil:
		return &jsonNode{kind: jsonNull}, nil
	case bool:
		return &jsonNode{kind: jsonBool, b: v}, nil
	case string:
		return &jsonNode{kind: jsonString, text: v}, nil
	case json.Number:
		return numberNode(string(v)), nil
	case json.Delim:
		n := &jsonNode{kind: jsonArray}
		if v == '{' {
			n.kind, n.index = jsonObject, map[string]int{}
		}
		for d.More() {
			if err := n.readMember(d); err != nil {
				return nil, err
			}
		}
		_, err := d.Token() // the closing delimiter
		return n, err
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// readMember reads the next element of an array, or member of an object.
func (n *jsonNode) readMember(d *json.Decoder) error {
	name := ""
	if n.kind == jsonObject {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		name, _ = tok.(string)
	}
	e, err := readJSONNode(d)
	if err != nil {
		return err
	}
	if i, dup := n.index[name]; dup && n.kind == jsonObject {
		n.items[i] = e
		return nil
	}
	if n.kind == jsonObject {
		n.index[name] = len(n.items)
		n.names = append(n.names, name)
	}
	n.items = append(n.items, e)
	return nil
}

// numberNode classifies a JSON number as Jackson does.
func numberNode(lit string) *jsonNode {
	if strings.ContainsAny(lit, ".eE") {
		f, _ := strconv.ParseFloat(lit, 64) // ±Inf when out of range, as Java's parseDouble
		return &jsonNode{kind: jsonDouble, text: lit, f: f}
	}
	if n, err := strconv.ParseInt(lit, 10, 32); err == nil {
		return &jsonNode{kind: jsonInt, text: lit, n: n}
	}
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return &jsonNode{kind: jsonLong, text: lit, n: n}
	}
	return &jsonNode{kind: jsonBigInt, text: lit}
}

// numberSchema is the schema Debezium infers for a number kind.
func numberSchema(k jsonKind) *connect.Schema {
	switch k {
	case jsonInt:
		return connect.OptionalInt32Schema
	case jsonLong:
		return connect.OptionalInt64Schema
	}
	return connect.OptionalFloat64Schema
}

// jsonSchema is JsonSchemaData.toConnectSchema: the optional schema n's
// shape implies, a struct named key for an object (key "" stands for
// Java's null: no name, and "null." before member names). A null member,
// unless nulls are optional bytes, and an empty array give nil: the member
// is left out.
func (d jsonSchemaData) schema(key string, n *jsonNode) (*connect.Schema, error) {
	switch n.kind {
	case jsonString:
		return connect.OptionalStringSchema, nil
	case jsonBool:
		return connect.OptionalBooleanSchema, nil
	case jsonInt, jsonLong, jsonBigInt, jsonDouble:
		return numberSchema(n.kind), nil
	case jsonArray:
		if len(n.items) == 0 {
			return nil, nil
		}
		elem, err := d.elementSchema(key, n)
		if err != nil {
			return nil, err
		}
		s := connect.ArrayOf(elem)
		s.Optional = true
		return s, nil
	case jsonObject:
		return d.structSchema(key, n)
	}
	if d.nullAsBytes {
		return connect.OptionalBytesSchema, nil
	}
	return nil, nil
}

// jsonStructSchema infers the struct schema of an object.
func (d jsonSchemaData) structSchema(key string, n *jsonNode) (*connect.Schema, error) {
	b := connect.StructBuilder().Name(key).Optional()
	prefix := key
	if prefix == "" {
		prefix = "null"
	}
	for i, name := range n.names {
		s, err := d.schema(prefix+"."+name, n.items[i])
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%w: fieldName cannot be null.", connect.ErrData)
		}
		b.Field(name, s)
	}
	return b.Build(), nil
}

// jsonElementSchema is the element schema of a non-empty array: its first
// non-null element's, every other element of the same kind (and number
// schema); for objects the merge of every element's.
func (d jsonSchemaData) elementSchema(key string, arr *jsonNode) (*connect.Schema, error) {
	sample := &jsonNode{kind: jsonNull}
	for _, e := range arr.items {
		if e.kind == jsonNull {
			continue
		}
		if sample.kind == jsonNull {
			sample = e
		}
		same := e.kind == sample.kind || e.kind.isNumber() && sample.kind.isNumber()
		if !same || e.kind.isNumber() && numberSchema(e.kind) != numberSchema(sample.kind) {
			return nil, fmt.Errorf("%w: Field is not a homogenous array", connect.ErrData)
		}
	}
	if sample.kind != jsonObject {
		s, err := d.schema("", sample)
		if err == nil && s == nil {
			err = fmt.Errorf("%w: Array has unrecognized member schema", connect.ErrData)
		}
		return s, err
	}
	var distinct []*connect.Schema
	for _, e := range arr.items {
		if e.kind != jsonObject {
			continue
		}
		s, err := d.schema(key, e)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(distinct, s.Equal) {
			distinct = append(distinct, s)
		}
	}
	merged := distinct[0]
	for _, s := range distinct[1:] {
		merged = mergeJSONSchemas(merged, s)
	}
	return merged, nil
}

// mergeJSONSchemas is JsonSchemaData.mergeSchema: left's fields, then
// right's new ones; a BYTES field (an inferred null) gives way to a typed
// one. As Kafka's SchemaUtil.copySchemaBasics, the result is not optional.
func mergeJSONSchemas(left, right *connect.Schema) *connect.Schema {
	fields := slices.Clone(left.Fields)
	for _, f := range right.Fields {
		i := slices.IndexFunc(fields, func(x connect.Field) bool { return x.Name == f.Name })
		switch {
		case i < 0:
			fields = append(fields, f)
		case !fields[i].Schema.Equal(f.Schema) && fields[i].Schema.Type == connect.TypeBytes && f.Schema.Type != connect.TypeBytes:
			fields[i].Schema = f.Schema
		}
	}
	b := copySchemaBasics(left, connect.TypeStruct)
	for _, f := range fields {
		b.Field(f.Name, f.Schema)
	}
	return b.Build()
}

// jsonData converts a parsed document to Connect data of schema s, checked
// against it.
func jsonData(n *jsonNode, s *connect.Schema) (any, error) {
	v, err := jsonValue(n, s)
	if err != nil {
		return nil, err
	}
	if _, isArray := v.([]any); isArray { // a struct was checked field by field
		if err := connect.ValidateValue(s, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// jsonValue is JsonSchemaData.toConnectData: n as a value of schema s.
// Debezium reads integers too large for a long as BigDecimal, which no
// inferred schema accepts; here they fail the same way.
func jsonValue(n *jsonNode, s *connect.Schema) (any, error) {
	switch n.kind {
	case jsonString:
		return n.text, nil
	case jsonBool:
		return n.b, nil
	case jsonInt:
		return int32(n.n), nil
	case jsonLong:
		return n.n, nil
	case jsonDouble:
		return n.f, nil
	case jsonBigInt:
		return nil, fmt.Errorf("%w: integer %s does not fit a long", connect.ErrData, n.text)
	case jsonArray:
		if s == nil || s.Type != connect.TypeArray {
			return nil, fmt.Errorf("%w: JSON array for schema %s", connect.ErrData, s)
		}
		out := make([]any, len(n.items))
		for i, e := range n.items {
			v, err := jsonValue(e, s.ValueSchema)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case jsonObject:
		return jsonStruct(n, s)
	}
	return nil, nil
}

// jsonStruct converts an object to a struct of schema s: members s lacks
// are left out, values are checked against their field's schema.
func jsonStruct(n *jsonNode, s *connect.Schema) (*connect.Struct, error) {
	if s == nil || s.Type != connect.TypeStruct {
		return nil, fmt.Errorf("%w: JSON object for schema %s", connect.ErrData, s)
	}
	st := connect.NewStruct(s)
	for _, f := range s.Fields {
		m := n.member(f.Name)
		if m == nil {
			continue
		}
		v, err := jsonValue(m, f.Schema)
		if err != nil {
			return nil, err
		}
		if _, err := st.Put(f.Name, v); err != nil {
			return nil, err
		}
	}
	return st, nil
}
