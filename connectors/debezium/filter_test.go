package debezium

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestFilterCaptures(t *testing.T) {
	signal := &TableID{Schema: "public", Name: "Debezium_Signal"}
	tests := []struct {
		name string
		f    Filter
		in   []string
		out  []string
	}{
		{"everything", Filter{}, []string{"public.a", "s.b"}, nil},
		{"table include", Filter{TableInclude: CompileList([]string{"public\\.a.*"})}, []string{"public.a", "PUBLIC.AB"}, []string{"public.b", "x.public.a"}},
		{"table exclude", Filter{TableExclude: CompileList([]string{"public.b"})}, []string{"public.a"}, []string{"public.b"}},
		{"schema include", Filter{SchemaInclude: CompileList([]string{"inv"})}, []string{"inv.a"}, []string{"public.a", "invx.a"}},
		{"schema exclude", Filter{SchemaExclude: CompileList([]string{"inv"})}, []string{"public.a"}, []string{"inv.a"}},
		{"signal table always", Filter{TableInclude: CompileList([]string{"public.orders"}), Signal: signal},
			[]string{"public.orders", "public.debezium_signal"}, []string{"public.other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.in {
				id, ok := ParseTableID(s)
				require.True(t, ok)
				assert.True(t, tt.f.Captures(id), s)
			}
			for _, s := range tt.out {
				id, _ := ParseTableID(s)
				assert.False(t, tt.f.Captures(id), s)
			}
		})
	}
}

func TestFilterColumnsAndKeyColumns(t *testing.T) {
	orders := TableID{Schema: "public", Name: "orders"}
	f := Filter{
		ColumnExclude: CompileList([]string{`public\.orders\.secret`, `.*\.tenant`}),
		Keys:          ParseKeyColumns(" public.orders : tenant, id ; public.items:sku;bad;public.(:x"),
	}
	assert.True(t, f.CapturesColumn(orders, "id"))
	assert.False(t, f.CapturesColumn(orders, "SECRET"), "case-insensitive")
	assert.Equal(t, []string{"id"}, f.KeyColumns(orders, []string{"pk"}), "message.key.columns wins; excluded columns leave the key")
	assert.Equal(t, []string{"sku"}, f.KeyColumns(TableID{Schema: "public", Name: "items"}, nil))
	assert.Equal(t, []string{"pk"}, f.KeyColumns(TableID{Schema: "public", Name: "other"}, []string{"pk"}), "primary key otherwise")
	assert.Len(t, f.Keys, 2, "entries without a colon or with a bad pattern are left out")

	only := Filter{ColumnInclude: CompileList([]string{`public\.orders\.(id|total)`})}
	assert.True(t, only.CapturesColumn(orders, "total"))
	assert.False(t, only.CapturesColumn(orders, "note"))
}

func TestParseTableID(t *testing.T) {
	for in, want := range map[string]*TableID{
		"public.t": {Schema: "public", Name: "t"},
		" s.t.x ":  {Schema: "s", Name: "t.x"},
		"t":        nil,
		".t":       nil,
		"s.":       nil,
	} {
		got, ok := ParseTableID(in)
		if want == nil {
			assert.False(t, ok, in)
			continue
		}
		assert.True(t, ok, in)
		assert.Equal(t, *want, got, in)
	}
	assert.False(t, SameTable(nil, TableID{}), "no signalling table")
}

func TestFilterFromConfig(t *testing.T) {
	def := append(connect.ConfigDef{}, FilterConfig...)
	def = append(def, EventConfig...)
	c, err := def.Parse(map[string]string{
		TableIncludeListConfig:  "public.a, public.b",
		MessageKeyColumnsConfig: "public.a:x",
		SkippedOperationsConfig: "c, t",
	})
	require.NoError(t, err)
	f := FilterFromConfig(c)
	assert.True(t, f.Captures(TableID{Schema: "public", Name: "b"}))
	assert.False(t, f.Captures(TableID{Schema: "public", Name: "c"}))
	assert.Equal(t, []string{"x"}, f.KeyColumns(TableID{Schema: "public", Name: "a"}, []string{"id"}))
	assert.Equal(t, Skipped{OpCreate: true, OpTruncate: true}, ParseSkipped(c.List(SkippedOperationsConfig)))
}

