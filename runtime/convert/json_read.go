package convert

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// jsonReader converts JSON straight into Connect values while scanning,
// guided by the schema when there is one (Kafka's convertToConnect over a
// Jackson tree, without the tree).
type jsonReader struct {
	scanner
	replaceNull bool
}

// value reads one value of schema s; nil means schemaless.
func (r *jsonReader) value(s *connect.Schema) (any, error) {
	if s == nil {
		return r.schemaless()
	}
	c := r.peek()
	if c == 'n' {
		if err := r.literal("null"); err != nil {
			return nil, err
		}
		return r.null(s)
	}
	switch s.Name {
	case connect.DecimalName, connect.DateName, connect.TimeName, connect.TimestampName:
		return r.logical(s, c)
	}
	switch s.Type {
	case connect.TypeStruct:
		return r.structValue(s, c)
	case connect.TypeArray:
		return r.array(s, c)
	case connect.TypeMap:
		if s.KeySchema == nil || s.KeySchema.Type == connect.TypeString {
			return r.object(s, c)
		}
		return r.pairs(s, c)
	case connect.TypeBoolean:
		return r.boolean(s, c)
	case connect.TypeString:
		if c != '"' {
			return nil, r.mismatch(s, "a string")
		}
		b, err := r.stringBytes()
		return string(b), err
	case connect.TypeBytes:
		return r.bytes(s, c)
	case connect.TypeFloat32, connect.TypeFloat64:
		return r.float(s, c)
	}
	return r.integer(s, c)
}

// null resolves a JSON null or a missing struct field.
func (r *jsonReader) null(s *connect.Schema) (any, error) {
	switch {
	case s.Default != nil && r.replaceNull:
		return s.Default, nil
	case s.Optional:
		return nil, nil
	}
	return nil, dataErr("Invalid null value for required %s field", s.Type)
}

// mismatch reports JSON of the wrong kind. Kafka would quietly read it as
// zero, false or null; a Sluice converter says so instead.
func (r *jsonReader) mismatch(s *connect.Schema, want string) error {
	return dataErr("Invalid value for %s field: expected %s but found %s", s.Type, want, r.kind())
}

func (r *jsonReader) boolean(s *connect.Schema, c byte) (any, error) {
	switch c {
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	}
	return nil, r.mismatch(s, "a boolean")
}

// integer reads INT8..INT64 with Java's narrowing, as Jackson's
// intValue()/longValue() and Kafka's casts do.
func (r *jsonReader) integer(s *connect.Schema, c byte) (any, error) {
	if c != '-' && (c < '0' || c > '9') {
		return nil, r.mismatch(s, "a number")
	}
	num, _, err := r.number()
	if err != nil {
		return nil, err
	}
	v := javaLong(num)
	switch s.Type {
	case connect.TypeInt8:
		return int8(v), nil
	case connect.TypeInt16:
		return int16(v), nil
	case connect.TypeInt32:
		return int32(v), nil
	case connect.TypeInt64:
		return v, nil
	}
	return nil, dataErr("Unknown schema type: %s", s.Type)
}

