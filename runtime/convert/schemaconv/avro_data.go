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
	t, ok := tok.(json.Delim)
	if !ok {
		v, err := json.Marshal(tok)
		if err != nil {
			return err
		}
		b.Write(v)
		return nil
	}
	start := b.Len()
	b.WriteByte(byte(t))
	n, onlyType := 0, true
	for dec.More() {
		if t == '[' {
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			if err := copyWithoutConnectProps(dec, b); err != nil {
				return err
			}
			continue
		}
		k, err := dec.Token()
		if err != nil {
			return err
		}
		key := k.(string)
		if strings.HasPrefix(key, "connect.") {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		onlyType = onlyType && key == "type"
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
		if err := copyWithoutConnectProps(dec, b); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if t == '[' {
		b.WriteByte(']')
		return nil
	}
	b.WriteByte('}')
	// {"type":"int"} left without its properties is written "int", as
	// Avro writes a primitive schema without properties.
	if obj := b.Bytes()[start:]; n == 1 && onlyType {
		var prim string
		if json.Unmarshal(obj[len(`{"type":`):len(obj)-1], &prim) == nil {
			b.Truncate(start)
			kb, _ := json.Marshal(prim)
			b.Write(kb)
		}
	}
	return nil
}
