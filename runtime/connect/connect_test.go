package connect

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecimalBytesMatchJavaBigInteger(t *testing.T) {
	// Expected bytes are BigInteger.toByteArray of the unscaled value.
	cases := []struct {
		value string
		scale int
		bytes []byte
	}{
		{"0", 2, []byte{0x00}},
		{"1.56", 2, []byte{0x00, 0x9c}}, // 156 needs a sign byte
		{"-1.56", 2, []byte{0xff, 0x64}},
		{"1.27", 2, []byte{0x7f}},
		{"-1.28", 2, []byte{0x80}},
		{"-1", 0, []byte{0xff}},
		{"256", 0, []byte{0x01, 0x00}},
		{"-129", 0, []byte{0xff, 0x7f}},
		{"1500", -2, []byte{0x0f}}, // unscaled 15, scale -2
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			r, ok := new(big.Rat).SetString(c.value)
			require.True(t, ok)
			b, err := DecimalToBytes(c.scale, r)
			require.NoError(t, err)
			assert.Equal(t, c.bytes, b)
			assert.Equal(t, 0, DecimalFromBytes(c.scale, b).Cmp(r))
		})
	}
	_, err := DecimalToBytes(1, big.NewRat(1, 100))
	require.ErrorIs(t, err, ErrData)
	assert.Equal(t, "1.50", DecimalString(2, big.NewRat(3, 2)))
}

func TestLogicalTimeConversions(t *testing.T) {
	d, err := DateToDays(time.Date(1970, 1, 11, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, int32(10), d)
	_, err = DateToDays(time.Date(1970, 1, 11, 1, 0, 0, 0, time.UTC))
	require.ErrorIs(t, err, ErrData)
	ms, err := TimeToMillis(time.UnixMilli(3_600_000).UTC())
	require.NoError(t, err)
	assert.Equal(t, int32(3_600_000), ms)
	_, err = TimeToMillis(time.UnixMilli(86_400_000))
	require.ErrorIs(t, err, ErrData)
	assert.True(t, DateFromDays(10).Equal(time.Date(1970, 1, 11, 0, 0, 0, 0, time.UTC)))
}

func TestStructValidation(t *testing.T) {
	inner := StructBuilder().Name("inner").Field("x", Int32Schema).Build()
	s := StructBuilder().Name("outer").
		Field("id", Int64Schema).
		Field("name", OptionalStringSchema).
		Field("inner", inner).
		Field("tags", ArrayOf(StringSchema)).
		Build()
	st := NewStruct(s)
	_, err := st.Put("id", int32(1))
	require.ErrorIs(t, err, ErrData, "INT64 field refuses int32")
	_, err = st.Put("nope", int64(1))
	require.ErrorIs(t, err, ErrData)
	st.MustPut("id", int64(1)).MustPut("inner", NewStruct(inner).MustPut("x", int32(2))).MustPut("tags", []any{"a"})
	require.NoError(t, st.Validate())
	_, err = st.Put("tags", []any{int32(1)})
	require.ErrorIs(t, err, ErrData)

	missing := NewStruct(s).MustPut("id", int64(1))
	require.ErrorIs(t, missing.Validate(), ErrData, "required struct field unset")

	other := NewStruct(s).MustPut("id", int64(1)).MustPut("inner", NewStruct(inner).MustPut("x", int32(2))).MustPut("tags", []any{"a"})
	assert.True(t, ValuesEqual(st, other))
	other.MustPut("name", "n")
	assert.False(t, ValuesEqual(st, other))
}

func TestStructDefaults(t *testing.T) {
	s := StructBuilder().Field("n", NewSchemaBuilder(TypeInt32).Default(int32(7)).Build()).Build()
	st := NewStruct(s)
	v, err := st.Get("n")
	require.NoError(t, err)
	assert.Equal(t, int32(7), v)
	assert.Nil(t, st.GetWithoutDefault("n"))
	require.NoError(t, st.Validate(), "a defaulted field may be unset")
}

func TestConfigDefParseAndValidate(t *testing.T) {
	def := ConfigDef{
		{Name: "topic", Type: ConfigString, Default: NoDefault},
		{Name: "tasks", Type: ConfigInt, Default: 1, Validator: AtLeast(1)},
		{Name: "mode", Type: ConfigString, Default: "a", Validator: OneOf{Values: []string{"a", "b"}}},
		{Name: "list", Type: ConfigList, Default: "x, y"},
		{Name: "on", Type: ConfigBoolean, Default: false},
		{Name: "secret", Type: ConfigPassword, Default: nil, Validator: ValidatorFunc{Fn: func(_ string, v any) string {
			if v == "bad" {
				return "too weak"
			}
			return ""
		}}},
	}
	cfg, err := def.Parse(map[string]string{"topic": "t", "tasks": "3", "on": "TRUE", "list": "a,b ,c"})
	require.NoError(t, err)
	assert.Equal(t, "t", cfg.String("topic"))
	assert.Equal(t, int64(3), cfg.Int("tasks"))
	assert.True(t, cfg.Bool("on"))
	assert.Equal(t, []string{"a", "b", "c"}, cfg.List("list"))
	defaults, err := def.Parse(map[string]string{"topic": "t"})
	require.NoError(t, err)
	assert.Equal(t, []string{"x", "y"}, defaults.List("list"), "a LIST default given as text is parsed")
	assert.Equal(t, "a", cfg.String("mode"))
	assert.True(t, cfg.IsNull("secret"))

	_, err = def.Parse(map[string]string{"tasks": "0", "mode": "z", "on": "yes", "secret": "bad"})
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrConfig))
	msg := err.Error()
	for _, want := range []string{
		`Missing required configuration "topic" which has no default value.`,
		"Invalid value 0 for configuration tasks: Value must be at least 1",
		"Invalid value z for configuration mode: String must be one of: a, b",
		"Invalid value yes for configuration on: Expected value to be either true or false",
		"Invalid value [hidden] for configuration secret: too weak",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "bad for", "password values never appear in errors")

	vals := def.Validate(map[string]string{"tasks": "x"})
	require.Len(t, vals, len(def))
	assert.Equal(t, []string{"Invalid value x for configuration tasks: Not a number of type INT"}, vals[1].Errors)
	assert.Equal(t, "a", vals[2].Value, "unset keys report their default")
	assert.False(t, vals[5].HasValue, "null default has no value")
}

