package s3

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// encoder renders one record's value as the bytes its format puts in a
// file, separator included.
type encoder interface {
	encode(dst []byte, r *connect.Record) ([]byte, error)
}

// newEncoder returns the encoder of format.class.
func newEncoder(s *settings) (encoder, error) {
	if s.format == ByteArrayFormatClass {
		return byteArrayEncoder{sep: s.separator}, nil
	}
	c := convert.NewJSONConverter()
	decimal := "BASE64"
	if s.decimalNumeric {
		decimal = "NUMERIC"
	}
	if err := c.Configure(map[string]string{"schemas.enable": "false", "decimal.format": decimal}, false); err != nil {
		return nil, fmt.Errorf("configure the JSON format: %w", err)
	}
	return jsonEncoder{c: c}, nil
}

// jsonEncoder is Confluent's JsonFormat: each value as the JsonConverter
// with schemas.enable=false writes it, then a line separator ("\n", as
// System.lineSeparator() on Linux).
type jsonEncoder struct{ c *convert.JSONConverter }

func (e jsonEncoder) encode(dst []byte, r *connect.Record) ([]byte, error) {
	b, err := e.c.FromConnect(r.Topic, r.Headers, r.ValueSchema, r.Value)
	if err != nil {
		return dst, fmt.Errorf("JsonFormat cannot write the value: %w", err)
	}
	return append(append(dst, b...), '\n'), nil
}

// byteArrayEncoder is Confluent's ByteArrayFormat: the value's bytes, then
// format.bytearray.separator after every record, the last included.
type byteArrayEncoder struct{ sep []byte }

func (e byteArrayEncoder) encode(dst []byte, r *connect.Record) ([]byte, error) {
	b, ok := r.Value.([]byte)
	if !ok {
		return dst, fmt.Errorf("ByteArrayFormat needs a BYTES value, got %T (use the ByteArrayConverter as value.converter)", r.Value)
	}
	return append(append(dst, b...), e.sep...), nil
}
