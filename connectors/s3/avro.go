package s3

import (
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/sluicehq/sluice/internal/javafmt"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
)

// avroBlockSize is the uncompressed size at which an Avro file's block is
// compressed and written to the stream: Java's DataFileWriter default
// sync interval (Confluent's writer keeps it), so blocks end where
// Confluent's do.
const avroBlockSize = 64000

// enumParam marks a Connect string that came from an Avro enum.
const enumParam = "io.confluent.connect.avro.Enum"

// avroCodecValidator accepts Confluent's avro.codec values this version
// can write.
type avroCodecValidator struct{}

// Validate implements connect.Validator.
func (avroCodecValidator) Validate(_ string, v any) string {
	switch s, _ := v.(string); s {
	case "null", "deflate", "snappy":
		return ""
	case "bzip2":
		return "bzip2 is not supported in this version (the Avro library cannot write it); use null, deflate or snappy"
	}
	return "must be one of [null, deflate, snappy]"
}

func (avroCodecValidator) String() string { return "[null, deflate, snappy]" }

// avroFormat is Confluent's AvroFormat: one Avro object container file
// per file, its schema the records' Connect schema as AvroData makes it,
// its blocks compressed with avro.codec. Values that are not Structs are
// written as the Avro primitive (array, map) of their schema.
type avroFormat struct {
	codec   ocf.CodecName
	schemas *avroSchemas
}

func newAvroFormat(s *settings) *avroFormat {
	return &avroFormat{codec: ocf.CodecName(s.avroCodec), schemas: newAvroSchemas(s)}
}

func (*avroFormat) extension() string  { return ".avro" }
func (*avroFormat) compressible() bool { return false }

func (f *avroFormat) newWriter(out io.Writer, schema *connect.Schema) (recordWriter, error) {
	d, err := f.schemas.get(schema, "AvroFormat")
	if err != nil {
		return nil, err
	}
	// The sync marker is derived from the schema and codec rather than
	// drawn at random, so a file written again after a restart has the
	// same bytes (exactly-once rewrites the same objects).
	sum := sha256.Sum256([]byte(string(f.codec) + "\x00" + d.JSON))
	var sync [16]byte
	copy(sync[:], sum[:])
	// hamba's encoder writes the header's metadata in Go's map order,
	// which differs from run to run: its header is dropped and the
	// header is written here, its entries in Java's HashMap order as
	// Java's DataFileWriter writes them; the encoder writes the blocks.
	gate := &gateWriter{w: out}
	enc, err := ocf.NewEncoderWithSchema(d.Schema, gate,
		ocf.WithCodec(f.codec), ocf.WithBlockLength(0), ocf.WithBlockSize(avroBlockSize), ocf.WithSyncBlock(sync),
		ocf.WithSchemaMarshaler(func(avro.Schema) ([]byte, error) { return []byte(d.JSON), nil }))
	if err != nil {
		return nil, fmt.Errorf("start an Avro file: %w", err)
	}
	if _, err := out.Write(avroHeader(d.JSON, string(f.codec), sync)); err != nil {
		return nil, err
	}
	gate.open = true
	return &avroWriter{schema: schema, data: d, enc: enc}, nil
}

// avroHeader is an object container file's header: the magic, the
// metadata (avro.schema and avro.codec) and the sync marker.
func avroHeader(schema, codec string, sync [16]byte) []byte {
	meta := map[string]any{"avro.schema": schema, "avro.codec": codec}
	w := avro.NewWriter(nil, 64+len(schema))
	_, _ = w.Write([]byte{'O', 'b', 'j', 1})
	w.WriteLong(int64(len(meta)))
	for _, k := range javafmt.AppendStringKeys(nil, meta) {
		w.WriteString(k.Key)
		w.WriteBytes([]byte(meta[k.Key].(string)))
	}
	w.WriteLong(0)
	_, _ = w.Write(sync[:])
	return w.Buffer()
}

// gateWriter drops what is written to it until it is open.
type gateWriter struct {
	w    io.Writer
	open bool
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if !g.open {
		return len(p), nil
	}
	return g.w.Write(p)
}

// avroWriter writes the records of one Avro file; every record is encoded
// in full before any byte of it reaches the block.
type avroWriter struct {
	schema *connect.Schema
	data   *schemaconv.AvroData
	enc    *ocf.Encoder
	buf    []byte
}

func (w *avroWriter) write(schema *connect.Schema, value any) error {
	if err := sameSchema(w.schema, schema, "AvroFormat"); err != nil {
		return err
	}
	b, err := w.data.Append(w.buf[:0], value)
	if err != nil {
		return &badRecordError{fmt.Errorf("AvroFormat cannot write the value as %s: %w", w.schema, err)}
	}
	w.buf = b
	// Write copies b into the block, which goes out compressed when it
	// reaches avroBlockSize.
	_, err = w.enc.Write(b)
	return err
}

func (w *avroWriter) close() error { return w.enc.Close() }

// sameSchema checks that a record's schema is its file's: a file holds
// records of one schema (the task rotates on a change).
func sameSchema(file, record *connect.Schema, format string) error {
	if file == record || file.Equal(record) {
		return nil
	}
	return &badRecordError{fmt.Errorf("%s: the record's schema %s differs from its file's %s; a file holds records of one schema", format, record, file)}
}

// avroSchemas keeps the Avro schemas derived from Connect schemas, up to
// schema.cache.size of them (then it starts over, as the converters'
// caches do). It is safe for concurrent use.
type avroSchemas struct {
	mu       sync.Mutex
	max      int
	meta     bool // connect.meta.data
	enhanced bool
	m        map[*connect.Schema]*schemaconv.AvroData
}

func newAvroSchemas(s *settings) *avroSchemas {
	return &avroSchemas{max: s.schemaCacheSize, meta: s.connectMetaData, enhanced: s.enhancedAvro, m: map[*connect.Schema]*schemaconv.AvroData{}}
}

// get returns the Avro schema of s; a schema that cannot be written is a
// *badRecordError naming format.
func (c *avroSchemas) get(s *connect.Schema, format string) (*schemaconv.AvroData, error) {
	if s == nil {
		return nil, &badRecordError{fmt.Errorf("%s needs records with a schema, and this one is schemaless (use a converter with schemas, such as the AvroConverter or the JsonConverter with schemas.enable=true)", format)}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.m[s]; d != nil {
		return d, nil
	}
	if c.enhanced {
		if name := enumIn(s, map[*connect.Schema]bool{}); name != "" {
			return nil, &badRecordError{fmt.Errorf("%s: %s is an Avro enum (%s), which %s=true writes as an Avro enum: not implemented yet; set %s=false to write it as a string",
				format, name, enumParam, EnhancedAvroConfig, EnhancedAvroConfig)}
		}
	}
	d, err := schemaconv.NewAvroData(s, c.meta)
	if err != nil {
		return nil, &badRecordError{fmt.Errorf("%s cannot derive an Avro schema from %s: %w", format, s, err)}
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[s] = d
	return d, nil
}

// enumIn returns the name of an enum string in s, or "".
func enumIn(s *connect.Schema, seen map[*connect.Schema]bool) string {
	if s == nil || seen[s] {
		return ""
	}
	seen[s] = true
	if name, ok := s.Parameters[enumParam]; ok && s.Type == connect.TypeString {
		return name
	}
	for _, f := range s.Fields {
		if n := enumIn(f.Schema, seen); n != "" {
			return n
		}
	}
	if n := enumIn(s.KeySchema, seen); n != "" {
		return n
	}
	return enumIn(s.ValueSchema, seen)
}
