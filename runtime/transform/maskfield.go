package transform

import (
	"fmt"
	"maps"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// maskField is org.apache.kafka.connect.transforms.MaskField: it replaces
// fields with the null-like value of their type (0, false, "", the epoch,
// an empty list or map), or with a configured replacement for numbers and
// strings.
type maskField struct {
	side        side
	fields      map[string]bool
	replacement *string
	replaceNull bool
}

const maskPurpose = "mask fields"

var maskFieldConfig = connect.ConfigDef{
	{Name: "fields", Type: connect.ConfigList, Default: connect.NoDefault, Validator: nonEmptyList,
		Importance: connect.High, Doc: "Names of the fields to mask."},
	{Name: "replacement", Type: connect.ConfigString, Default: nil, Validator: nonEmptyString,
		Importance: connect.Low, Doc: "Replacement applied to every masked field (numeric or non-empty string values only)."},
	replaceNullWithDefaultKey,
}

func (m *maskField) Configure(props map[string]string) error {
	cfg, err := maskFieldConfig.Parse(props)
	if err != nil {
		return err
	}
	m.fields = make(map[string]bool)
	for _, f := range cfg.List("fields") {
		m.fields[f] = true
	}
	m.replacement = nil
	if !cfg.IsNull("replacement") {
		s := cfg.String("replacement")
		m.replacement = &s
	}
	m.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	return nil
}

func (m *maskField) Apply(r *connect.Record) (*connect.Record, error) {
	v := m.side.value(r)
	if v == nil {
		return r, nil
	}
	s := m.side.schema(r)
	if s == nil {
		value, err := requireMap(v, maskPurpose)
		if err != nil {
			return nil, err
		}
		updated := maps.Clone(value)
		for f := range m.fields {
			if updated[f], err = m.masked(value[f]); err != nil {
				return nil, err
			}
		}
		return m.side.with(r, nil, updated), nil
	}
	st, err := requireStruct(v, maskPurpose)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(st.Schema())
	for i := range st.Schema().Fields {
		f := &st.Schema().Fields[i]
		fv := fieldValue(st, f, m.replaceNull)
		if m.fields[f.Name] {
			if fv, err = m.masked(fv); err != nil {
				return nil, err
			}
			if err := connect.ValidateValue(f.Schema, fv); err != nil {
				return nil, fmt.Errorf("mask field %s: %w", f.Name, err)
			}
		}
		out.Set(f, fv)
	}
	return m.side.with(r, s, out), nil
}

func (m *maskField) masked(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if m.replacement != nil {
		return maskWithReplacement(v, *m.replacement)
	}
	return maskWithNull(v)
}

func maskWithNull(v any) (any, error) {
	switch v.(type) {
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case *big.Rat:
		return new(big.Rat), nil
	case time.Time:
		return time.UnixMilli(0).UTC(), nil
	case string:
		return "", nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case map[any]any:
		return map[any]any{}, nil
	}
	return nil, fmt.Errorf("%w: Cannot mask value of type: %s", connect.ErrData, javaClass(v))
}

func maskWithReplacement(v any, repl string) (any, error) {
	bad := func() error {
		return fmt.Errorf("%w: Unable to convert %s (class java.lang.String) to number", connect.ErrData, repl)
	}
	integer := func(bits int) (int64, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(repl), 10, bits)
		if err != nil {
			return 0, bad()
		}
		return n, nil
	}
	switch v.(type) {
	case string:
		return repl, nil
	case int8:
		n, err := integer(8)
		return int8(n), err
	case int16:
		n, err := integer(16)
		return int16(n), err
	case int32:
		n, err := integer(32)
		return int32(n), err
	case int64:
		return integer(64)
	case float32, float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(repl), 64)
		if err != nil {
			return nil, bad()
		}
		if _, ok := v.(float32); ok {
			return float32(f), nil
		}
		return f, nil
	case *big.Rat:
		d, ok := new(big.Rat).SetString(repl)
		if !ok {
			return nil, bad()
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: Cannot mask value of type %s with custom replacement.", connect.ErrData, javaClass(v))
}
