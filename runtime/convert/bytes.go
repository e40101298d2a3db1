package convert

import (
	"encoding/binary"
	"math"

	"github.com/sluicehq/sluice/runtime/connect"
)

// ByteArrayConverter is Kafka's
// org.apache.kafka.connect.converters.ByteArrayConverter: bytes pass
// through unchanged (and uncopied) both ways. Safe for concurrent use.
type ByteArrayConverter struct{}

// NewByteArrayConverter returns a ByteArrayConverter.
func NewByteArrayConverter() *ByteArrayConverter { return &ByteArrayConverter{} }

// Configure implements connect.Converter.
func (c *ByteArrayConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *ByteArrayConverter) configure(config map[string]string, typ string) error {
	if _, err := parseConverterConfig(typeConfigDef(), config, typ); err != nil {
		return err
	}
	return nil
}

// FromConnect implements connect.Converter: the schema, if any, must be
// BYTES and the value []byte or nil.
func (c *ByteArrayConverter) FromConnect(_ string, _ connect.Headers, s *connect.Schema, v any) ([]byte, error) {
	if s != nil && s.Type != connect.TypeBytes {
		return nil, dataErr("Invalid schema type for ByteArrayConverter: %s", s.Type)
	}
	if v == nil {
		return nil, nil
	}
	b, ok := v.([]byte)
	if !ok {
		return nil, dataErr("ByteArrayConverter is not compatible with objects of type %s", typeName(v))
	}
	return b, nil
}

// ToConnect implements connect.Converter.
func (c *ByteArrayConverter) ToConnect(_ string, _ connect.Headers, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalBytesSchema, nil, nil
	}
	return connect.OptionalBytesSchema, data, nil
}

// BooleanConverter is Kafka's
// org.apache.kafka.connect.converters.BooleanConverter: one byte, 1 for
// true and 0 for false, read back with an optional BOOLEAN schema. Safe
// for concurrent use.
type BooleanConverter struct{}

// NewBooleanConverter returns a BooleanConverter.
func NewBooleanConverter() *BooleanConverter { return &BooleanConverter{} }

// Configure implements connect.Converter.
func (c *BooleanConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *BooleanConverter) configure(config map[string]string, typ string) error {
	if _, err := parseConverterConfig(typeConfigDef(), config, typ); err != nil {
		return err
	}
	return nil
}

// FromConnect implements connect.Converter.
func (c *BooleanConverter) FromConnect(_ string, _ connect.Headers, s *connect.Schema, v any) ([]byte, error) {
	if s != nil && s.Type != connect.TypeBoolean {
		return nil, dataErr("Invalid schema type for BooleanConverter: %s", s.Type)
	}
	if v == nil {
		return nil, nil
	}
	b, ok := v.(bool)
	if !ok {
		return nil, dataErr("BooleanConverter is not compatible with objects of type %s", typeName(v))
	}
	if b {
		return []byte{1}, nil
	}
	return []byte{0}, nil
}

// ToConnect implements connect.Converter.
func (c *BooleanConverter) ToConnect(_ string, _ connect.Headers, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalBooleanSchema, nil, nil
	}
	if len(data) != 1 {
		return nil, nil, dataErr("Failed to deserialize boolean: Size of data received by BooleanDeserializer is not 1")
	}
	switch data[0] {
	case 0:
		return connect.OptionalBooleanSchema, false, nil
	case 1:
		return connect.OptionalBooleanSchema, true, nil
	}
	return nil, nil, dataErr("Failed to deserialize boolean: Unexpected byte received by BooleanDeserializer: %d", int8(data[0]))
}

// NumberConverter is one of Kafka's Short, Integer, Long, Float and
// DoubleConverter (org.apache.kafka.connect.converters): the value in
// Kafka's serializer format (big-endian, fixed width, IEEE 754 for
// floats), read back with the matching optional schema. Like Kafka's, it
// ignores the schema it is given and checks only the value's type. Safe
// for concurrent use.
type NumberConverter struct {
	typeName string // "short", "integer", … as Kafka's messages say
	deser    string // the Kafka deserializer named in size errors
	schema   *connect.Schema
	size     int
	encode   func(v any) ([]byte, bool)
	decode   func(b []byte) any
}