func TestColumnRules(t *testing.T) {
	assert.Equal(t, "*****", ColumnRule{N: 5}.Apply("secret value"))
	assert.Equal(t, "", ColumnRule{N: 0}.Apply("x"))
	assert.Equal(t, "hé", ColumnRule{N: 2, Truncate: true}.Apply("héllo"), "characters, not bytes")
	assert.Equal(t, "hi", ColumnRule{N: 5, Truncate: true}.Apply("hi"))

	rules, err := ParseColumnRules(map[string]string{
		"column.mask.with.3.chars":   `public\.t\.card`,
		"column.truncate.to.2.chars": "public.t.name, public.t.n",
		"topic.prefix":               "x",
	})
	require.NoError(t, err)
	require.Len(t, rules, 2)
	row := connect.StructBuilder().Field("card", connect.StringSchema).Field("n", connect.Int32Schema).
		Field("name", connect.OptionalStringSchema).Field("other", connect.StringSchema).Build()
	ops := ColumnOps(rules, TableID{Schema: "public", Name: "t"}, row)
	require.Len(t, ops, 4)
	assert.Equal(t, "***", ops[0].Apply("1234"))
	assert.Nil(t, ops[1], "only strings are masked")
	assert.Equal(t, "ab", ops[2].Apply("abc"))
	assert.Nil(t, ops[3])
	assert.Nil(t, ColumnOps(rules, TableID{Schema: "public", Name: "u"}, row), "nil when no rule applies")

	for key, want := range map[string]string{
		"column.mask.with.x.chars":    "the number of characters must be a non-negative integer",
		"column.truncate.to.-1.chars": "the number of characters must be a non-negative integer",
		"column.mask.with.2.chars":    "Invalid value public.t.( for configuration column.mask.with.2.chars",
	} {
		value := "public.t.a"
		if key == "column.mask.with.2.chars" {
			value = "public.t.("
		}
		_, err := ParseColumnRules(map[string]string{key: value})
		var ce *connect.ConfigError
		require.ErrorAs(t, err, &ce, key)
		assert.Equal(t, key, ce.Key)
		assert.Contains(t, ce.Msg, want)
	}
}

func TestPropagateSourceType(t *testing.T) {
	p := PropagateSourceType{Columns: CompileList([]string{`s\.t\.price`}), Types: CompileList([]string{`s\.t\.VARCHAR`})}
	id := TableID{Schema: "s", Name: "t"}
	assert.False(t, PropagateSourceType{}.Matches(id, "price", "numeric"))
	assert.True(t, PropagateSourceType{}.Empty())
	assert.True(t, p.Matches(id, "price", "numeric"))
	assert.True(t, p.Matches(id, "name", "varchar"), "type names without regard to case")
	assert.False(t, p.Matches(id, "name", ""), "unknown type")
}

func TestValidators(t *testing.T) {
	assert.Empty(t, TopicPrefix{}.Validate("topic.prefix", "shop-1.eu_x"))
	assert.Contains(t, TopicPrefix{}.Validate("topic.prefix", "shop/1"), "has invalid format")
	assert.Empty(t, SkippedOperations{}.Validate("", []string{"c", " u", "d", "t"}))
	assert.Empty(t, SkippedOperations{}.Validate("", []string{"none"}))
	assert.Equal(t, "'none' cannot be combined with other operations", SkippedOperations{}.Validate("", []string{"none", "c"}))
	assert.Contains(t, SkippedOperations{}.Validate("", []string{"x"}), `Unknown operation "x"`)
	assert.Empty(t, RegexList{}.Validate("l", nil))
	assert.NotEmpty(t, RegexList{}.Validate("l", []string{"("}))
}

func TestBinaryValue(t *testing.T) {
	b := []byte{0xfb, 0xff, 0x01}
	assert.Equal(t, b, BinaryValue(b, BinaryBytes))
	assert.Equal(t, "+/8B", BinaryValue(b, BinaryBase64))
	assert.Equal(t, "-_8B", BinaryValue(b, BinaryBase64URLSafe))
	assert.Equal(t, "fbff01", BinaryValue(b, BinaryHex))
}

func TestConversionFailed(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	table := TableID{Schema: "s", Name: "t"}
	cause := errors.New("bad value")
	err := ConversionFailed("fail", log, table, cause)
	assert.ErrorIs(t, err, cause)
	assert.EqualError(t, err, "bad value (set event.processing.failure.handling.mode to warn or skip to go on without it)")
	assert.NoError(t, ConversionFailed("skip", log, table, cause))
	assert.NoError(t, ConversionFailed("ignore", log, table, cause))
	assert.Empty(t, logs.String(), "skip is silent")
	assert.NoError(t, ConversionFailed("warn", log, table, cause))
	assert.Contains(t, logs.String(), `msg="skipping a change that cannot be converted" table=s.t error="bad value"`)
}
