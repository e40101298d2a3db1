package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hamba/avro/v2"
	"github.com/parquet-go/parquet-go"
	pqformat "github.com/parquet-go/parquet-go/format"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
)

// parquetFileReader reads a Parquet object row by row through ranged GETs
// (Parquet needs random access: the footer first, then the column
// chunks), with a small cache of fixed-size blocks, so memory stays
// bounded whatever the object's size.
//
// The Connect schema is the one of the Avro schema AvroParquetWriter
// stores in the file's metadata (parquet.avro.schema), as Confluent's sink
// writes it; a file without it gets a schema derived from its Parquet
// columns.
type parquetFileReader struct {
	key  string
	rows *parquet.GenericReader[any]
	row  []any // one row, reused
	cs   *connect.Schema
}

func newParquetFileReader(ctx context.Context, st store, key string) (recordReader, error) {
	head, err := st.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(st.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, &transientError{fmt.Errorf("head s3://%s/%s: %w", st.bucket, key, err)}
	}
	ra := &rangeReaderAt{ctx: ctx, st: st, key: key, size: aws.ToInt64(head.ContentLength)}
	f, err := parquet.OpenFile(ra, ra.size)
	if err != nil {
		return nil, fmt.Errorf("object %s: open as Parquet: %w", key, err)
	}
	cs, err := parquetConnectSchema(f)
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", key, err)
	}
	return &parquetFileReader{key: key, rows: parquet.NewGenericReader[any](f), row: make([]any, 1), cs: cs}, nil
}

// parquetConnectSchema derives the Connect schema of a Parquet file's
// rows.
func parquetConnectSchema(f *parquet.File) (*connect.Schema, error) {
	for _, k := range []string{"parquet.avro.schema", "avro.schema"} {
		text, ok := f.Lookup(k)
		if !ok {
			continue
		}
		as, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
		if err != nil {
			return nil, fmt.Errorf("the Avro schema in its metadata (%s): %w", k, err)
		}
		dec, err := schemaconv.NewAvroDecoder(as)
		if err != nil {
			return nil, err
		}
		return dec.ConnectSchema(), nil
	}
	return nodeSchema(f.Schema(), false)
}

// nodeSchema maps a Parquet node to a Connect schema.
func nodeSchema(n parquet.Node, optional bool) (*connect.Schema, error) {
	var s *connect.Schema
	switch {
	case n.Leaf():
		t := n.Type()
		switch t.Kind() {
		case parquet.Boolean:
			s = connect.PrimitiveSchema(connect.TypeBoolean, false)
		case parquet.Int32:
			s = connect.PrimitiveSchema(connect.TypeInt32, false)
		case parquet.Int64:
			s = connect.PrimitiveSchema(connect.TypeInt64, false)
		case parquet.Float:
			s = connect.PrimitiveSchema(connect.TypeFloat32, false)
		case parquet.Double:
			s = connect.PrimitiveSchema(connect.TypeFloat64, false)
		case parquet.ByteArray, parquet.FixedLenByteArray:
			if isStringType(t.LogicalType()) {
				s = connect.PrimitiveSchema(connect.TypeString, false)
			} else {
				s = connect.PrimitiveSchema(connect.TypeBytes, false)
			}
		default:
			return nil, fmt.Errorf("parquet type %s has no Connect type", t)
		}
	case isParquetList(n):
		elem, err := nodeSchema(listElement(n), false)
		if err != nil {
			return nil, err
		}
		s = connect.ArrayOf(elem)
	default:
		b := connect.NewSchemaBuilder(connect.TypeStruct)
		for _, f := range n.Fields() {
			fs, err := nodeSchema(f, f.Optional())
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", f.Name(), err)
			}
			b.Field(f.Name(), fs)
		}
		s = b.Build()
	}
	if optional {
		c := *s
		c.Optional = true
		s = &c
	}
	return s, nil
}

func isStringType(lt *pqformat.LogicalType) bool {
	if lt == nil {
		return false
	}
	switch lt.Value.(type) {
	case *pqformat.StringType, *pqformat.EnumType, *pqformat.JsonType:
		return true
	}
	return false
}

func isParquetList(n parquet.Node) bool {
	if n.Leaf() {
		return false
	}
	lt := n.Type().LogicalType()
	if lt == nil {
		return false
	}
	_, ok := lt.Value.(*pqformat.ListType)
	return ok
}

// listElement is the element node of a LIST group: the 3-level
// list/element, or the 2-level repeated field parquet-avro writes.
func listElement(n parquet.Node) parquet.Node {
	rep := n.Fields()[0]
	if !rep.Leaf() && len(rep.Fields()) == 1 && rep.Name() == "list" {
		return rep.Fields()[0]
	}
	return rep
}

func (p *parquetFileReader) next() (*connect.Schema, any, error) {
	p.row[0] = nil
	n, err := p.rows.Read(p.row)
	if n == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, nil, io.EOF
		}
		return nil, nil, fmt.Errorf("object %s: read a Parquet row: %w", p.key, err)
	}
	v, err := parquetValue(p.cs, p.row[0])
	if err != nil {
		return nil, nil, fmt.Errorf("object %s: a Parquet row: %w", p.key, err)
	}
	return p.cs, v, nil
}

func (p *parquetFileReader) pos() int64 { return -1 }

func (p *parquetFileReader) close() error { return p.rows.Close() }

