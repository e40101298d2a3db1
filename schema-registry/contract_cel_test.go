package registry

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/celrules"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/rules"
)

// The registry and the rule engine compile CEL in one environment
// (internal/celrules). These tests drive both: the registry through its
// API, the engine through runtime/convert/rules (a test-only import; the
// registry itself imports no runtime package).

// TestCELRuleRegisteredRunsInEngine: a rule using Confluent's isEmail is
// accepted at registration, and the rule set the registry serves back runs
// in the engine, passing a good address and failing a bad one.
func TestCELRuleRegisteredRunsInEngine(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	user := `{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"email","type":"string"}]}`
	rs := domainRules(
		celRule("emailOk", "message.email.isEmail()"),
		map[string]any{"name": "maskPII", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD",
			"expr": "name == 'email' ; value.isEmail() ? 'x@example.com' : value"})
	status, got := in.call(t, "POST", "/subjects/u/versions", withContract(user, nil, rs))
	require.Equal(t, 200, status, got)

	status, got = in.call(t, "GET", "/subjects/u/versions/latest", nil)
	require.Equal(t, 200, status, got)
	var served struct {
		RuleSet *rules.RuleSet `json:"ruleSet"`
	}
	require.NoError(t, json.Unmarshal([]byte(got), &served), got)
	require.NotNil(t, served.RuleSet, got)
	require.NoError(t, rules.Validate(served.RuleSet))

	schema := connect.StructBuilder().Name("User").
		Field("id", connect.Int32Schema).Field("email", connect.StringSchema).Build()
	e, err := rules.NewExecutor(rules.Options{})
	require.NoError(t, err)
	run := func(email string) (any, error) {
		v := connect.NewStruct(schema).MustPut("id", int32(1)).MustPut("email", email)
		return e.Execute(context.Background(), rules.ModeWrite, served.RuleSet, nil, schema, v, rules.RecordInfo{})
	}
	out, err := run("jane@example.com")
	require.NoError(t, err)
	assert.Equal(t, "x@example.com", out.(*connect.Struct).GetWithoutDefault("email"))
	_, err = run("not an address")
	var cond *rules.RuleConditionError
	require.True(t, errors.As(err, &cond), "%v", err)
	assert.Contains(t, err.Error(), "emailOk")
}

// TestCELRuleRefusedAlike: what the registry refuses, the engine's
// Validate refuses with the same message (celrules.Check's), and a rule
// neither environment declared before (encoders) is refused by both.
func TestCELRuleRefusedAlike(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	for _, tc := range []struct {
		name, typ, expr string
		params          map[string]string
	}{
		{"syntax", "CEL", "message.id >", nil},
		{"undeclared variable", "CEL", "value > 1", nil},
		{"field variable typed", "CEL_FIELD", "tags + 1", nil},
		{"guard", "CEL_FIELD", "typeName == 'STRING' && ; value", nil},
		{"missing body", "CEL", "message.id > 0 ;  ", nil},
		{"ignored separator", "CEL", "true ; true", map[string]string{celrules.ParamIgnoreGuard: "true"}},
		{"not a Confluent function", "CEL", "base64.encode(b'x') != ''", nil},
		{"unknown builtin", "CEL", "message.email.isPhone()", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, ok := celrules.KindOf(tc.typ)
			require.True(t, ok)
			checkErr := celrules.Check(kind, tc.expr, celrules.IgnoreGuard(tc.params[celrules.ParamIgnoreGuard]))
			require.Error(t, checkErr)
			want := checkErr.Error()

			r := map[string]any{"name": "r", "kind": "CONDITION", "mode": "WRITE", "type": tc.typ, "expr": tc.expr}
			if tc.params != nil {
				r["params"] = tc.params
			}
			status, got := in.call(t, "POST", "/subjects/bad/versions", withContract(userV1, nil, domainRules(r)))
			require.Equal(t, 422, status, got)
			var body struct {
				Code    int    `json:"error_code"`
				Message string `json:"message"`
			}
			require.NoError(t, json.Unmarshal([]byte(got), &body), got)
			assert.Equal(t, codeInvalidRuleSet, body.Code)
			assert.Equal(t, "Rule 'r': "+want, body.Message)

			err := rules.Validate(&rules.RuleSet{DomainRules: []rules.Rule{{
				Name: "r", Kind: rules.KindCondition, Mode: rules.ModeWrite, Type: tc.typ, Expr: tc.expr, Params: tc.params}}})
			require.ErrorIs(t, err, rules.ErrInvalidRuleSet)
			assert.Equal(t, `invalid rule set: rule "r": `+want, err.Error())
		})
	}
}
