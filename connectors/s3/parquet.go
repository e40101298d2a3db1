package s3

import (
	"fmt"
	"io"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/brotli"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// parquetPageSize is the page size Confluent's Parquet writer sets.
const parquetPageSize = 64 << 10

// parquetRowBatch is how many rows are handed to the Parquet writer at
// once (one call per row costs more than the rows).
const parquetRowBatch = 256

// parquetCodecs are the parquet.codec values this version writes, with the
// extension parquet-mr's CompressionCodecName gives each.
var parquetCodecs = map[string]struct {
	ext   string
	codec compress.Codec
}{
	"none":    {"", &uncompressed.Codec{}},
	"snappy":  {".snappy", &snappy.Codec{}},
	"gzip":    {".gz", &gzip.Codec{}},
	"brotli":  {".br", &brotli.Codec{}},
	"zstd":    {".zstd", &zstd.Codec{}},
	"lz4_raw": {".lz4raw", &lz4.Codec{}},
}

// parquetCodecValidator accepts the parquet.codec values this version can
// write and names the others Confluent accepts.
type parquetCodecValidator struct{}

// Validate implements connect.Validator.
func (parquetCodecValidator) Validate(_ string, v any) string {
	s, _ := v.(string)
	s = strings.TrimSpace(s)
	if _, ok := parquetCodecs[s]; ok {
		return ""
	}
	switch s {
	case "lz4", "lzo":
		return s + " is not supported in this version (the Parquet library cannot write it); use one of " + parquetCodecValidator{}.String()
	}
	return "must be one of " + parquetCodecValidator{}.String()
}

func (parquetCodecValidator) String() string { return "[none, snappy, gzip, brotli, zstd, lz4_raw]" }

// parquetFormat is Confluent's ParquetFormat: the records' Struct values
// as rows of a Parquet file whose schema is the one parquet-avro
// (AvroParquetWriter) makes of the values' Avro schema, compressed with
// parquet.codec. Rows are buffered in memory up to rowGroupBytes, then
// written out as a row group, so an open file holds at most about that
// much; the footer is written at close.
type parquetFormat struct {
	ext           string
	codec         compress.Codec
	rowGroupBytes int
	schemas       *avroSchemas
}

func newParquetFormat(s *settings) *parquetFormat {
	c := parquetCodecs[s.parquetCodec]
	return &parquetFormat{ext: c.ext + ".parquet", codec: c.codec, rowGroupBytes: int(s.partSize),
		schemas: newAvroSchemas(s.schemaCacheSize, s.enhancedAvro)}
}

func (f *parquetFormat) extension() string { return f.ext }
func (*parquetFormat) compressible() bool  { return false }

func (f *parquetFormat) newWriter(out io.Writer, schema *connect.Schema) (recordWriter, error) {
	if schema != nil && schema.Type != connect.TypeStruct {
		return nil, &badRecordError{fmt.Errorf("ParquetFormat needs Struct values (rows), and this one is %s", schema.Type)}
	}
	d, err := f.schemas.get(schema, "ParquetFormat")
	if err != nil {
		return nil, err
	}
	b := &pqBuilder{}
	root, err := b.group("", schema, false)
	if err != nil {
		return nil, &badRecordError{fmt.Errorf("ParquetFormat cannot map %s to a Parquet schema: %w", schema, err)}
	}
	setPaths(root, "")
	name := schema.Name
	if name == "" {
		name = "io.confluent.connect.avro.ConnectDefault"
	}
	// The writer model and the Avro schema are the footer metadata
	// parquet-avro writes; readers of parquet-avro restore the Avro
	// schema (and its connect.* properties) from them.
	w := parquet.NewWriter(out, parquet.NewSchema(name, root.node), parquet.Compression(f.codec),
		parquet.PageBufferSize(parquetPageSize),
		parquet.KeyValueMetadata("parquet.avro.schema", d.JSON),
		parquet.KeyValueMetadata("writer.model.name", "avro"))
	return &parquetWriter{schema: schema, root: root, w: w, cols: make([][]parquet.Value, b.columns), maxBytes: f.rowGroupBytes}, nil
}

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

// parquetWriter writes the rows of one Parquet file. Each record is
// shredded into its column values in full before it joins the buffered
// rows, so a value that cannot be written leaves nothing behind.
type parquetWriter struct {
	schema *connect.Schema
	root   *pqNode
	//lint:ignore SA1019 rows are written as parquet.Row values, never Go values; GenericWriter would derive writers from the nodes' Go types
	w    *parquet.Writer
	cols [][]parquet.Value // the record being shredded, by column
	// vals are the values of rows not yet handed to w, ends where each
	// row's end; rows are handed over parquetRowBatch at a time.
	vals     []parquet.Value
	ends     []int
	rows     []parquet.Row
	size     int // bytes of values buffered since the last row group
	maxBytes int
}

func (w *parquetWriter) write(schema *connect.Schema, value any) error {
	if err := sameSchema(w.schema, schema, "ParquetFormat"); err != nil {
		return err
	}
	for i := range w.cols {
		w.cols[i] = w.cols[i][:0]
	}
	if err := w.content(w.root, value, 0, 0); err != nil {
		return &badRecordError{fmt.Errorf("ParquetFormat cannot write the value: %w", err)}
	}
	for _, c := range w.cols {
		w.vals = append(w.vals, c...)
		for _, v := range c {
			w.size += 8
			if !v.IsNull() && v.Kind() == parquet.ByteArray {
				w.size += len(v.ByteArray())
			}
		}
	}
	w.ends = append(w.ends, len(w.vals))
	if len(w.ends) >= parquetRowBatch {
		if err := w.writeRows(); err != nil {
			return err
		}
	}
	if w.size >= w.maxBytes {
		w.size = 0
		if err := w.writeRows(); err != nil {
			return err
		}
		if err := w.w.Flush(); err != nil {
			return fmt.Errorf("write a Parquet row group: %w", err)
		}
	}
	return nil
}

// writeRows hands the batched rows to the Parquet writer.
func (w *parquetWriter) writeRows() error {
	w.rows = w.rows[:0]
	start := 0
	for _, end := range w.ends {
		w.rows = append(w.rows, w.vals[start:end])
		start = end
	}
	w.vals, w.ends = w.vals[:0], w.ends[:0]
	if _, err := w.w.WriteRows(w.rows); err != nil {
		return fmt.Errorf("write Parquet rows: %w", err)
	}
	return nil
}

func (w *parquetWriter) close() error {
	if err := w.writeRows(); err != nil {
		return err
	}
	return w.w.Close()
}

// shred adds the values of v, the value of node n, to their columns: r is
// the repetition level of its first value in each column, d the
// definition level of its parent.
func (w *parquetWriter) shred(n *pqNode, v any, r, d int) error {
	if n.optional {
		if v == nil {
			w.nulls(n, r, d)
			return nil
		}
		d++
	} else if v == nil {
		return fmt.Errorf("%s is null but its schema is not optional", n.path)
	}
	return w.content(n, v, r, d)
}

// content adds the values of a non-null v (d counts n as present).
func (w *parquetWriter) content(n *pqNode, v any, r, d int) error {
	switch n.kind {
	case pqLeaf:
		val, err := n.leaf(v)
		if err != nil {
			return fmt.Errorf("%s: %w", n.path, err)
		}
		w.cols[n.col0] = append(w.cols[n.col0], val.Level(r, d, n.col0))
	case pqStruct:
		st, ok := v.(*connect.Struct)
		if !ok {
			return fmt.Errorf("%s: a %T is not a Struct", n.path, v)
		}
		ss := st.Schema()
		for i, f := range n.fields {
			sf := ss.Field(n.schema.Fields[i].Name)
			var fv any
			if sf != nil {
				fv = st.GetField(sf)
			}
			if err := w.shred(f, fv, r, d); err != nil {
				return err
			}
		}
	case pqElem:
		return w.shred(n.fields[0], v, r, d)
	case pqEntry:
		e := v.([2]any)
		if err := w.shred(n.fields[0], e[0], r, d); err != nil {
			return err
		}
		return w.shred(n.fields[1], e[1], r, d)
	case pqList, pqMap:
		items, err := listItems(n, v)
		if err != nil {
			return fmt.Errorf("%s: %w", n.path, err)
		}
		rep := n.fields[0]
		if len(items) == 0 {
			w.nulls(rep, r, d)
			return nil
		}
		for i, it := range items {
			rr := r
			if i > 0 {
				rr = rep.repLevel
			}
			if it == nil && rep.kind != pqElem {
				return fmt.Errorf("%s has a null item but its items are not optional", n.path)
			}
			if err := w.content(rep, it, rr, d+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// listItems returns the items of an array, or the [key, value] entries of
// a map in Java HashMap order (the order parquet-avro writes a HashMap
// in), which is the same on every run.
func listItems(n *pqNode, v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		var out []any
		for _, k := range javafmt.AppendStringKeys(nil, x) {
			out = append(out, [2]any{k.Key, x[k.Key]})
		}
		return out, nil
	case map[any]any:
		keys := javafmt.AnyKeys(x)
		out := make([]any, 0, len(keys))
		for _, k := range keys {
			out = append(out, [2]any{k, x[k]})
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %T is not a %s", v, n.schema.Type)
}

// nulls adds a null at level (r, d) to every column under n.
func (w *parquetWriter) nulls(n *pqNode, r, d int) {
	for c := n.col0; c < n.col1; c++ {
		w.cols[c] = append(w.cols[c], parquet.NullValue().Level(r, d, c))
	}
}
