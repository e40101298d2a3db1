package celrules

import (
	"errors"
	"testing"

	"cel.dev/cel-go/cel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func eval(t *testing.T, kind Kind, expr string, vars map[string]any) any {
	t.Helper()
	ast, err := Compile(kind, expr)
	require.NoError(t, err)
	env, err := Env(kind)
	require.NoError(t, err)
	prg, err := env.Program(ast)
	require.NoError(t, err)
	out, _, err := prg.Eval(vars)
	require.NoError(t, err, expr)
	return out.Value()
}

func TestBuiltins(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"'jane@example.com'.isEmail()", true},
		{"'Jane <jane@example.com>'.isEmail()", false},
		{"'jane'.isEmail()", false},
		{"''.isEmail()", false},
		{"'jane@localhost'.isEmail()", false},
		{"'jane@example'.isEmail()", false},
		{"'jane@example.c0m'.isEmail()", false},
		{"'jane@[10.0.0.1]'.isEmail()", true},
		{"'jane@[nope]'.isEmail()", false},
		{"'db-1.example.com'.isHostname()", true},
		{"'example.com.'.isHostname()", true},
		{"'-bad.example.com'.isHostname()", false},
		{"'under_score.example.com'.isHostname()", false},
		{"'a..b'.isHostname()", false},
		{"''.isHostname()", false},
		{"'10.0.0.1'.isIpv4()", true},
		{"'10.0.0.256'.isIpv4()", false},
		{"'::1'.isIpv4()", false},
		{"'::1'.isIpv6()", true},
		{"'10.0.0.1'.isIpv6()", false},
		{"'https://example.com/x'.isUri()", true},
		{"'/relative'.isUri()", false},
		{"'https://example.com/a b'.isUri()", false},
		{"'https://example.com/{x}'.isUri()", false},
		{"'https://example.com/caf\u00e9'.isUri()", true},
		{"'/relative'.isUriRef()", true},
		{"''.isUriRef()", false},
		{"'a b'.isUriRef()", false},
		{"'%zz'.isUriRef()", false},
		{"'123e4567-e89b-12d3-a456-426614174000'.isUuid()", true},
		{"'123E4567-E89B-12D3-A456-426614174000'.isUuid()", true},
		{"'123e4567e89b12d3a456426614174000'.isUuid()", false},
		{"'123e4567-e89b-12d3-a456-42661417400g'.isUuid()", false},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			assert.Equal(t, tc.want, eval(t, Message, tc.expr, nil))
		})
	}
}

// TestEnvironment: what Confluent's executors declare compiles, in the
// environment of the rule's type, and nothing else does.
func TestEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind Kind
		expr string
		want string // "" compiles; otherwise in the error
	}{
		{"message", Message, "message.id > 0", ""},
		{"now is a timestamp", Message, "now > timestamp('2020-01-01T00:00:00Z')", ""},
		{"strings extension", Message, "message.name.upperAscii().trim() != ''", ""},
		{"math extension", Message, "math.greatest(1, 2) == 2", ""},
		{"macros", Message, "message.items.exists_one(i, i.sku == 'x')", ""},
		{"mixed numeric comparison", Message, "1 < 1.5", ""},
		{"builtin", Message, "message.email.isEmail()", ""},
		{"builtin takes a string", Message, "1.isEmail()", "found no matching overload for 'isEmail'"},
		{"field variables", Field, "'PII' in tags && typeName == 'STRING' && name != fullName ? value : message", ""},
		{"field variables are not in CEL", Message, "value > 1", "undeclared reference to 'value'"},
		{"tags are strings", Field, "tags[0] + 1 > 0", "found no matching overload for '_+_'"},
		{"encoders are not Confluent's", Message, "base64.encode(b'x') != ''", "undeclared reference to 'base64'"},
		{"unknown function", Message, "message.isEmailish()", "undeclared reference to 'isEmailish'"},
		{"syntax", Message, "message.id >", "Syntax error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.kind, tc.expr, false)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var ce *CompileError
			require.ErrorAs(t, err, &ce)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFieldVariablesRun(t *testing.T) {
	out := eval(t, Field, "'PII' in tags && typeName == 'STRING' ? value.size() : 0",
		map[string]any{"tags": []string{"PII"}, "typeName": "STRING", "value": "abc", "name": "n", "fullName": "r.n",
			"message": map[string]any{}, "now": nil})
	assert.EqualValues(t, 3, out)
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		expr, guard, body string
		ignore            bool
	}{
		{"a ; b", "a ", " b", false},
		{"a ; b ; c", "a ", " b ; c", false},
		{"b", "", "b", false},
		{"  ; b", "", " b", false},
		{"a ; b", "", "a ; b", true},
	} {
		g, b := Split(tc.expr, tc.ignore)
		assert.Equal(t, tc.guard, g, tc.expr)
		assert.Equal(t, tc.body, b, tc.expr)
	}
	assert.True(t, IgnoreGuard("TRUE"))
	assert.True(t, IgnoreGuard("true"))
	assert.False(t, IgnoreGuard("yes"))
	assert.False(t, IgnoreGuard(""))
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   Kind
		expr   string
		ignore bool
		want   string
	}{
		{"guard and body", Field, "typeName == 'STRING' ; value.replace('a', 'b')", false, ""},
		{"blank guard", Message, " ; true", false, ""},
		{"guard error is named", Field, "value ==; true", false, `compile CEL guard "value =="`},
		{"body error is named", Message, "true ; message.id >", false, `compile CEL expression " message.id >"`},
		{"missing body", Message, "true ; ", false, "missing expression"},
		{"missing expression", Message, "  ", false, "missing expression"},
		{"ignored separator compiles the whole", Message, "true ; true", true, "Syntax error"},
		{"too long", Message, "'" + string(make([]byte, MaxExprSize)) + "'", false, "expression code point size exceeds limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.kind, tc.expr, tc.ignore)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.want == "missing expression" {
				assert.True(t, errors.Is(err, ErrMissingExpr))
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	k, ok := KindOf("CEL")
	assert.True(t, ok)
	assert.Equal(t, Message, k)
	k, ok = KindOf("CEL_FIELD")
	assert.True(t, ok)
	assert.Equal(t, Field, k)
	for _, typ := range []string{"JSONATA", "ENCRYPT", "cel", ""} {
		_, ok = KindOf(typ)
		assert.False(t, ok, typ)
	}
}

// NewEnv takes the engine's extra options after the shared ones.
func TestNewEnvExtra(t *testing.T) {
	env, err := NewEnv(Message, cel.Variable("extra", cel.IntType))
	require.NoError(t, err)
	_, iss := env.Compile("extra + 1 > 0 && message.isEmail()")
	require.NoError(t, iss.Err())
}
