package s3

import (
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/brotli"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"

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
		schemas: newAvroSchemas(s)}
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
			var fv any
			if ss == n.schema {
				fv = st.GetField(&ss.Fields[i])
			} else if sf := ss.Field(n.schema.Fields[i].Name); sf != nil {
				fv = st.GetField(sf) // an equal schema built apart
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
