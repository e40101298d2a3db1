package schemaconv

import (
	"fmt"
	"math"
	"math/big"
	"sync"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
)

// avroCodec writes and reads Avro binary for one Avro schema with hamba's
// Writer and Reader, walking the schema directly: values go from Connect's
// Go types to bytes with no intermediate generic maps.
type avroCodec struct {
	schema avro.Schema
	cs     *connect.Schema
	name   string
	*inlineTags
}

func (c *avroCodec) connectSchema() *connect.Schema { return c.cs }
func (c *avroCodec) recordName() string             { return c.name }

func (c *avroCodec) canRead(w codec) error {
	wc, ok := w.(*avroCodec)
	if !ok {
		return nil
	}
	return avro.NewSchemaCompatibility().Compatible(c.schema, wc.schema)
}

// readerConfig lifts hamba's 1 MiB cap on one bytes or string value: CDC
// rows carry large text columns.
var readerConfig = avro.Config{MaxByteSliceSize: math.MaxInt32}.Freeze()

var writers = sync.Pool{New: func() any { return avro.NewWriter(nil, 1024) }}

func (c *avroCodec) encode(dst []byte, _ *connect.Schema, v any) ([]byte, error) {
	w := writers.Get().(*avro.Writer)
	defer writers.Put(w)
	w.Reset(nil)
	if err := encodeAvro(w, c.schema, v); err != nil {
		return nil, err
	}
	if w.Error != nil {
		return nil, dataErrCause(w.Error, "write Avro")
	}
	return append(dst, w.Buffer()...), nil
}

func (c *avroCodec) decode(data []byte) (any, error) {
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(readerConfig)).Reset(data)
	v, err := decodeAvro(r, c.schema, c.cs)
	if err == nil && r.Error != nil {
		err = r.Error
	}
	return v, err
}

func typeErr(as avro.Schema, v any) error {
	return dataErr("cannot write Go value of type %T as Avro %s", v, as.Type())
}

// encodeAvro writes v, a Connect value, as Avro schema as.
func encodeAvro(w *avro.Writer, as avro.Schema, v any) error {
	if as.Type() == avro.Null {
		if v != nil {
			return typeErr(as, v)
		}
		return nil
	}
	switch t := as.(type) {
	case *avro.RefSchema:
		return encodeAvro(w, t.Schema(), v)
	case *avro.UnionSchema:
		i, branch, bv, err := unionBranch(t, v)
		if err != nil {
			return err
		}
		w.WriteLong(int64(i))
		return encodeAvro(w, branch, bv)
	case *avro.RecordSchema:
		return encodeRecord(w, t, v)
	case *avro.ArraySchema:
		return encodeArray(w, t, v)
	case *avro.MapSchema:
		m, ok := v.(map[string]any)
		if !ok {
			return typeErr(as, v)
		}
		if len(m) > 0 {
			// Java's HashMap order, as Confluent's serializer writes a
			// map: the same bytes on every run.
			w.WriteBlockHeader(int64(len(m)), 0)
			for _, k := range javafmt.AppendStringKeys(nil, m) {
				w.WriteString(k.Key)
				if err := encodeAvro(w, t.Values(), m[k.Key]); err != nil {
					return err
				}
			}
		}
		w.WriteBlockHeader(0, 0)
		return nil
	case *avro.EnumSchema:
		s, ok := v.(string)
		if !ok {
			return typeErr(as, v)
		}
		for i, sym := range t.Symbols() {
			if sym == s {
				w.WriteInt(int32(i))
				return nil
			}
		}
		return dataErr("%q is not a symbol of Avro enum %s", s, t.FullName())
	case *avro.FixedSchema:
		b, ok := v.([]byte)
		if !ok || len(b) != t.Size() {
			return dataErr("Avro fixed %s needs %d bytes, got %T of length %d", t.FullName(), t.Size(), v, len(b))
		}
		_, _ = w.Write(b)
		return nil
	case *avro.PrimitiveSchema:
		return encodePrimitive(w, t, v)
	}
	return dataErr("unsupported Avro type %s", as.Type())
}