// NewShortConverter returns Kafka's ShortConverter (INT16).
func NewShortConverter() *NumberConverter {
	return &NumberConverter{typeName: "short", deser: "ShortDeserializer", schema: connect.OptionalInt16Schema, size: 2,
		encode: func(v any) ([]byte, bool) {
			x, ok := v.(int16)
			return binary.BigEndian.AppendUint16(nil, uint16(x)), ok
		},
		decode: func(b []byte) any { return int16(binary.BigEndian.Uint16(b)) }}
}

// NewIntegerConverter returns Kafka's IntegerConverter (INT32).
func NewIntegerConverter() *NumberConverter {
	return &NumberConverter{typeName: "integer", deser: "IntegerDeserializer", schema: connect.OptionalInt32Schema, size: 4,
		encode: func(v any) ([]byte, bool) {
			x, ok := v.(int32)
			return binary.BigEndian.AppendUint32(nil, uint32(x)), ok
		},
		decode: func(b []byte) any { return int32(binary.BigEndian.Uint32(b)) }}
}

// NewLongConverter returns Kafka's LongConverter (INT64).
func NewLongConverter() *NumberConverter {
	return &NumberConverter{typeName: "long", deser: "LongDeserializer", schema: connect.OptionalInt64Schema, size: 8,
		encode: func(v any) ([]byte, bool) {
			x, ok := v.(int64)
			return binary.BigEndian.AppendUint64(nil, uint64(x)), ok
		},
		decode: func(b []byte) any { return int64(binary.BigEndian.Uint64(b)) }}
}

// NewFloatConverter returns Kafka's FloatConverter (FLOAT32).
func NewFloatConverter() *NumberConverter {
	return &NumberConverter{typeName: "float", deser: "Deserializer", schema: connect.OptionalFloat32Schema, size: 4,
		encode: func(v any) ([]byte, bool) {
			x, ok := v.(float32)
			return binary.BigEndian.AppendUint32(nil, math.Float32bits(x)), ok
		},
		decode: func(b []byte) any { return math.Float32frombits(binary.BigEndian.Uint32(b)) }}
}

// NewDoubleConverter returns Kafka's DoubleConverter (FLOAT64). NaN is
// written in its canonical form, as Java's doubleToLongBits does.
func NewDoubleConverter() *NumberConverter {
	return &NumberConverter{typeName: "double", deser: "Deserializer", schema: connect.OptionalFloat64Schema, size: 8,
		encode: func(v any) ([]byte, bool) {
			x, ok := v.(float64)
			bits := math.Float64bits(x)
			if x != x {
				bits = 0x7ff8000000000000
			}
			return binary.BigEndian.AppendUint64(nil, bits), ok
		},
		decode: func(b []byte) any { return math.Float64frombits(binary.BigEndian.Uint64(b)) }}
}

// Configure implements connect.Converter.
func (c *NumberConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *NumberConverter) configure(config map[string]string, typ string) error {
	if _, err := parseConverterConfig(typeConfigDef(), config, typ); err != nil {
		return err
	}
	return nil
}

// FromConnect implements connect.Converter.
func (c *NumberConverter) FromConnect(_ string, _ connect.Headers, _ *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, ok := c.encode(v)
	if !ok {
		return nil, dataErr("Failed to serialize to %s (was %s)", c.typeName, typeName(v))
	}
	return b, nil
}

// ToConnect implements connect.Converter.
func (c *NumberConverter) ToConnect(_ string, _ connect.Headers, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return c.schema, nil, nil
	}
	if len(data) != c.size {
		return nil, nil, dataErr("Failed to deserialize %s: Size of data received by %s is not %d", c.typeName, c.deser, c.size)
	}
	return c.schema, c.decode(data), nil
}
