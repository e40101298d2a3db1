package transform

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Cast is org.apache.kafka.connect.transforms.Cast: it casts fields, or the
// whole key or value, to another primitive type. Logical Date, Time and
// Timestamp values cast to their integer encoding, or to ISO-8601 text when
// cast to string; bytes cast to string as base64.
type cast struct {
	side        side
	casts       map[string]connect.Type
	whole       connect.Type // "" unless the spec is a single type
	replaceNull bool
	cache       schemaCache
}

const castPurpose = "cast types"

var (
	castInputTypes = []connect.Type{connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64,
		connect.TypeFloat32, connect.TypeFloat64, connect.TypeBoolean, connect.TypeString, connect.TypeBytes}
	castOutputTypes = castInputTypes[:len(castInputTypes)-1]
)

var castConfig = connect.ConfigDef{
	{Name: "spec", Type: connect.ConfigList, Default: connect.NoDefault, Importance: connect.High,
		Validator: connect.ValidatorFunc{
			Fn: func(_ string, v any) string {
				l, _ := v.([]string)
				if len(l) == 0 {
					return "Must specify at least one field to cast."
				}
				if _, err := parseCastSpec(l); err != nil {
					return err.Error()
				}
				return ""
			},
			Desc: "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>",
		},
		Doc: "Fields to cast and their target types as field1:type,field2:type, or one type to cast the whole " +
			"key or value. Types: int8, int16, int32, int64, float32, float64, boolean, string; bytes cast only to string."},
	replaceNullWithDefaultKey,
}

// parseCastSpec parses the spec list; the whole-value cast is stored under
// the key "" (Kafka uses null), which no real field spec can produce.
func parseCastSpec(mappings []string) (map[string]connect.Type, error) {
	m := make(map[string]connect.Type, len(mappings))
	whole := false
	for _, mapping := range mappings {
		parts := javaSplit(mapping, ":")
		switch {
		case len(parts) > 2:
			return nil, fmt.Errorf("Invalid rename mapping: %s", mapping)
		case len(parts) <= 1:
			t, err := castOutputType(strings.Join(parts, ""))
			if err != nil {
				return nil, err
			}
			m[""], whole = t, true
		default:
			t, err := castOutputType(parts[1])
			if err != nil {
				return nil, err
			}
			m[strings.TrimSpace(parts[0])] = t
		}
	}
	if whole && len(mappings) > 1 {
		return nil, errors.New("Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec")
	}
	return m, nil
}

func castOutputType(name string) (connect.Type, error) {
	t := connect.Type(strings.ToUpper(strings.TrimSpace(name)))
	for _, x := range castOutputTypes {
		if x == t {
			return t, nil
		}
	}
	for _, x := range []connect.Type{connect.TypeBytes, connect.TypeArray, connect.TypeMap, connect.TypeStruct} {
		if x == t {
			return "", fmt.Errorf("Cast transformation does not support casting to %s; supported types are %s", t, typeList(castOutputTypes))
		}
	}
	return "", fmt.Errorf("Invalid type found in casting spec: %s", strings.TrimSpace(name))
}