func TestMatchesClassAliases(t *testing.T) {
	class := "org.apache.kafka.connect.file.FileStreamSinkConnector"
	for _, name := range []string{class, "FileStreamSinkConnector", "FileStreamSink"} {
		assert.True(t, MatchesClass(class, nil, name), name)
	}
	for _, name := range []string{"", "FileStream", "Sink", "org.apache.kafka.connect.file.FileStreamSink"} {
		assert.False(t, MatchesClass(class, nil, name), name)
	}
	assert.True(t, MatchesClass("io.sluice.X", []string{"io.confluent.Y"}, "io.confluent.Y"))
	assert.True(t, MatchesClass("org.apache.kafka.connect.transforms.Cast$Value", nil, "Cast$Value"))
}

func TestRetriable(t *testing.T) {
	base := errors.New("boom")
	err := Retriable(base)
	assert.ErrorIs(t, err, ErrRetriable)
	assert.ErrorIs(t, err, base)
	assert.Equal(t, "boom", err.Error())
}

// TestUnsupportedKeyIsRefused: a key declared Unsupported is refused by
// name with its reason in both validation and parsing, and asks for
// nothing when unset or blank.
func TestUnsupportedKeyIsRefused(t *testing.T) {
	def := ConfigDef{
		{Name: "topic", Type: ConfigString, Default: "t"},
		{Name: "converters", Type: ConfigList, Default: nil, Unsupported: "custom converters are Java classes; use a transform"},
	}
	const want = "converters is not supported by Sluice: custom converters are Java classes; use a transform"
	vals := def.Validate(map[string]string{"converters": "isbn"})
	assert.Empty(t, vals[0].Errors)
	assert.Equal(t, []string{want}, vals[1].Errors)
	_, err := def.Parse(map[string]string{"converters": "isbn"})
	require.ErrorIs(t, err, ErrConfig)
	assert.EqualError(t, err, want)

	for _, props := range []map[string]string{{}, {"converters": " "}} {
		vals = def.Validate(props)
		assert.Empty(t, vals[1].Errors)
		cfg, err := def.Parse(props)
		require.NoError(t, err)
		assert.True(t, cfg.IsNull("converters"))
	}
}

type loggerSetter struct{ l *slog.Logger }

func (s *loggerSetter) SetLogger(l *slog.Logger) { s.l = l }

func TestPluginLoggers(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil)).With("connector", "c")
	Logger(WithLogger(context.Background(), l)).Info("from ctx")
	s := &loggerSetter{}
	SetPluginLogger(s, l)
	s.l.Info("from setter")
	assert.Contains(t, buf.String(), `msg="from ctx" connector=c`)
	assert.Contains(t, buf.String(), `msg="from setter" connector=c`)

	// Without one, a logger that discards: no nil check in plugins.
	Logger(context.Background()).Info("dropped")
	SetPluginLogger(s, nil)
	require.NotNil(t, s.l)
	s.l.Info("dropped")
	OrDiscard(nil).Info("dropped")
	SetPluginLogger(struct{}{}, l) // not a LoggerSetter: nothing to do
	assert.NotContains(t, buf.String(), "dropped")
}

// Config values print as Kafka's ConfigDef.convertToString prints them:
// a double through Double.toString, so a default of 0 reads "0.0" and a
// large one "1.0E10", as /config/validate shows them in Kafka.
func TestFormatConfigValueDoubleAsJava(t *testing.T) {
	for v, want := range map[float64]string{0: "0.0", 1.5: "1.5", 100: "100.0", 1e10: "1.0E10", 1e-5: "1.0E-5"} {
		assert.Equal(t, want, FormatConfigValue(ConfigDouble, v), "%v", v)
	}
	def := ConfigDef{{Name: "rate", Type: ConfigDouble, Default: 0.0}}
	got, ok := def[0].DefaultString()
	assert.True(t, ok)
	assert.Equal(t, "0.0", got)
}
