package schemaconv

import (
	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/runtime/connect"
)

// AvroData is the Avro schema Confluent's AvroData.fromConnectSchema
// makes of one Connect schema (connect.meta.data=true,
// enhanced.avro.schema.support=false), with a writer of that schema's
// values: what the S3 sink's Avro and Parquet formats write.
type AvroData struct {
	// JSON is the schema's text, with its connect.* properties.
	JSON string
	// Schema is JSON parsed, with a name cache of its own.
	Schema avro.Schema
}

// NewAvroData derives the Avro schema of s.
func NewAvroData(s *connect.Schema) (*AvroData, error) {
	text, err := avroSchemaOf(s)
	if err != nil {
		return nil, err
	}
	as, err := avro.ParseWithCache(text, "", &avro.SchemaCache{})
	if err != nil {
		return nil, dataErrCause(err, "parse the Avro schema of %s", s)
	}
	return &AvroData{JSON: text, Schema: as}, nil
}

// Append appends the Avro binary encoding of v, a value of the Connect
// schema d was derived from, to dst. On error dst's contents past its
// length are unspecified and nothing should be kept of them.
func (d *AvroData) Append(dst []byte, v any) ([]byte, error) {
	w := writers.Get().(*avro.Writer)
	defer writers.Put(w)
	w.Reset(nil)
	if err := encodeAvro(w, d.Schema, v); err != nil {
		return dst, err
	}
	if w.Error != nil {
		return dst, dataErrCause(w.Error, "write Avro")
	}
	return append(dst, w.Buffer()...), nil
}