// parquetValue converts a value parquet-go reconstructed (maps, slices and
// Go primitives) to the Go type of Connect schema s.
func parquetValue(s *connect.Schema, v any) (any, error) {
	if v == nil {
		if !s.Optional && s.Default == nil {
			return nil, fmt.Errorf("a null for a required %s", s.Type)
		}
		return nil, nil
	}
	switch s.Name {
	case connect.TimestampName:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
		n, err := asInt(v)
		return connect.TimestampFromMillis(n), err
	case connect.DateName:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
		n, err := asInt(v)
		return connect.DateFromDays(int32(n)), err
	case connect.TimeName:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
		n, err := asInt(v)
		return connect.TimeFromMillis(int32(n)), err
	case connect.DecimalName:
		scale, err := connect.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case []byte:
			return connect.DecimalFromBytes(scale, x), nil
		case string:
			return connect.DecimalFromBytes(scale, []byte(x)), nil
		case *big.Float:
			// parquet-go reads a BINARY or FIXED decimal into an any as
			// unscaled / 10^scale with enough bits for its precision, so
			// the nearest integer to it times 10^scale is the unscaled.
			return connect.DecimalFromUnscaled(scale, unscaledOf(x, scale)), nil
		}
		n, err := asInt(v)
		return connect.DecimalFromUnscaled(scale, big.NewInt(n)), err
	}
	switch s.Type {
	case connect.TypeStruct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a %T for a struct", v)
		}
		st := connect.NewStruct(s)
		for i := range s.Fields {
			f := &s.Fields[i]
			fv, err := parquetValue(f.Schema, m[f.Name])
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			st.Set(f, fv)
		}
		return st, nil
	case connect.TypeArray:
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("a %T for an array", v)
		}
		out := make([]any, len(list))
		for i, e := range list {
			ev, err := parquetValue(s.ValueSchema, e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = ev
		}
		return out, nil
	case connect.TypeMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("a %T for a map", v)
		}
		out := make(map[string]any, len(m))
		for k, e := range m {
			ev, err := parquetValue(s.ValueSchema, e)
			if err != nil {
				return nil, fmt.Errorf("map value %q: %w", k, err)
			}
			out[k] = ev
		}
		return out, nil
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64:
		n, err := asInt(v)
		switch s.Type {
		case connect.TypeInt8:
			return int8(n), err
		case connect.TypeInt16:
			return int16(n), err
		case connect.TypeInt32:
			return int32(n), err
		}
		return n, err
	case connect.TypeFloat32:
		f, err := asFloat(v)
		return float32(f), err
	case connect.TypeFloat64:
		return asFloat(v)
	case connect.TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("a %T for a boolean", v)
		}
		return b, nil
	case connect.TypeString:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
		return nil, fmt.Errorf("a %T for a string", v)
	case connect.TypeBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
		return nil, fmt.Errorf("a %T for bytes", v)
	}
	return nil, fmt.Errorf("Connect type %s is not read from Parquet", s.Type)
}

func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	}
	return 0, fmt.Errorf("a %T for an integer", v)
}

func asFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	}
	return 0, fmt.Errorf("a %T for a float", v)
}

// rangeBlock is the size of one ranged GET; rangeBlocks the blocks kept.
const (
	rangeBlock  = 1 << 20
	rangeBlocks = 8
)

// rangeReaderAt reads an object at random positions with ranged GETs of
// whole blocks, keeping the last few blocks: at most 8 MiB in memory.
type rangeReaderAt struct {
	ctx    context.Context
	st     store
	key    string
	size   int64
	blocks []cachedBlock // most recent last
}

type cachedBlock struct {
	n    int64
	data []byte
}

// ReadAt implements io.ReaderAt.
func (r *rangeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= r.size {
			return n, io.EOF
		}
		b, err := r.block(at / rangeBlock)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[at%rangeBlock:])
	}
	return n, nil
}

func (r *rangeReaderAt) block(n int64) ([]byte, error) {
	for i, b := range r.blocks {
		if b.n == n {
			r.blocks = append(append(r.blocks[:i:i], r.blocks[i+1:]...), b)
			return b.data, nil
		}
	}
	from, to := n*rangeBlock, min((n+1)*rangeBlock, r.size)-1
	out, err := r.st.c.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(r.st.bucket), Key: aws.String(r.key),
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", from, to)),
	})
	if err != nil {
		return nil, &transientError{fmt.Errorf("get s3://%s/%s bytes %d-%d: %w", r.st.bucket, r.key, from, to, err)}
	}
	defer out.Body.Close()
	data := make([]byte, to-from+1)
	if _, err := io.ReadFull(out.Body, data); err != nil {
		return nil, &transientError{fmt.Errorf("read s3://%s/%s bytes %d-%d: %w", r.st.bucket, r.key, from, to, err)}
	}
	if len(r.blocks) == rangeBlocks {
		r.blocks = append(r.blocks[:0], r.blocks[1:]...)
	}
	r.blocks = append(r.blocks, cachedBlock{n: n, data: data})
	return data, nil
}

// unscaledOf rounds f * 10^scale to the nearest integer.
func unscaledOf(f *big.Float, scale int) *big.Int {
	prec := f.Prec() + 64
	m := new(big.Float).SetPrec(prec).Set(f)
	p := new(big.Float).SetPrec(prec).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil))
	if scale >= 0 {
		m.Mul(m, p)
	} else {
		m.Quo(m, p)
	}
	half := big.NewFloat(0.5)
	if m.Sign() < 0 {
		half.Neg(half)
	}
	n, _ := m.Add(m, half).Int(nil) // toward zero after adding ±0.5
	return n
}
