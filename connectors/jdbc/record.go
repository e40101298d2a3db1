package jdbc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// opKind is what a record asks of its table.
type opKind int

const (
	opWrite    opKind = iota // insert, upsert or update per insert.mode
	opDelete                 // delete by key
	opTruncate               // TRUNCATE TABLE
)

// op is one record turned into a statement's worth of values.
type op struct {
	kind  opKind
	table string
	rec   *connect.Record
	cols  []column // key columns first; a delete has only those
	vals  []any    // bound values, one per column
	nkeys int      // how many of cols are key columns
	key   string   // the key values, to find two writes of one row
	sig   string   // table and column shapes: ops with equal sig share a statement
}

// Debezium's names of the Kafka coordinates columns (pk mode kafka).
var kafkaColumns = []string{"__connect_topic", "__connect_partition", "__connect_offset"}

// recordError is a record that cannot be written: it goes to the errant
// record reporter.
func recordError(r *connect.Record, table, format string, args ...any) error {
	where := ""
	if table != "" {
		where = " for table " + table
	}
	return fmt.Errorf("%w: JDBC sink: record %s-%d@%d%s: %s", connect.ErrData, r.Topic, r.Partition, r.Offset, where, fmt.Sprintf(format, args...))
}

// interpret turns a record into an op, or nil to skip it (with why, for
// the debug log).
func (s *settings) interpret(r *connect.Record) (*op, string, error) {
	if r.Value == nil {
		if !s.deletes {
			if s.front == confluent {
				return nil, "", recordError(r, "", "the Confluent JDBC sink requires records with a non-null Struct value and non-null Struct schema, or delete.enabled=true with pk.mode=record_key for tombstones")
			}
			return nil, "a tombstone with delete.enabled=false", nil
		}
		if s.pk == pkValue || s.pk == pkHeader {
			return nil, "a tombstone under primary.key.mode=" + string(s.pk), nil
		}
		if s.front == debezium && strings.Contains(s.tableFmt, "${source.") {
			// As Debezium's DefaultCollectionNamingStrategy: a tombstone has
			// no source block to name its table; the op=d event before it
			// deleted the row.
			return nil, "a tombstone, whose table " + s.tableFmt + " cannot be named without a source block", nil
		}
		return s.deleteOp(r, nil, nil)
	}
	vs := r.ValueSchema
	if vs != nil && strings.Contains(vs.Name, "SchemaChangeValue") {
		return nil, "a schema change event (exclude the topic.prefix topic)", nil
	}
	if isEnvelope(vs) {
		if s.front == confluent {
			return nil, "", recordError(r, "", "the value is a Debezium change event envelope (%s), which %s does not read: add the io.debezium.transforms.ExtractNewRecordState transform, or use %s", vs.Name, ConfluentClass, DebeziumClass)
		}
		return s.envelope(r)
	}
	st, ok := r.Value.(*connect.Struct)
	if !ok {
		return nil, "", recordError(r, "", "the value must be a Struct with a schema, got %T", r.Value)
	}
	return s.writeOp(r, st, nil)
}

// isEnvelope reports whether a value schema is Debezium's envelope: named
// …Envelope, or unnamed with an op field.
func isEnvelope(vs *connect.Schema) bool {
	if vs == nil || vs.Type != connect.TypeStruct {
		return false
	}
	return strings.HasSuffix(vs.Name, ".Envelope") || (vs.Name == "" && vs.Field("op") != nil)
}

func (s *settings) envelope(r *connect.Record) (*op, string, error) {
	env, ok := r.Value.(*connect.Struct)
	if !ok {
		return nil, "", recordError(r, "", "the envelope value must be a Struct, got %T", r.Value)
	}
	opv, _ := env.Get("op")
	code, _ := opv.(string)
	source, _ := structField(env, "source")
	switch code {
	case "c", "r", "u":
		after, _ := structField(env, "after")
		if after == nil {
			return nil, "", recordError(r, "", "op %q event without an after struct", code)
		}
		return s.writeOp(r, after, source)
	case "d":
		if !s.deletes {
			return nil, "an op=d event with delete.enabled=false", nil
		}
		before, _ := structField(env, "before")
		if s.pk == pkValue && before == nil {
			return nil, "", recordError(r, "", "op d event without a before struct under primary.key.mode=record_value")
		}
		return s.deleteOp(r, before, source)
	case "t":
		if !s.truncates {
			return nil, "an op=t event with truncate.enabled=false", nil
		}
		table, err := s.tableName(r, source)
		if err != nil {
			return nil, "", err
		}
		return &op{kind: opTruncate, table: table, rec: r, sig: table}, "", nil
	}
	return nil, "", recordError(r, "", "unknown envelope op %q", code)
}

