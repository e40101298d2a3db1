package connect

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Offset is a source partition's offset as SourceTaskContext.Offset and
// SourceTaskCommitter.Commit hand it to a task. Its values may have any of
// the Go types Offset documents, depending on where they have been (the
// task's own record, the offsets topic, a file, another writer); the
// accessors read a key whatever its form:
//
//	lsn, ok, err := off.Int("lsn") // ok is false when the key is absent or null
//
// A value of the wrong type is an error wrapping ErrOffset that names the
// key, the value and its type, so a task can refuse a corrupt committed
// offset with a message the user can act on. A nil Offset has no keys.
type Offset map[string]any

// SourceOffset is one source partition and the offset committed for it.
type SourceOffset struct {
	Partition map[string]any
	Offset    Offset
}

// ErrOffset marks a committed offset a task cannot use: a value of the
// wrong type for its key.
var ErrOffset = errors.New("invalid source offset")

// Int returns key's value as an integer. It accepts every Go integer type
// in int64's range, a float with an integral value in that range (JSON
// readers decode 1e3 or a long written by a JavaScript client so), and a
// json.Number holding such a number; anything else, a fraction or an
// overflow included, is an error. ok is false, with no error, when the key
// is absent or null.
func (o Offset) Int(key string) (n int64, ok bool, err error) {
	v := o[key]
	switch v := v.(type) {
	case nil:
		return 0, false, nil
	case int64:
		return v, true, nil
	case int:
		return int64(v), true, nil
	case int32:
		return int64(v), true, nil
	case int16:
		return int64(v), true, nil
	case int8:
		return int64(v), true, nil
	case uint8:
		return int64(v), true, nil
	case uint16:
		return int64(v), true, nil
	case uint32:
		return int64(v), true, nil
	case uint:
		if uint64(v) <= math.MaxInt64 {
			return int64(v), true, nil
		}
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true, nil
		}
	case float64:
		if n, ok := integral(v); ok {
			return n, true, nil
		}
	case float32:
		if n, ok := integral(float64(v)); ok {
			return n, true, nil
		}
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n, true, nil
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			if n, ok := integral(f); ok {
				return n, true, nil
			}
		}
	}
	return 0, false, o.wrongType(key, "an integer")
}

// integral returns f as an int64 when it is a whole number in int64's
// range. 2^63 itself is a float64 but not an int64, hence the strict bound.
func integral(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

// String returns key's value as a string; ok is false, with no error,
// when the key is absent or null.
func (o Offset) String(key string) (s string, ok bool, err error) {
	switch v := o[key].(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	}
	return "", false, o.wrongType(key, "a string")
}

// Bool returns key's value as a boolean; ok is false, with no error, when
// the key is absent or null.
func (o Offset) Bool(key string) (b bool, ok bool, err error) {
	switch v := o[key].(type) {
	case nil:
		return false, false, nil
	case bool:
		return v, true, nil
	}
	return false, false, o.wrongType(key, "a boolean")
}

func (o Offset) wrongType(key, want string) error {
	return fmt.Errorf("%w: key %q holds %T %v, not %s", ErrOffset, key, o[key], o[key], want)
}
