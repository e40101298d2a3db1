package convert

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// schemalessJSON returns a JsonConverter with schemas.enable as given.
func schemalessJSON(t testing.TB, schemas bool) *JSONConverter {
	c := NewJSONConverter()
	require.NoError(t, c.Configure(map[string]string{"schemas.enable": fmt.Sprint(schemas)}, false))
	return c
}

// rewritten is what the schemaless converter writes back for data, and
// whether data reads at all.
func rewritten(t testing.TB, c *JSONConverter, data []byte) ([]byte, bool) {
	_, v, err := c.ToConnect("", nil, data)
	if err != nil {
		return nil, false
	}
	out, err := c.FromConnect("", nil, nil, v)
	require.NoError(t, err)
	return out, true
}

// canonicalCases are inputs for AppendCanonicalJSON; ok says whether it
// rewrites them (else the caller decodes).
var canonicalCases = []struct {
	in string
	ok bool
}{
	{`{}`, true},
	{` { } `, true},
	{`{"id":1,"log":"x"}`, true},
	{`{"log":"x","id":1}`, true},
	{"{ \"id\" : 1 ,\n\t\"log\":\"x\"}", true},
	{`{"id":1,"id":2}`, false},
	{`{"a":{"x":1,"a":2},"a":3}`, false},
	{`{"a":[1, 2,{"z":null,"b":[]}],"c":true,"d":false}`, true},
	{`{"a":1.5,"b":1.50,"c":1e3,"d":1.0E3,"e":1000.0,"f":1700000000.123456}`, true},
	{`{"a":-0,"b":-0.0,"c":0,"d":-12}`, true},
	{`{"a":9223372036854775807,"b":9223372036854775808,"c":-9223372036854775808,"d":123456789012345678901234}`, true},
	{`{"a":1e400,"b":-1e400,"c":1e-400}`, true},
	{`{"a":"tab\there","b":"\u0001\u001f\u0009\/\u00e9","c":"\"\\"}`, true},
	{`{"a":"é ✓ 𝄞","é":1,"\ud834\udd1e":2,"lone":"\ud834"}`, true},
	{"{\"a\":\"\xff\"}", false},
	{"{\"a\":\"\x01\"}", false},
	{`{"a\"b":1,"a\u0062":2}`, true},
	{`{"ab":1,"a\u0062":2}`, false},
	{`{"a":}`, false},
	{`{"a":1`, false},
	{`{"a":1}x`, false},
	{`{"a":tru}`, false},
	{`{"a":01}`, false},
	{`{"a":1.}`, false},
	{`{"a":-}`, false},
	{`{a:1}`, false},
	{`[1]`, false},
	{`"x"`, false},
	{`null`, false},
	{``, false},
	{strings.Repeat(`{"a":`, 1001) + "1" + strings.Repeat("}", 1001), false},
}

// TestAppendCanonicalJSONIsWhatTheConverterWrites: whenever it rewrites
// an object, the bytes are those of decoding and encoding it again.
func TestAppendCanonicalJSONIsWhatTheConverterWrites(t *testing.T) {
	c := schemalessJSON(t, false)
	for _, tc := range canonicalCases {
		got, ok := AppendCanonicalJSON([]byte("prefix"), []byte(tc.in))
		require.Equal(t, tc.ok, ok, "%s", tc.in)
		if !ok {
			continue
		}
		want, readable := rewritten(t, c, []byte(tc.in))
		require.True(t, readable, tc.in)
		assert.Equal(t, "prefix"+string(want), string(got), "%s", tc.in)
	}
}

// TestAppendCanonicalJSONManyMembers: member order follows HashMap
// buckets also for objects that resize the table (more than 12 members),
// nested or not.
func TestAppendCanonicalJSONManyMembers(t *testing.T) {
	c := schemalessJSON(t, false)
	rng := rand.New(rand.NewPCG(1, 2))
	var obj func(depth int) string
	obj = func(depth int) string {
		var b strings.Builder
		b.WriteString("{")
		n := rng.IntN(40)
		seen := map[string]bool{}
		for i := range n {
			k := fmt.Sprintf("k%d", rng.IntN(1000))
			if seen[k] {
				continue
			}
			seen[k] = true
			if b.Len() > 1 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `%q:`, k)
			if depth < 2 && rng.IntN(8) == 0 {
				b.WriteString(obj(depth + 1))
			} else {
				fmt.Fprintf(&b, "%d", i)
			}
		}
		b.WriteString("}")
		return b.String()
	}
	for range 300 {
		in := obj(0)
		want, ok := rewritten(t, c, []byte(in))
		require.True(t, ok)
		got, ok := AppendCanonicalJSON(nil, []byte(in))
		require.True(t, ok, in)
		assert.Equal(t, string(want), string(got), "%s", in)
	}
}

// TestRawJSONWrittenAsIs: the converter writes a RawJSON value verbatim,
// with schemas.enable inside the null-schema envelope it writes for the
// decoded value.
func TestRawJSONWrittenAsIs(t *testing.T) {
	raw := connect.RawJSON(`{"log":"x","id":1}`)
	decoded, err := DecodeRawJSON(raw)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"id": int64(1), "log": "x"}, decoded)
	for _, schemas := range []bool{false, true} {
		c := schemalessJSON(t, schemas)
		assert.True(t, c.WritesRawJSON())
		want, err := c.FromConnect("t", nil, nil, decoded)
		require.NoError(t, err)
		got, err := c.FromConnect("t", nil, nil, raw)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "schemas.enable=%v", schemas)
	}
	_, err = DecodeRawJSON(connect.RawJSON(`{"a":`))
	assert.Error(t, err)
}

// TestJSONMember: a top-level member, decoded; nested and missing ones
// are not found.
func TestJSONMember(t *testing.T) {
	data := []byte(`{"a":{"date":1},"date":1.5E9,"s":"x"}`)
	v, ok := JSONMember(data, "date")
	assert.True(t, ok)
	assert.Equal(t, 1.5e9, v)
	v, ok = JSONMember(data, "a")
	assert.True(t, ok)
	assert.Equal(t, map[string]any{"date": int64(1)}, v)
	_, ok = JSONMember(data, "missing")
	assert.False(t, ok)
	_, ok = JSONMember([]byte(`[1]`), "a")
	assert.False(t, ok)
	_, ok = JSONMember([]byte(`{"a":1,`), "b")
	assert.False(t, ok)
}

// FuzzAppendCanonicalJSON: whatever the input, a rewrite is what the
// converter writes back.
func FuzzAppendCanonicalJSON(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add([]byte(tc.in))
	}
	c := schemalessJSON(f, false)
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := AppendCanonicalJSON(nil, in)
		if !ok {
			return
		}
		want, readable := rewritten(t, c, in)
		if !readable || string(want) != string(got) {
			t.Fatalf("%q is rewritten as %q, the converter writes %q", in, got, want)
		}
	})
}

// BenchmarkCanonicalVersusDecode compares rewriting a 1 KiB log line with
// decoding and encoding it.
func BenchmarkCanonicalVersusDecode(b *testing.B) {
	line := []byte(`{"id":12345,"log":"` + strings.Repeat("x", 990) + `","date":1.7e9}`)
	c := schemalessJSON(b, false)
	b.Run("canonical", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = AppendCanonicalJSON(buf[:0], line)
		}
	})
	b.Run("decode-encode", func(b *testing.B) {
		for b.Loop() {
			_, v, _ := c.ToConnect("", nil, line)
			_, _ = c.FromConnect("", nil, nil, v)
		}
	})
}