// unionBranch picks the union branch for v: null for nil, the set field
// of an AvroData Union struct, else the first branch v can be written as.
// It returns the branch's index and schema and the value to write.
func unionBranch(u *avro.UnionSchema, v any) (int, avro.Schema, any, error) {
	types := u.Types()
	if st, ok := v.(*connect.Struct); ok && st.Schema().Name == unionName {
		for _, f := range st.Schema().Fields {
			if fv := st.GetField(&f); fv != nil {
				for i, t := range types {
					if unionBranchName(t) == f.Name {
						return i, t, fv, nil
					}
				}
			}
		}
		v = nil
	}
	for i, t := range types {
		if (v == nil) == (t.Type() == avro.Null) && (v == nil || accepts(t, v)) {
			return i, t, v, nil
		}
	}
	return 0, nil, nil, dataErr("no branch of Avro union %s accepts a %T", u, v)
}

// accepts reports whether v's Go type can be written as as.
func accepts(as avro.Schema, v any) bool {
	if ref, ok := as.(*avro.RefSchema); ok {
		as = ref.Schema()
	}
	switch as.Type() {
	case avro.Record:
		_, ok := v.(*connect.Struct)
		return ok
	case avro.Array:
		switch v.(type) {
		case []any, map[any]any:
			return true
		}
		return false
	case avro.Map:
		_, ok := v.(map[string]any)
		return ok
	case avro.Enum, avro.String:
		_, ok := v.(string)
		return ok
	case avro.Fixed:
		_, ok := v.([]byte)
		return ok
	case avro.Bytes:
		switch v.(type) {
		case []byte, *big.Rat:
			return true
		}
	case avro.Int:
		switch v.(type) {
		case int8, int16, int32, time.Time:
			return true
		}
	case avro.Long:
		switch v.(type) {
		case int64, time.Time:
			return true
		}
	case avro.Float:
		_, ok := v.(float32)
		return ok
	case avro.Double:
		_, ok := v.(float64)
		return ok
	case avro.Boolean:
		_, ok := v.(bool)
		return ok
	}
	return false
}

// encodeRecord writes a Struct field by field in the Avro record's order,
// matching fields by name, so a struct can be written with another
// compatible schema (use.latest.version).
func encodeRecord(w *avro.Writer, r *avro.RecordSchema, v any) error {
	st, ok := v.(*connect.Struct)
	if !ok {
		return typeErr(r, v)
	}
	ss := st.Schema()
	for _, f := range r.Fields() {
		var fv any
		if sf := ss.Field(f.Name()); sf != nil {
			fv = st.GetField(sf)
		} else if f.HasDefault() && f.Default() != nil {
			return dataErr("struct %s has no field %s and writing Avro defaults of non-null values is not supported", ss, f.Name())
		}
		if err := encodeAvro(w, f.Type(), fv); err != nil {
			return fmt.Errorf("field %s: %w", f.Name(), err)
		}
	}
	return nil
}

func encodeArray(w *avro.Writer, a *avro.ArraySchema, v any) error {
	switch xs := v.(type) {
	case []any:
		if len(xs) > 0 {
			w.WriteBlockHeader(int64(len(xs)), 0)
			for _, e := range xs {
				if err := encodeAvro(w, a.Items(), e); err != nil {
					return err
				}
			}
		}
	case map[any]any, map[string]any:
		items := a.Items()
		if ref, ok := items.(*avro.RefSchema); ok {
			items = ref.Schema()
		}
		rec, ok := items.(*avro.RecordSchema)
		if !ok || len(rec.Fields()) != 2 {
			return typeErr(a, v)
		}
		n := mapLen(xs)
		if n > 0 {
			w.WriteBlockHeader(int64(n), 0)
			for k, e := range mapEntries(xs) {
				if err := encodeAvro(w, rec.Fields()[0].Type(), k); err != nil {
					return err
				}
				if err := encodeAvro(w, rec.Fields()[1].Type(), e); err != nil {
					return err
				}
			}
		}
	default:
		return typeErr(a, v)
	}
	w.WriteBlockHeader(0, 0)
	return nil
}
