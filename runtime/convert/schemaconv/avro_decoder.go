package schemaconv

import (
	"fmt"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/runtime/connect"
)

// AvroDecoder reads Avro binary values of one writer schema as Connect
// values, as Confluent's AvroData.toConnectData does: the Connect schema
// is derived from the Avro schema (connect.* properties restore what
// AvroData wrote). Readers of Avro files (an object container file's
// records) use it to get the same values the AvroConverter would.
type AvroDecoder struct {
	schema avro.Schema
	cs     *connect.Schema
}

// NewAvroDecoder derives the Connect schema of the Avro schema as.
func NewAvroDecoder(as avro.Schema) (*AvroDecoder, error) {
	cs, err := (&connectBuilder{visiting: map[string]bool{}}).schema(as, false)
	if err != nil {
		return nil, fmt.Errorf("derive the Connect schema of Avro %s: %w", as.Type(), err)
	}
	return &AvroDecoder{schema: as, cs: cs}, nil
}

// ConnectSchema returns the Connect schema of the values Decode returns.
func (d *AvroDecoder) ConnectSchema() *connect.Schema { return d.cs }

// Decode reads one value from r.
func (d *AvroDecoder) Decode(r *avro.Reader) (any, error) {
	v, err := decodeAvro(r, d.schema, d.cs)
	if err == nil && r.Error != nil {
		err = r.Error
	}
	return v, err
}

// NewAvroReader returns a hamba reader over data with the limits the
// converters use (no 1 MiB cap on one bytes or string value).
func NewAvroReader(data []byte) *avro.Reader {
	return avro.NewReader(nil, 0, avro.WithReaderConfig(readerConfig)).Reset(data)
}