// float reads FLOAT32/FLOAT64, rounding the decimal once to the target
// width, and accepts the "NaN"/"Infinity" strings Jackson writes.
func (r *jsonReader) float(s *connect.Schema, c byte) (any, error) {
	bits := 64
	if s.Type == connect.TypeFloat32 {
		bits = 32
	}
	var f float64
	switch {
	case c == '"':
		b, err := r.stringBytes()
		if err != nil {
			return nil, err
		}
		switch string(b) {
		case "NaN":
			f = math.NaN()
		case "Infinity":
			f = math.Inf(1)
		case "-Infinity":
			f = math.Inf(-1)
		default:
			return nil, dataErr("Invalid value for %s field: expected a number but found STRING", s.Type)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		num, _, err := r.number()
		if err != nil {
			return nil, err
		}
		f, _ = strconv.ParseFloat(string(num), bits) // out of range: ±Inf, as Java
	default:
		return nil, r.mismatch(s, "a number")
	}
	if bits == 32 {
		return float32(f), nil
	}
	return f, nil
}

func (r *jsonReader) bytes(s *connect.Schema, c byte) (any, error) {
	if c != '"' {
		return nil, r.mismatch(s, "a base64 string")
	}
	b, err := r.stringBytes()
	if err != nil {
		return nil, err
	}
	out, err := base64.StdEncoding.AppendDecode(make([]byte, 0, base64.StdEncoding.DecodedLen(len(b))), b)
	if err != nil {
		return nil, dataErrCause(err, "Invalid bytes field")
	}
	return out, nil
}

func (r *jsonReader) array(s *connect.Schema, c byte) (any, error) {
	if c != '[' {
		return nil, r.mismatch(s, "an array")
	}
	return r.elements(s.ValueSchema)
}

func (r *jsonReader) elements(elem *connect.Schema) ([]any, error) {
	empty, err := r.open(']')
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, 4)
	if empty {
		return out, nil
	}
	for {
		v, err := r.value(elem)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		more, err := r.more(']')
		if err != nil || !more {
			return out, err
		}
	}
}

// object reads a map with string keys from a JSON object.
func (r *jsonReader) object(s *connect.Schema, c byte) (any, error) {
	if c != '{' {
		return nil, dataErr("Maps with string fields should be encoded as JSON objects, but found %s", r.kind())
	}
	return r.members(s.ValueSchema)
}

func (r *jsonReader) members(vs *connect.Schema) (map[string]any, error) {
	empty, err := r.open('}')
	if err != nil {
		return nil, err
	}
	out := make(map[string]any)
	if empty {
		return out, nil
	}
	for {
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		name := string(k)
		v, err := r.value(vs)
		if err != nil {
			return nil, err
		}
		out[name] = v
		more, err := r.more('}')
		if err != nil || !more {
			return out, err
		}
	}
}

// pairs reads a map with non-string keys from an array of [key, value].
func (r *jsonReader) pairs(s *connect.Schema, c byte) (any, error) {
	if c != '[' {
		return nil, dataErr("Maps with non-string fields should be encoded as JSON array of tuples, but found %s", r.kind())
	}
	empty, err := r.open(']')
	if err != nil {
		return nil, err
	}
	out := make(map[any]any)
	if empty {
		return out, nil
	}
	for {
		if err := r.pair(s, out); err != nil {
			return nil, err
		}
		more, err := r.more(']')
		if err != nil || !more {
			return out, err
		}
	}
}

func (r *jsonReader) pair(s *connect.Schema, out map[any]any) error {
	if r.peek() != '[' {
		return dataErr("Found invalid map entry instead of array tuple: %s", r.kind())
	}
	empty, err := r.open(']')
	if err != nil {
		return err
	}
	if empty {
		return dataErr("Found invalid map entry, expected length 2 but found :0")
	}
	k, err := r.value(s.KeySchema)
	if err != nil {
		return err
	}
	if more, err := r.more(']'); err != nil || !more {
		if err == nil {
			err = dataErr("Found invalid map entry, expected length 2 but found :1")
		}
		return err
	}
	v, err := r.value(s.ValueSchema)
	if err != nil {
		return err
	}
	if n, err := r.rest(2); err != nil || n != 2 {
		if err == nil {
			err = dataErr("Found invalid map entry, expected length 2 but found :%d", n)
		}
		return err
	}
	if !hashable(k) {
		return dataErr("Map keys of type %s are not supported", typeName(k))
	}
	out[k] = v
	return nil
}

// rest skips the remaining elements of an array after n were read and
// returns the array's length.
func (r *jsonReader) rest(n int) (int, error) {
	for {
		more, err := r.more(']')
		if err != nil || !more {
			return n, err
		}
		if err := r.skip(); err != nil {
			return n, err
		}
		n++
	}
}

// hashable reports whether a Connect value can be a Go map key.
func hashable(k any) bool {
	switch k.(type) {
	case []byte, []any, map[string]any, map[any]any:
		return false
	}
	return true
}