func structField(st *connect.Struct, name string) (*connect.Struct, bool) {
	if st.Schema().Field(name) == nil {
		return nil, false
	}
	v, _ := st.Get(name)
	x, ok := v.(*connect.Struct)
	return x, ok
}

// tableName renders the table name format for r: ${topic}, and for
// Debezium ${source.<field>} from the envelope's source block; Debezium's
// default naming strategy then turns dots into underscores.
func (s *settings) tableName(r *connect.Record, source *connect.Struct) (string, error) {
	name := strings.ReplaceAll(s.tableFmt, "${topic}", r.Topic)
	for {
		i := strings.Index(name, "${source.")
		if i < 0 {
			break
		}
		j := strings.IndexByte(name[i:], '}')
		if j < 0 || s.front == confluent {
			return "", recordError(r, "", "table name format %q: only ${topic} is replaced", s.tableFmt)
		}
		field := name[i+len("${source.") : i+j]
		if source == nil || source.Schema().Field(field) == nil {
			return "", recordError(r, "", "table name format %q: the record has no source.%s", s.tableFmt, field)
		}
		v, _ := source.Get(field)
		name = name[:i] + fmt.Sprint(v) + name[i+j+1:]
	}
	if s.front == debezium && !s.keepDots {
		name = strings.ReplaceAll(name, ".", "_")
	}
	if name == "" {
		return "", recordError(r, "", "table name format %q gives an empty name", s.tableFmt)
	}
	return name, nil
}

// field is one named value with its schema, a column to be.
type field struct {
	name   string
	schema *connect.Schema
	value  any
}

