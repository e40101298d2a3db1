package httpsink

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// maxJSONDepth bounds the nesting rendered as JSON, so a self-referencing
// value cannot recurse forever.
const maxJSONDepth = 64

// recordBody renders r's value as the part of a body it contributes:
// text, JSON or Aiven's mix, then Confluent's regex rewrites.
func (s *settings) recordBody(r *connect.Record) ([]byte, error) {
	var b []byte
	var err error
	switch s.body {
	case bodyString:
		switch v := r.Value.(type) {
		case string:
			b = []byte(v)
		case []byte:
			b = v
		default:
			b = javavalue.Append(nil, r.ValueSchema, r.Value)
		}
	case bodyJSON:
		b, err = appendJSON(nil, r.ValueSchema, r.Value, s.numericDec, 0)
	case bodyAiven:
		switch v := r.Value.(type) {
		case string:
			b = []byte(v)
		case []byte:
			return nil, fmt.Errorf("%w: record value is bytes, which the Aiven HTTP sink does not send: use a string or JSON converter for the value", connect.ErrData)
		default:
			b, err = appendJSON(nil, r.ValueSchema, r.Value, s.numericDec, 0)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: render value of %s-%d@%d as JSON: %w", connect.ErrData, r.Topic, r.Partition, r.Offset, err)
	}
	if len(s.rewrites) > 0 {
		text := string(b)
		topic, key := strings.ReplaceAll(r.Topic, "$", "$$"), strings.ReplaceAll(keyText(r), "$", "$$")
		for _, rw := range s.rewrites {
			repl := strings.ReplaceAll(strings.ReplaceAll(rw.repl, "${topic}", topic), "${key}", key)
			text = rw.re.ReplaceAllString(text, repl)
		}
		b = []byte(text)
	}
	return b, nil
}

// appendJSON appends v as schemaless JSON, as Kafka's JsonConverter with
// schemas.enable=false writes it: structs and maps as objects, bytes as
// base64, dates and timestamps as epoch numbers, decimals as base64 of
// the unscaled value or, with numeric, as a number.
func appendJSON(b []byte, s *connect.Schema, v any, numeric bool, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case *connect.Struct:
		b = append(b, '{')
		for i, f := range x.Schema().Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, f.Schema, x.GetField(&x.Schema().Fields[i]), numeric, depth+1); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return append(b, '}'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var vs *connect.Schema
		if s != nil {
			vs = s.ValueSchema
		}
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, vs, x[k], numeric, depth+1); err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
		}
		return append(b, '}'), nil
	case []any:
		var es *connect.Schema
		if s != nil {
			es = s.ValueSchema
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, es, e, numeric, depth+1); err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
		}
		return append(b, ']'), nil
	case []byte:
		return appendString(b, base64.StdEncoding.EncodeToString(x)), nil
	case string:
		return appendString(b, x), nil
	case *big.Rat:
		return appendDecimal(b, s, x, numeric)
	case time.Time:
		return appendTime(b, s, x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return appendString(b, fmt.Sprint(x)), nil
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return appendString(b, fmt.Sprint(x)), nil
		}
	}
	j, err := json.Marshal(v)
	if err != nil {
		// A map with non-string keys and other shapes JSON has no form for.
		return nil, fmt.Errorf("value of type %T has no JSON form: %w", v, err)
	}
	return append(b, j...), nil
}

func appendString(b []byte, s string) []byte {
	j, _ := json.Marshal(s) // a string always marshals
	return append(b, j...)
}

func appendDecimal(b []byte, s *connect.Schema, v *big.Rat, numeric bool) ([]byte, error) {
	scale := 0
	if s != nil {
		var err error
		if scale, err = connect.DecimalScale(s); err != nil {
			return nil, err
		}
	}
	if numeric {
		return append(b, v.FloatString(max(scale, 0))...), nil
	}
	raw, err := connect.DecimalToBytes(scale, v)
	if err != nil {
		return nil, err
	}
	return appendString(b, base64.StdEncoding.EncodeToString(raw)), nil
}

// appendTime writes a Date as days since the epoch, a Time as
// milliseconds of the day and anything else as epoch milliseconds, as
// Kafka's JsonConverter does.
func appendTime(b []byte, s *connect.Schema, t time.Time) []byte {
	ms := t.UnixMilli()
	if s != nil {
		switch s.Name {
		case connect.DateName:
			return fmt.Appendf(b, "%d", ms/86400000)
		case connect.TimeName:
			return fmt.Appendf(b, "%d", ms%86400000)
		}
	}
	return fmt.Appendf(b, "%d", ms)
}
