package s3

import (
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The Parquet schema of a Connect schema, as parquet-avro makes it of
// AvroData's Avro schema, with what shredding values into columns needs.

// pqKind is how a node's values are shredded.
type pqKind int

const (
	pqLeaf   pqKind = iota
	pqStruct        // a record: its fields
	pqList          // a LIST group: its one repeated child holds the items
	pqMap           // a MAP group: its repeated key_value child holds the entries
	pqElem          // the repeated "list" group of a 3-level list: its "element"
	pqEntry         // a repeated group {key, value} of a map entry
)

// pqNode is one node of the Parquet schema with what shredding needs.
type pqNode struct {
	name     string
	kind     pqKind
	optional bool // OPTIONAL (a repeated node is neither)
	schema   *connect.Schema
	fields   []*pqNode
	// col0..col1 are the leaf columns under the node.
	col0, col1 int
	// repLevel is a repeated node's repetition level.
	repLevel int
	// path names the node in messages: fields and map keys and values
	// from the root, dot-separated.
	path string
	leaf func(v any) (parquet.Value, error)
	node parquet.Node
}

// setPaths names n and the nodes under it after prefix, leaving out the
// list and map wrappers' own groups.
func setPaths(n *pqNode, prefix string) {
	n.path = prefix
	switch n.kind {
	case pqLeaf, pqStruct, pqEntry:
		if n.name != "" && n.name != "array" && n.name != "element" && n.name != "key_value" {
			n.path = strings.TrimPrefix(prefix+"."+n.name, ".")
		}
	case pqList, pqMap:
		n.path = strings.TrimPrefix(prefix+"."+n.name, ".")
	}
	for _, c := range n.fields {
		setPaths(c, n.path)
	}
}

// pqBuilder maps a Connect schema to Parquet as parquet-avro maps
// AvroData's Avro schema of it: records are groups, optional fields
// OPTIONAL, arrays 2-level lists (repeated <item> "array"), unless an array
// anywhere holds optional items, when every list is 3-level
// (repeated group "list" {element}), as Confluent sets parquet-avro's
// write-old-list-structure=false then; maps with string keys MAP groups
// (repeated group key_value {key, value}); other maps lists of
// MapEntry records {key, value}.
type pqBuilder struct {
	columns  int
	reps     int
	newLists bool
}

func (b *pqBuilder) group(name string, s *connect.Schema, optional bool) (*pqNode, error) {
	if name == "" { // the root
		b.newLists = hasArrayOfOptional(s, map[*connect.Schema]bool{})
	}
	n := &pqNode{name: name, kind: pqStruct, optional: optional, schema: s, col0: b.columns}
	fields := make([]parquet.Field, 0, len(s.Fields))
	for i := range s.Fields {
		f := &s.Fields[i]
		c, err := b.node(f.Name, f.Schema, f.Schema.Optional)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		n.fields = append(n.fields, c)
		fields = append(fields, namedField{c.node, f.Name})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("struct %s has no fields, which Parquet cannot hold", s)
	}
	n.col1 = b.columns
	n.node = orderedGroup{Node: parquet.Group{}, fields: fields}
	return b.wrap(n), nil
}

// wrap makes n's Parquet node optional when n is.
func (b *pqBuilder) wrap(n *pqNode) *pqNode {
	if n.optional {
		n.node = parquet.Optional(n.node)
	}
	return n
}

func (b *pqBuilder) node(name string, s *connect.Schema, optional bool) (*pqNode, error) {
	switch s.Type {
	case connect.TypeStruct:
		return b.group(name, s, optional)
	case connect.TypeArray:
		return b.list(name, s, optional, func(item string) (*pqNode, error) {
			return b.node(item, s.ValueSchema, s.ValueSchema.Optional)
		})
	case connect.TypeMap:
		if s.KeySchema.Type == connect.TypeString && !s.KeySchema.Optional {
			return b.stringMap(name, s, optional)
		}
		return b.list(name, s, optional, func(item string) (*pqNode, error) { return b.entry(item, s, false) })
	}
	return b.leaf(name, s, optional)
}

// list builds a LIST group whose items item builds, named "array"
// (2-level) or "element" (3-level).
func (b *pqBuilder) list(name string, s *connect.Schema, optional bool, item func(name string) (*pqNode, error)) (*pqNode, error) {
	n := &pqNode{name: name, kind: pqList, optional: optional, schema: s, col0: b.columns}
	b.reps++
	defer func() { b.reps-- }()
	var rep *pqNode
	if b.newLists {
		e, err := item("element")
		if err != nil {
			return nil, err
		}
		rep = &pqNode{name: "list", kind: pqElem, fields: []*pqNode{e}, col0: e.col0, col1: e.col1,
			node: orderedGroup{Node: parquet.Group{}, fields: []parquet.Field{namedField{e.node, "element"}}}}
	} else {
		e, err := item("array")
		if err != nil {
			return nil, err
		}
		if e.optional { // cannot happen: optional items make 3-level lists
			return nil, fmt.Errorf("a 2-level list cannot hold optional items")
		}
		rep = e
	}
	rep.repLevel = b.reps
	rep.optional = false
	rep.node = parquet.Repeated(rep.node)
	n.fields = []*pqNode{rep}
	n.col1 = b.columns
	n.node = orderedGroup{Node: parquet.List(parquet.String()), fields: []parquet.Field{namedField{rep.node, rep.name}}}
	return b.wrap(n), nil
}

// stringMap builds a MAP group of a map with string keys.
func (b *pqBuilder) stringMap(name string, s *connect.Schema, optional bool) (*pqNode, error) {
	n := &pqNode{name: name, kind: pqMap, optional: optional, schema: s, col0: b.columns}
	b.reps++
	defer func() { b.reps-- }()
	kv, err := b.entry("key_value", s, true)
	if err != nil {
		return nil, err
	}
	kv.repLevel = b.reps
	kv.node = parquet.Repeated(kv.node)
	n.fields = []*pqNode{kv}
	n.col1 = b.columns
	n.node = orderedGroup{Node: parquet.Map(parquet.String(), parquet.String()), fields: []parquet.Field{namedField{kv.node, "key_value"}}}
	return b.wrap(n), nil
}

// entry builds the group {key, value} of a map entry: key_value of a MAP,
// or a MapEntry record of a list.
func (b *pqBuilder) entry(name string, s *connect.Schema, stringKey bool) (*pqNode, error) {
	n := &pqNode{name: name, kind: pqEntry, schema: s, col0: b.columns}
	var k *pqNode
	var err error
	if stringKey {
		k, err = b.leaf("key", s.KeySchema, false)
	} else {
		k, err = b.node("key", s.KeySchema, s.KeySchema.Optional)
	}
	if err != nil {
		return nil, fmt.Errorf("map key: %w", err)
	}
	v, err := b.node("value", s.ValueSchema, s.ValueSchema.Optional)
	if err != nil {
		return nil, fmt.Errorf("map value: %w", err)
	}
	n.fields = []*pqNode{k, v}
	n.col1 = b.columns
	n.node = orderedGroup{Node: parquet.Group{}, fields: []parquet.Field{namedField{k.node, "key"}, namedField{v.node, "value"}}}
	return n, nil
}

// leaf builds a column: Connect's types as AvroData and parquet-avro map
// them (INT8 and INT16 are Avro ints, so INT32 columns; strings UTF8;
// Decimal a BINARY DECIMAL; Date, Time and Timestamp DATE, TIME_MILLIS
// and TIMESTAMP_MILLIS adjusted to UTC). Every column but booleans is
// dictionary-encoded, as Confluent's writer asks.
func (b *pqBuilder) leaf(name string, s *connect.Schema, optional bool) (*pqNode, error) {
	n := &pqNode{name: name, kind: pqLeaf, optional: optional, schema: s, col0: b.columns, col1: b.columns + 1}
	b.columns++
	var node parquet.Node
	switch s.Name {
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		prec := 64
		if p, ok := s.Parameters["connect.decimal.precision"]; ok {
			if prec, err = strconv.Atoi(p); err != nil || prec < 1 {
				return nil, fmt.Errorf("invalid connect.decimal.precision %q", p)
			}
		}
		if scale < 0 || scale > prec {
			return nil, fmt.Errorf("Decimal scale %d is outside 0..precision %d, which Parquet cannot hold", scale, prec)
		}
		node = parquet.Decimal(scale, prec, parquet.ByteArrayType)
		n.leaf = func(v any) (parquet.Value, error) {
			r, ok := v.(*big.Rat)
			if !ok {
				return parquet.Value{}, leafErr(s, v)
			}
			raw, err := connect.DecimalToBytes(scale, r)
			return parquet.ByteArrayValue(raw), err
		}
	case connect.DateName:
		node = parquet.Date()
		n.leaf = timeLeaf(s, func(t time.Time) (parquet.Value, error) {
			d, err := connect.DateToDays(t)
			return parquet.Int32Value(d), err
		})
	case connect.TimeName:
		node = parquet.Time(parquet.Millisecond)
		n.leaf = timeLeaf(s, func(t time.Time) (parquet.Value, error) {
			ms, err := connect.TimeToMillis(t)
			return parquet.Int32Value(ms), err
		})
	case connect.TimestampName:
		node = parquet.Timestamp(parquet.Millisecond)
		n.leaf = timeLeaf(s, func(t time.Time) (parquet.Value, error) { return parquet.Int64Value(t.UnixMilli()), nil })
	}
	if node == nil {
		node, n.leaf = primitiveLeaf(s)
		if node == nil {
			return nil, fmt.Errorf("Connect type %s has no Parquet column", s.Type)
		}
	}
	if s.Type != connect.TypeBoolean {
		node = parquet.Encoded(node, &parquet.RLEDictionary)
	}
	n.node = node
	return b.wrap(n), nil
}

func primitiveLeaf(s *connect.Schema) (parquet.Node, func(any) (parquet.Value, error)) {
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32:
		return parquet.Leaf(plainType{parquet.Int32Type}), func(v any) (parquet.Value, error) {
			switch x := v.(type) {
			case int8:
				return parquet.Int32Value(int32(x)), nil
			case int16:
				return parquet.Int32Value(int32(x)), nil
			case int32:
				return parquet.Int32Value(x), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	case connect.TypeInt64:
		return parquet.Leaf(plainType{parquet.Int64Type}), func(v any) (parquet.Value, error) {
			if x, ok := v.(int64); ok {
				return parquet.Int64Value(x), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	case connect.TypeFloat32:
		return parquet.Leaf(parquet.FloatType), func(v any) (parquet.Value, error) {
			if x, ok := v.(float32); ok {
				return parquet.FloatValue(x), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	case connect.TypeFloat64:
		return parquet.Leaf(parquet.DoubleType), func(v any) (parquet.Value, error) {
			if x, ok := v.(float64); ok {
				return parquet.DoubleValue(x), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	case connect.TypeBoolean:
		return parquet.Leaf(parquet.BooleanType), func(v any) (parquet.Value, error) {
			if x, ok := v.(bool); ok {
				return parquet.BooleanValue(x), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	case connect.TypeString:
		return parquet.String(), func(v any) (parquet.Value, error) {
			if x, ok := v.(string); ok {
				return parquet.ByteArrayValue([]byte(x)), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	case connect.TypeBytes:
		return parquet.Leaf(parquet.ByteArrayType), func(v any) (parquet.Value, error) {
			if x, ok := v.([]byte); ok {
				return parquet.ByteArrayValue(x), nil
			}
			return parquet.Value{}, leafErr(s, v)
		}
	}
	return nil, nil
}

// plainType is a physical type without the INTEGER annotation parquet-go
// gives int32 and int64 columns: parquet-avro writes Avro ints and longs
// as bare INT32 and INT64.
type plainType struct{ parquet.Type }

func (plainType) LogicalType() *format.LogicalType { return nil }

func timeLeaf(s *connect.Schema, f func(time.Time) (parquet.Value, error)) func(any) (parquet.Value, error) {
	return func(v any) (parquet.Value, error) {
		t, ok := v.(time.Time)
		if !ok {
			return parquet.Value{}, leafErr(s, v)
		}
		return f(t)
	}
}

func leafErr(s *connect.Schema, v any) error {
	return fmt.Errorf("a %T cannot be written as %s", v, s)
}

// hasArrayOfOptional is Confluent's schemaHasArrayOfOptionalItems.
func hasArrayOfOptional(s *connect.Schema, seen map[*connect.Schema]bool) bool {
	if s == nil || seen[s] {
		return false
	}
	seen[s] = true
	switch s.Type {
	case connect.TypeStruct:
		for _, f := range s.Fields {
			if hasArrayOfOptional(f.Schema, seen) {
				return true
			}
		}
	case connect.TypeMap:
		return hasArrayOfOptional(s.ValueSchema, seen)
	case connect.TypeArray:
		return s.ValueSchema.Optional || hasArrayOfOptional(s.ValueSchema, seen)
	}
	return false
}

// orderedGroup is a Parquet group whose fields keep the record's order
// (parquet.Group sorts them by name); the embedded node gives its logical
// type (none, LIST or MAP).
type orderedGroup struct {
	parquet.Node
	fields []parquet.Field
}

func (g orderedGroup) Fields() []parquet.Field { return g.fields }
func (orderedGroup) Leaf() bool                { return false }
func (orderedGroup) Optional() bool            { return false }
func (orderedGroup) Repeated() bool            { return false }
func (orderedGroup) Required() bool            { return true }
func (orderedGroup) GoType() reflect.Type      { return reflect.TypeFor[map[string]any]() }
func (g orderedGroup) String() string {
	names := make([]string, len(g.fields))
	for i, f := range g.fields {
		names[i] = f.Name()
	}
	return "group{" + strings.Join(names, ",") + "}"
}

// namedField names a node in its group; rows are written as parquet.Row
// values, never from Go structs, so Value is not used.
type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string                    { return f.name }
func (namedField) Value(reflect.Value) reflect.Value { return reflect.Value{} }
