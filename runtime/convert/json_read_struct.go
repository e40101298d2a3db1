package convert

import (
	"encoding/base64"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// structValue reads a JSON object into a Struct: members matched to fields
// by name (unknown members ignored, the last of duplicates kept), absent
// fields resolved as nulls.
func (r *jsonReader) structValue(s *connect.Schema, c byte) (any, error) {
	if c != '{' {
		return nil, dataErr("Structs should be encoded as JSON objects, but found %s", r.kind())
	}
	st := connect.NewStruct(s)
	seen := newFieldSet(len(s.Fields))
	empty, err := r.open('}')
	if err != nil {
		return nil, err
	}
	for next := 0; !empty; {
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		i := fieldIndex(s, k, next)
		if i < 0 {
			if err := r.skip(); err != nil {
				return nil, err
			}
		} else {
			f := &s.Fields[i]
			v, err := r.value(f.Schema)
			if err != nil {
				return nil, err
			}
			st.Set(f, v)
			seen.add(i)
			next = i + 1
		}
		more, err := r.more('}')
		if err != nil {
			return nil, err
		}
		empty = !more
	}
	return st, r.fillMissing(s, st, seen)
}

func (r *jsonReader) fillMissing(s *connect.Schema, st *connect.Struct, seen fieldSet) error {
	for i := range s.Fields {
		if seen.has(i) {
			continue
		}
		f := &s.Fields[i]
		v, err := r.null(f.Schema)
		if err != nil {
			return err
		}
		st.Set(f, v)
	}
	return nil
}

// fieldIndex finds the field named k, trying the hint first since
// members usually come in field order. It compares bytes to names without
// allocating.
func fieldIndex(s *connect.Schema, k []byte, hint int) int {
	if hint < len(s.Fields) && s.Fields[hint].Name == string(k) {
		return hint
	}
	if len(s.Fields) > 16 {
		if f := s.Field(string(k)); f != nil {
			return f.Index
		}
		return -1
	}
	for i := range s.Fields {
		if s.Fields[i].Name == string(k) {
			return i
		}
	}
	return -1
}

// fieldSet records which fields a struct's JSON object set.
type fieldSet struct {
	small uint64
	large []bool
}

func newFieldSet(n int) fieldSet {
	if n > 64 {
		return fieldSet{large: make([]bool, n)}
	}
	return fieldSet{}
}

func (f *fieldSet) add(i int) {
	if f.large != nil {
		f.large[i] = true
		return
	}
	f.small |= 1 << uint(i)
}

func (f *fieldSet) has(i int) bool {
	if f.large != nil {
		return f.large[i]
	}
	return f.small&(1<<uint(i)) != 0
}

// logical reads Decimal (a number, or base64 of the unscaled value), Date
// and Time (a JSON int) and Timestamp (any integral number).
func (r *jsonReader) logical(s *connect.Schema, c byte) (any, error) {
	if s.Name == connect.DecimalName {
		return r.decimal(s, c)
	}
	short := logicalShortName(s.Name)
	if c != '-' && (c < '0' || c > '9') {
		return nil, dataErr("Invalid type for %s, underlying representation should be %s but was %s", short, integerWord(s), r.kind())
	}
	num, integral, err := r.number()
	if err != nil {
		return nil, err
	}
	if !integral {
		return nil, dataErr("Invalid type for %s, underlying representation should be %s but was NUMBER", short, integerWord(s))
	}
	if s.Name == connect.TimestampName {
		return connect.TimestampFromMillis(javaLong(num)), nil
	}
	v, fits := intFits(num)
	if !fits {
		return nil, dataErr("Invalid type for %s, underlying representation should be integer but was NUMBER", short)
	}
	if s.Name == connect.DateName {
		return connect.DateFromDays(v), nil
	}
	return connect.TimeFromMillis(v), nil
}

func integerWord(s *connect.Schema) string {
	if s.Name == connect.TimestampName {
		return "integral"
	}
	return "integer"
}

func (r *jsonReader) decimal(s *connect.Schema, c byte) (any, error) {
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
		num, _, err := r.number()
		if err != nil {
			return nil, err
		}
		p, _ := parseDecimal(num)
		return p.rat()
	case c == '"':
		b, err := r.stringBytes()
		if err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.AppendDecode(nil, b)
		if err != nil {
			return nil, dataErrCause(err, "Invalid bytes for Decimal field")
		}
		scale, err := decimalScale(s)
		if err != nil {
			return nil, err
		}
		return decimalFromBytes(scale, raw), nil
	}
	return nil, dataErr("Invalid type for Decimal, underlying representation should be numeric or bytes but was %s", r.kind())
}

// schemaless reads JSON without a schema: objects as map[string]any,
// arrays as []any, integral numbers as int64 and others as float64.
func (r *jsonReader) schemaless() (any, error) {
	switch c := r.peek(); c {
	case '{':
		return r.members(nil)
	case '[':
		return r.elements(nil)
	case '"':
		b, err := r.stringBytes()
		return string(b), err
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	case 'n':
		return nil, r.literal("null")
	case 0:
		return nil, r.errorf("Unexpected end-of-input: expected a value")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return nil, r.errorf("Unexpected character %s: expected a valid value", quoteByte(c))
		}
		num, integral, err := r.number()
		if err != nil {
			return nil, err
		}
		if integral {
			return javaLong(num), nil
		}
		f, _ := strconv.ParseFloat(string(num), 64)
		return f, nil
	}
}
