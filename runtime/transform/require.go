package transform

import (
	"fmt"
	"math/big"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The helpers below mirror Kafka's transforms.util.Requirements, so type
// mismatches read as they do in Kafka: "Only Struct objects supported for
// [cast types], found: java.lang.String".

func requireSchema(s *connect.Schema, purpose string) error {
	if s == nil {
		return fmt.Errorf("%w: Schema required for [%s]", connect.ErrData, purpose)
	}
	return nil
}

func requireMap(v any, purpose string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: Only Map objects supported in absence of schema for [%s], found: %s",
			connect.ErrData, purpose, javaName(v))
	}
	return m, nil
}

func requireMapOrNull(v any, purpose string) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	return requireMap(v, purpose)
}

func requireStruct(v any, purpose string) (*connect.Struct, error) {
	st, ok := v.(*connect.Struct)
	if !ok || st == nil {
		return nil, fmt.Errorf("%w: Only Struct objects supported for [%s], found: %s",
			connect.ErrData, purpose, javaName(v))
	}
	return st, nil
}

func requireStructOrNull(v any, purpose string) (*connect.Struct, error) {
	if v == nil {
		return nil, nil
	}
	return requireStruct(v, purpose)
}

// isSinkRecord reports whether r came from the consumer side (Kafka's
// instanceof SinkRecord): a source record carries its source position.
func isSinkRecord(r *connect.Record) bool {
	return r.SourcePartition == nil && r.SourceOffset == nil
}

func requireSinkRecord(r *connect.Record, purpose string) error {
	if !isSinkRecord(r) {
		return fmt.Errorf("%w: Only SinkRecord supported for [%s], found: org.apache.kafka.connect.source.SourceRecord",
			connect.ErrData, purpose)
	}
	return nil
}

// javaName is the Java canonical class name of the value Kafka would hold
// for v, for error messages that match Kafka's ("null" for nil).
func javaName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case bool:
		return "java.lang.Boolean"
	case int8:
		return "java.lang.Byte"
	case int16:
		return "java.lang.Short"
	case int32:
		return "java.lang.Integer"
	case int64:
		return "java.lang.Long"
	case float32:
		return "java.lang.Float"
	case float64:
		return "java.lang.Double"
	case []byte:
		return "byte[]"
	case map[string]any, map[any]any:
		return "java.util.HashMap"
	case []any:
		return "java.util.ArrayList"
	case *connect.Struct:
		return "org.apache.kafka.connect.data.Struct"
	case *big.Rat:
		return "java.math.BigDecimal"
	case time.Time:
		return "java.util.Date"
	}
	return fmt.Sprintf("%T", v)
}

// javaClass renders v's class as Java's Class.toString does ("class
// java.lang.String", "class [B").
func javaClass(v any) string {
	if _, ok := v.([]byte); ok {
		return "class [B"
	}
	return "class " + javaName(v)
}

// inferType is Kafka's ConnectSchema.schemaType for a schemaless value: the
// schema type of its Java class, or "" when the class is not a Connect one
// (logical values such as BigDecimal and Date have no inferred type).
func inferType(v any) connect.Type {
	switch v.(type) {
	case int8:
		return connect.TypeInt8
	case int16:
		return connect.TypeInt16
	case int32:
		return connect.TypeInt32
	case int64:
		return connect.TypeInt64
	case float32:
		return connect.TypeFloat32
	case float64:
		return connect.TypeFloat64
	case bool:
		return connect.TypeBoolean
	case string:
		return connect.TypeString
	case []byte:
		return connect.TypeBytes
	case []any:
		return connect.TypeArray
	case map[string]any, map[any]any:
		return connect.TypeMap
	case *connect.Struct:
		return connect.TypeStruct
	}
	return ""
}
