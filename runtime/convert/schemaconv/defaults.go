package schemaconv

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/sluicehq/sluice/runtime/connect"
)

// toInt64 accepts the number types JSON decoders and hamba produce.
func toInt64(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int8:
		return int64(n), nil
	case int16:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case float32:
		return int64(n), nil
	case float64:
		if n != math.Trunc(n) {
			return 0, fmt.Errorf("%v is not an integer", n)
		}
		return int64(n), nil
	case json.Number:
		return n.Int64()
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

func toFloat64(v any) (float64, error) {
	switch n := v.(type) {
	case float32:
		return float64(n), nil
	case float64:
		return n, nil
	case json.Number:
		return n.Float64()
	}
	i, err := toInt64(v)
	return float64(i), err
}

func fromLatin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// genericToConnect converts a generic decoded value (a default from a
// schema) to the Go type Connect uses for s.
func genericToConnect(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64:
		n, err := toInt64(v)
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
		f, err := toFloat64(v)
		return float32(f), err
	case connect.TypeFloat64:
		return toFloat64(v)
	case connect.TypeBytes:
		switch b := v.(type) {
		case []byte:
			return b, nil
		case string:
			return fromLatin1(b), nil
		}
	case connect.TypeBoolean, connect.TypeString:
		return v, nil
	case connect.TypeArray:
		return arrayToConnect(s, v)
	case connect.TypeMap:
		return mapToConnect(s, v)
	case connect.TypeStruct:
		return structToConnect(s, v)
	}
	return nil, fmt.Errorf("default %v (%T) does not fit %s", v, v, s)
}

func arrayToConnect(s *connect.Schema, v any) (any, error) {
	xs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("default %v is not an array", v)
	}
	out := make([]any, len(xs))
	for i, e := range xs {
		c, err := connectDefault(s.ValueSchema, e)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func mapToConnect(s *connect.Schema, v any) (any, error) {
	return decodedMapToConnect(s, v, connectDefault, "default ")
}

// decodedMapToConnect converts a decoded JSON map value — an object, or
// an array of {"key","value"} entries for non-string keys — converting
// keys and values with conv. what prefixes error messages.
func decodedMapToConnect(s *connect.Schema, v any, conv func(*connect.Schema, any) (any, error), what string) (any, error) {
	if m, ok := v.(map[string]any); ok {
		out := make(map[string]any, len(m))
		for k, e := range m {
			c, err := conv(s.ValueSchema, e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	xs, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s%v is not a map", what, v)
	}
	out := make(map[any]any, len(xs))
	for _, e := range xs {
		entry, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("map entry %v is not an object", e)
		}
		k, err := conv(s.KeySchema, entry["key"])
		if err != nil {
			return nil, err
		}
		if out[k], err = conv(s.ValueSchema, entry["value"]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func structToConnect(s *connect.Schema, v any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("default %v is not an object", v)
	}
	st := connect.NewStruct(s)
	for i := range s.Fields {
		f := &s.Fields[i]
		c, err := connectDefault(f.Schema, m[f.Name])
		if err != nil {
			return nil, err
		}
		st.Set(f, c)
	}
	return st, nil
}