// keyFields returns the primary key's fields of r per the pk mode; value
// is the row's struct (after, or before for a delete), nil for a
// tombstone.
func (s *settings) keyFields(r *connect.Record, value *connect.Struct) ([]field, error) {
	switch s.pk {
	case pkNone:
		return nil, nil
	case pkKafka:
		names := kafkaColumns
		if len(s.pkFields) == 3 {
			names = s.pkFields
		}
		return []field{{names[0], connect.StringSchema, r.Topic}, {names[1], connect.Int32Schema, r.Partition},
			{names[2], connect.Int64Schema, r.Offset}}, nil
	case pkKey:
		if r.Key == nil || r.KeySchema == nil {
			return nil, fmt.Errorf("primary key mode record_key needs a key with a schema, the record has none")
		}
		if r.KeySchema.Type != connect.TypeStruct {
			if len(s.pkFields) != 1 {
				return nil, fmt.Errorf("a primitive (%s) key needs exactly one column name in the primary key fields key", r.KeySchema.Type)
			}
			return []field{{s.pkFields[0], r.KeySchema, r.Key}}, nil
		}
		k, ok := r.Key.(*connect.Struct)
		if !ok {
			return nil, fmt.Errorf("the key must be a Struct, got %T", r.Key)
		}
		return pick(k, s.pkFields, "key")
	case pkValue:
		if value == nil {
			return nil, fmt.Errorf("primary key mode record_value needs a value")
		}
		return pick(value, s.pkFields, "value")
	case pkHeader:
		var out []field
		for _, name := range s.pkFields {
			h, ok := r.Headers.Last(name)
			if !ok || h.Value == nil {
				return nil, fmt.Errorf("primary key header %q is missing", name)
			}
			sch := h.Schema
			if sch == nil {
				sch = connect.StringSchema
			}
			out = append(out, field{name, sch, h.Value})
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown primary key mode %q", s.pk)
}

// pick returns the named fields of st, or all of them when names is empty.
func pick(st *connect.Struct, names []string, what string) ([]field, error) {
	var out []field
	if len(names) == 0 {
		for _, f := range st.Schema().Fields {
			out = append(out, field{f.Name, f.Schema, st.GetField(&f)})
		}
		return out, nil
	}
	for _, n := range names {
		f := st.Schema().Field(n)
		if f == nil {
			return nil, fmt.Errorf("primary key field %q is not a field of the %s", n, what)
		}
		out = append(out, field{f.Name, f.Schema, st.GetField(f)})
	}
	return out, nil
}

func (s *settings) writeOp(r *connect.Record, value, source *connect.Struct) (*op, string, error) {
	table, err := s.tableName(r, source)
	if err != nil {
		return nil, "", err
	}
	keys, err := s.keyFields(r, value)
	if err != nil {
		return nil, "", recordError(r, table, "%v", err)
	}
	keys = s.filterKeys(r.Topic, keys)
	// Sized once, and fields taken by pointer: a range copy whose address
	// is taken escapes, one allocation per column of every record.
	all := value.Schema().Fields
	fields := append(make([]field, 0, len(keys)+len(all)), keys...)
	for i := range all {
		f := &all[i]
		if !slices.ContainsFunc(keys, func(k field) bool { return k.name == f.Name }) && s.keepsValueField(r.Topic, f.Name) {
			fields = append(fields, field{f.Name, f.Schema, s.fieldValue(value, f)})
		}
	}
	if s.tsFields != nil {
		if err := s.epochTimestamps(fields); err != nil {
			return nil, "", recordError(r, table, "%v", err)
		}
	}
	o, err := s.makeOp(opWrite, r, table, fields, len(keys), value.Schema())
	return o, "", err
}

func (s *settings) deleteOp(r *connect.Record, before, source *connect.Struct) (*op, string, error) {
	table, err := s.tableName(r, source)
	if err != nil {
		return nil, "", err
	}
	keys, err := s.keyFields(r, before)
	if err != nil {
		return nil, "", recordError(r, table, "delete: %v", err)
	}
	keys = s.filterKeys(r.Topic, keys)
	o, err := s.makeOp(opDelete, r, table, keys, len(keys), nil)
	return o, "", err
}

// shapeKey identifies the columns of an op without looking at them: the
// same table, kind and schemas give the same columns.
type shapeKey struct {
	table      string
	topic      string // set when a field filter names topics
	kind       opKind
	key, value *connect.Schema
}

// shape is the columns of ops of one shapeKey and their signature.
type shape struct {
	cols []column
	sig  string
}

// maxShapes bounds the cache of shapes; past it the cache starts over.
const maxShapes = 4096

// makeOp binds the fields' values and finds the op's key and shape.
// valueSchema is the schema the non-key fields came from (nil for a
// delete); shapes are cached per schema pointers, except for header keys
// whose schemas vary per record.
func (s *settings) makeOp(kind opKind, r *connect.Record, table string, fields []field, nkeys int, valueSchema *connect.Schema) (*op, error) {
	o := &op{kind: kind, table: table, rec: r, nkeys: nkeys, vals: make([]any, len(fields))}
	var key strings.Builder
	for i, f := range fields {
		v, err := s.bind(f.schema, f.value)
		if err != nil {
			return nil, recordError(r, table, "column %s: %v", f.name, err)
		}
		if i < nkeys {
			if v == nil {
				return nil, recordError(r, table, "key column %s is null", f.name)
			}
			appendKey(&key, v)
		}
		o.vals[i] = v
	}
	o.key = key.String()
	k := shapeKey{table: table, kind: kind, key: r.KeySchema, value: valueSchema}
	if s.fieldFilter != nil {
		k.topic = r.Topic
	}
	if sh, ok := s.shapes[k]; ok && s.pk != pkHeader {
		o.cols, o.sig = sh.cols, sh.sig
		return o, nil
	}
	var sig strings.Builder
	sig.WriteString(table)
	fmt.Fprintf(&sig, "\x00%d", kind)
	o.cols = make([]column, len(fields))
	for i, f := range fields {
		o.cols[i] = column{Name: f.name, Schema: f.schema, Key: i < nkeys}
		fmt.Fprintf(&sig, "\x00%s:%s:%s:%t:%v", f.name, f.schema.Type, f.schema.Name, f.schema.Optional, f.schema.Parameters)
	}
	o.sig = sig.String()
	if s.pk != pkHeader {
		if s.shapes == nil || len(s.shapes) >= maxShapes {
			s.shapes = map[shapeKey]*shape{}
		}
		s.shapes[k] = &shape{cols: o.cols, sig: o.sig}
	}
	return o, nil
}

// appendKey adds one key value to an op's key, the identity of its row.
func appendKey(b *strings.Builder, v any) {
	switch x := v.(type) {
	case string:
		b.WriteString(strconv.Quote(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	default:
		fmt.Fprintf(b, "%T:%v", v, v)
	}
	b.WriteByte(0)
}
