package schemaconv

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/runtime/connect"
)

// AvroData is the Avro schema Confluent's AvroData.fromConnectSchema
// makes of one Connect schema (enhanced.avro.schema.support=false), with
// a writer of that schema's values: what the S3 sink's Avro and Parquet
// formats write.
type AvroData struct {
	// JSON is the schema's text, with its connect.* properties.
	JSON string
	// Schema is JSON parsed, with a name cache of its own.
	Schema avro.Schema
}

// NewAvroData derives the Avro schema of s; without connectMetaData
// (AvroData's connect.meta.data=false) it has no connect.* properties.
func NewAvroData(s *connect.Schema, connectMetaData bool) (*AvroData, error) {
	text, err := avroSchemaOf(s)
	if err != nil {
		return nil, err
	}
	if !connectMetaData {
		if text, err = withoutConnectProps(text); err != nil {
			return nil, dataErrCause(err, "drop the connect.* properties of %s", s)
		}
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

// withoutConnectProps drops the connect.* properties from Avro schema
// text, keeping everything else in its order; defaults are copied as
// they are (a map default may have such keys).
func withoutConnectProps(text string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var b bytes.Buffer
	if err := copyWithoutConnectProps(dec, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}

func copyWithoutConnectProps(dec *json.Decoder, b *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		end := byte(']')
		if t == '{' {
			end = '}'
		}
		b.WriteByte(byte(t))
		for n := 0; dec.More(); {
			var key string
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key = k.(string)
				if strings.HasPrefix(key, "connect.") {
					var skip json.RawMessage
					if err := dec.Decode(&skip); err != nil {
						return err
					}
					continue
				}
			}
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			if t == '{' {
				kb, _ := json.Marshal(key)
				b.Write(kb)
				b.WriteByte(':')
				if key == "default" {
					var raw json.RawMessage
					if err := dec.Decode(&raw); err != nil {
						return err
					}
					b.Write(raw)
					continue
				}
			}
			if err := copyWithoutConnectProps(dec, b); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		b.WriteByte(end)
	default:
		v, err := json.Marshal(t)
		if err != nil {
			return err
		}
		b.Write(v)
	}
	return nil
}