func typeList(ts []connect.Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func (c *cast) Configure(props map[string]string) error {
	cfg, err := castConfig.Parse(props)
	if err != nil {
		return err
	}
	if c.casts, err = parseCastSpec(cfg.List("spec")); err != nil {
		return connect.NewConfigError("spec", "%s", err)
	}
	c.whole = c.casts[""]
	c.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	return nil
}

func (c *cast) Apply(r *connect.Record) (*connect.Record, error) {
	v := c.side.value(r)
	if v == nil {
		return r, nil
	}
	if s := c.side.schema(r); s != nil {
		return c.applyWithSchema(r, s, v)
	}
	if c.whole != "" {
		out, err := castValue(nil, v, c.whole)
		if err != nil {
			return nil, err
		}
		return c.side.with(r, nil, out), nil
	}
	m, err := requireMap(v, castPurpose)
	if err != nil {
		return nil, err
	}
	updated := maps.Clone(m)
	for field, t := range c.casts {
		if updated[field], err = castValue(nil, m[field], t); err != nil {
			return nil, err
		}
	}
	return c.side.with(r, nil, updated), nil
}

func (c *cast) applyWithSchema(r *connect.Record, s *connect.Schema, v any) (*connect.Record, error) {
	updated, err := c.updatedSchema(s)
	if err != nil {
		return nil, err
	}
	if c.whole != "" {
		out, err := castValue(s, v, c.whole)
		if err != nil {
			return nil, err
		}
		return c.side.with(r, updated, out), nil
	}
	st, err := requireStruct(v, castPurpose)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(updated)
	for i := range st.Schema().Fields {
		f := &st.Schema().Fields[i]
		fv := fieldValue(st, f, c.replaceNull)
		if t, ok := c.casts[f.Name]; ok {
			if fv, err = castValue(f.Schema, fv, t); err != nil {
				return nil, err
			}
		}
		out.Set(&updated.Fields[i], fv)
	}
	return c.side.with(r, updated, out), nil
}

func (c *cast) updatedSchema(s *connect.Schema) (*connect.Schema, error) {
	if u := c.cache.get(s); u != nil {
		return u, nil
	}
	var b *connect.SchemaBuilder
	if c.whole != "" {
		// Kafka copies the name of a logical schema onto the cast one,
		// leaving e.g. a STRING named Date that no converter accepts; the
		// cast value is plain, so its schema is too.
		b = connect.NewSchemaBuilder(c.whole)
		if !connect.IsLogical(s) {
			b = copySchemaBasics(s, c.whole)
		}
	} else {
		b = copySchemaBasics(s, connect.TypeStruct)
		for _, f := range s.Fields {
			t, ok := c.casts[f.Name]
			if !ok {
				b.Field(f.Name, f.Schema)
				continue
			}
			fb := connect.NewSchemaBuilder(t)
			if f.Schema.Optional {
				fb.Optional()
			}
			if f.Schema.Default != nil {
				d, err := castValue(f.Schema, f.Schema.Default, t)
				if err != nil {
					return nil, err
				}
				fb.Default(d)
			}
			b.Field(f.Name, fb.Build())
		}
	}
	if s.Optional {
		b.Optional()
	}
	if s.Default != nil {
		target := c.whole
		if target == "" {
			target = connect.TypeStruct
		}
		d, err := castValue(s, s.Default, target)
		if err != nil {
			return nil, err
		}
		b.Default(d)
	}
	u := b.Build()
	c.cache.put(s, u)
	return u, nil
}

// castValue is Kafka's Cast.castValueToType: schema is nil for schemaless
// values, whose type is then inferred from the Go type.
func castValue(schema *connect.Schema, v any, target connect.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	var inferred connect.Type
	if schema != nil {
		inferred = schema.Type
	} else if inferred = inferType(v); inferred == "" {
		return nil, fmt.Errorf("%w: Cast transformation was passed a value of type %s which is not supported by Connect's data API",
			connect.ErrData, javaClass(v))
	}
	supported := false
	for _, t := range castInputTypes {
		supported = supported || t == inferred
	}
	if !supported {
		return nil, fmt.Errorf("%w: Cast transformation does not support casting from %s; supported types are %s",
			connect.ErrData, inferred, typeList(castInputTypes))
	}
	if schema != nil && schema.Name != "" && target != connect.TypeString {
		var err error
		if v, err = encodeLogical(schema, v); err != nil {
			return nil, err
		}
	}
	if target == connect.TypeString {
		return castToString(schema, v)
	}
	return castToNumberOrBool(v, target)
}

// encodeLogical turns Date, Time and Timestamp values into their integer
// encodings; a Decimal stays a number.
func encodeLogical(schema *connect.Schema, v any) (any, error) {
	t, ok := v.(time.Time)
	if !ok {
		return v, nil
	}
	switch schema.Name {
	case connect.DateName:
		return connect.DateToDays(t)
	case connect.TimeName:
		return connect.TimeToMillis(t)
	case connect.TimestampName:
		return t.UnixMilli(), nil
	}
	return v, nil
}

func castToNumberOrBool(v any, target connect.Type) (any, error) {
	if s, ok := v.(string); ok {
		return parseCastString(s, target)
	}
	if b, ok := v.(bool); ok {
		n := int64(0)
		if b {
			n = 1
		}
		v = n
	}
	var i int64
	var f float64
	isFloat := false
	switch n := v.(type) {
	case int8:
		i = int64(n)
	case int16:
		i = int64(n)
	case int32:
		i = int64(n)
	case int64:
		i = n
	case float32:
		f, isFloat = float64(n), true
	case float64:
		f, isFloat = n, true
	case *big.Rat:
		i, f = ratInt64(n), ratFloat64(n)
		if target == connect.TypeFloat32 || target == connect.TypeFloat64 {
			isFloat = true
		}
	default:
		return nil, fmt.Errorf("%w: Unexpected type in Cast transformation: %s", connect.ErrData, javaClass(v))
	}
	if !isFloat {
		f = float64(i)
	} else if _, rat := v.(*big.Rat); !rat {
		i = javaD2L(f)
	}
	switch target {
	case connect.TypeInt8:
		if isFloat {
			return int8(javaD2I(f)), nil
		}
		return int8(i), nil
	case connect.TypeInt16:
		if isFloat {
			return int16(javaD2I(f)), nil
		}
		return int16(i), nil
	case connect.TypeInt32:
		if isFloat {
			return javaD2I(f), nil
		}
		return int32(i), nil
	case connect.TypeInt64:
		return i, nil
	case connect.TypeFloat32:
		if isFloat {
			return float32(f), nil
		}
		return float32(i), nil
	case connect.TypeFloat64:
		return f, nil
	case connect.TypeBoolean:
		return i != 0, nil
	}
	return nil, fmt.Errorf("%w: %s is not supported in the Cast transformation.", connect.ErrData, target)
}

// parseCastString parses text as Byte.parseByte, Double.parseDouble and
// Boolean.parseBoolean do.
func parseCastString(s string, target connect.Type) (any, error) {
	outOfRange := func() error {
		return fmt.Errorf("%w: Value (%s) was out of range for requested data type", connect.ErrData, s)
	}
	bits := map[connect.Type]int{connect.TypeInt8: 8, connect.TypeInt16: 16, connect.TypeInt32: 32, connect.TypeInt64: 64}
	switch target {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64:
		n, err := strconv.ParseInt(s, 10, bits[target])
		if err != nil {
			return nil, outOfRange()
		}
		switch target {
		case connect.TypeInt8:
			return int8(n), nil
		case connect.TypeInt16:
			return int16(n), nil
		case connect.TypeInt32:
			return int32(n), nil
		}
		return n, nil
	case connect.TypeFloat32, connect.TypeFloat64:
		size := 64
		if target == connect.TypeFloat32 {
			size = 32
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimRight(s, "fFdD")), size)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, outOfRange()
		}
		if size == 32 {
			return float32(f), nil
		}
		return f, nil
	case connect.TypeBoolean:
		return strings.EqualFold(s, "true"), nil
	}
	return nil, fmt.Errorf("%w: %s is not supported in the Cast transformation.", connect.ErrData, target)
}

func castToString(schema *connect.Schema, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float32:
		return javaFloatString(float64(x), 32), nil
	case float64:
		return javaFloatString(x, 64), nil
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	case time.Time:
		return isoDateString(x), nil
	case *big.Rat:
		scale := 0
		if schema != nil {
			scale, _ = connect.DecimalScale(schema)
		}
		return connect.DecimalString(scale, x), nil
	}
	return fmt.Sprint(v), nil
}

const msPerDay = 24 * 60 * 60 * 1000

// isoDateString formats a date, time or timestamp as Kafka's
// Values.dateFormatFor picks: time only within the first day after the
// epoch, date only at midnight, a full timestamp otherwise.
func isoDateString(t time.Time) string {
	ms := t.UnixMilli()
	t = t.UTC()
	switch {
	case ms < msPerDay:
		return t.Format("15:04:05.000Z")
	case ms%msPerDay == 0:
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}
