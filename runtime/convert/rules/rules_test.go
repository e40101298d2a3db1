package rules

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"cel.dev/cel-go/common/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

var (
	itemSchema = connect.StructBuilder().Name("acme.Item").
			Field("sku", connect.StringSchema).
			Field("secret", connect.StringSchema).Build()
	orderSchema = connect.StructBuilder().Name("acme.Order").
			Field("id", connect.Int64Schema).
			Field("ssn", connect.StringSchema).
			Field("email", connect.NewSchemaBuilder(connect.TypeString).Param(TagsParameter, "PII, CONTACT").Build()).
			Field("name", connect.StringSchema).
			Field("qty", connect.Int32Schema).
			Field("price", connect.Float64Schema).
			Field("note", connect.OptionalStringSchema).
			Field("items", connect.ArrayOf(itemSchema)).Build()
	testMetadata = &Metadata{Tags: map[string][]string{
		"acme.Order.ssn": {"PII"},
		"**.secret":      {"PII"},
	}, Properties: map[string]string{ParamDLQTopic: "from-metadata"}}
)

func order() *connect.Struct {
	return connect.NewStruct(orderSchema).
		MustPut("id", int64(7)).
		MustPut("ssn", "123-45-6789").
		MustPut("email", "jane@example.com").
		MustPut("name", "Jane").
		MustPut("qty", int32(3)).
		MustPut("price", 9.5).
		MustPut("items", []any{
			connect.NewStruct(itemSchema).MustPut("sku", "A1").MustPut("secret", "s3cret"),
		})
}

func newExec(t testing.TB, opts Options) *Executor {
	t.Helper()
	e, err := NewExecutor(opts)
	require.NoError(t, err)
	return e
}

func rule(kind Kind, typ, expr string, mods ...func(*Rule)) Rule {
	r := Rule{Name: "r1", Kind: kind, Mode: ModeWriteRead, Type: typ, Expr: expr}
	for _, m := range mods {
		m(&r)
	}
	return r
}

func field(t *testing.T, v any, name string) any {
	t.Helper()
	st, ok := v.(*connect.Struct)
	require.True(t, ok, "want a struct, got %T", v)
	x, err := st.Get(name)
	require.NoError(t, err)
	return x
}

func TestExecute(t *testing.T) {
	pii := func(r *Rule) { r.Tags = []string{"PII"} }
	type check func(t *testing.T, in, out any, err error)
	unchanged := func(t *testing.T, in, out any, err error) {
		require.NoError(t, err)
		assert.Same(t, in, out)
	}
	failsWith := func(action string, parts ...string) check {
		return func(t *testing.T, in, out any, err error) {
			var re *RuleError
			require.ErrorAs(t, err, &re, "got %v", err)
			assert.Equal(t, action, re.Action)
			for _, p := range parts {
				assert.Contains(t, err.Error(), p)
			}
			assert.Nil(t, out)
		}
	}
	cases := []struct {
		name  string
		mode  Mode
		rules []Rule
		check check
	}{
		{"condition passes", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "message.qty > 0 && size(message.ssn) == 11")}, unchanged},
		{"condition fails with the rule's name and expr", ModeWrite,
			[]Rule{rule(KindCondition, TypeCEL, "message.qty > 100", func(r *Rule) { r.Name = "qtyLimit" })},
			func(t *testing.T, in, out any, err error) {
				failsWith(ActionError, "qtyLimit", "message.qty > 100")(t, in, out, err)
				var ce *RuleConditionError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, "qtyLimit", ce.Rule.Name)
			}},
		{"condition doc in message", ModeWrite,
			[]Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Doc = "orders need stock" })},
			failsWith(ActionError, "orders need stock", "r1")},
		{"non-bool condition passes, as Confluent's clients", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "'yes'")}, unchanged},
		{"reading a missing field fails the rule", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "message.nope == 1")},
			failsWith(ActionError, "no such key")},
		{"transform replaces the message", ModeWrite,
			[]Rule{rule(KindTransform, TypeCEL, "{'id': message.id + 1, 'ssn': 'gone', 'email': message.email, 'name': message.name.upperAscii(), 'qty': message.qty, 'price': message.price, 'items': message.items}")},
			func(t *testing.T, in, out any, err error) {
				require.NoError(t, err)
				assert.Equal(t, int64(8), field(t, out, "id"))
				assert.Equal(t, "gone", field(t, out, "ssn"))
				assert.Equal(t, "JANE", field(t, out, "name"))
				assert.Equal(t, int32(3), field(t, out, "qty"))
				assert.Equal(t, "123-45-6789", field(t, in, "ssn"), "input untouched")
				require.NoError(t, out.(*connect.Struct).Validate())
			}},
		{"transform returning message is the identity", ModeWrite, []Rule{rule(KindTransform, TypeCEL, "message")}, unchanged},
		{"transform returning null fails", ModeWrite, []Rule{rule(KindTransform, TypeCEL, "null")}, failsWith(ActionError, "null")},
		{"field rule masks every PII field", ModeWrite,
			[]Rule{rule(KindTransform, TypeCELField, "typeName == 'STRING' ; 'XXX-' + value.substring(size(value) - 4)", pii)},
			func(t *testing.T, in, out any, err error) {
				require.NoError(t, err)
				assert.Equal(t, "XXX-6789", field(t, out, "ssn"), "metadata tag")
				assert.Equal(t, "XXX-.com", field(t, out, "email"), "inline tag")
				assert.Equal(t, "Jane", field(t, out, "name"), "untagged")
				item := field(t, out, "items").([]any)[0]
				assert.Equal(t, "XXX-cret", field(t, item, "secret"), "**.secret in an array of records")
				assert.Equal(t, "A1", field(t, item, "sku"))
				assert.Equal(t, "123-45-6789", field(t, in, "ssn"), "input untouched")
				assert.Equal(t, "s3cret", field(t, field(t, in, "items").([]any)[0], "secret"))
			}},
		{"field rule variables", ModeWrite,
			[]Rule{rule(KindTransform, TypeCELField, "name == 'ssn' ; fullName + '|' + typeName + '|' + tags.join(',') + '|' + string(message.id)")},
			func(t *testing.T, in, out any, err error) {
				require.NoError(t, err)
				assert.Equal(t, "acme.Order.ssn|STRING|PII|7", field(t, out, "ssn"))
			}},
		{"field rule without tags sees every field; guard picks", ModeWrite,
			[]Rule{rule(KindTransform, TypeCELField, "typeName == 'INT' ; value * 2")},
			func(t *testing.T, in, out any, err error) {
				require.NoError(t, err)
				assert.Equal(t, int32(6), field(t, out, "qty"))
				assert.Equal(t, int64(7), field(t, out, "id"), "LONG is not INT")
			}},
		{"null field is typeName NULL", ModeWrite,
			[]Rule{rule(KindTransform, TypeCELField, "typeName == 'NULL' ; 'was null'")},
			func(t *testing.T, in, out any, err error) {
				require.NoError(t, err)
				assert.Equal(t, "was null", field(t, out, "note"))
			}},
		{"field condition passes", ModeWrite, []Rule{rule(KindCondition, TypeCELField, "size(value) > 5", pii)}, unchanged},
		{"field condition fails", ModeWrite, []Rule{rule(KindCondition, TypeCELField, "value.contains('-')", pii)},
			failsWith(ActionError, "value.contains('-')")},
		{"guard error skips the body", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "message.nope ; false")}, unchanged},
		{"body error after a true guard fails", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "true ; message.nope == 1")},
			failsWith(ActionError, "message.nope == 1", "no such key")},
		{"non-bool guard skips", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "'yes' ; false")}, unchanged},
		{"guard false skips a condition", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "message.qty > 100 ; false")}, unchanged},
		{"cel.ignore.guard.separator", ModeWrite,
			[]Rule{rule(KindCondition, TypeCEL, "false ; true", func(r *Rule) { r.Params = map[string]string{ParamIgnoreGuard: "true"} })},
			failsWith(ActionError, "compile")},
		{"disabled rule does not run", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Disabled = true })}, unchanged},
		{"WRITE rule skipped on READ", ModeRead, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Mode = ModeWrite })}, unchanged},
		{"READ rule skipped on WRITE", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Mode = ModeRead })}, unchanged},
		{"READ rule runs on READ", ModeRead, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Mode = ModeRead })}, failsWith(ActionError)},
		{"WRITEREAD runs on READ", ModeRead, []Rule{rule(KindCondition, TypeCEL, "false")}, failsWith(ActionError)},
		{"onFailure NONE goes on", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.OnFailure = "NONE" })}, unchanged},
		{"onFailure DLQ", ModeWrite,
			[]Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) {
				r.OnFailure = "DLQ"
				r.Params = map[string]string{ParamDLQTopic: "bad-orders", ParamDLQAutoFlush: "true"}
			})},
			func(t *testing.T, in, out any, err error) {
				failsWith(ActionDLQ)(t, in, out, err)
				var re *RuleError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "bad-orders", re.DLQTopic)
				assert.True(t, re.DLQAutoFlush)
				h, ok := re.DLQHeaders().Last(HeaderRuleName)
				require.True(t, ok)
				assert.Equal(t, "r1", h.Value)
				h, _ = re.DLQHeaders().Last(HeaderRuleException)
				assert.Contains(t, h.Value, "expr 'false'")
			}},
		{"DLQ topic from metadata properties", ModeWrite,
			[]Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.OnFailure = "DLQ" })},
			func(t *testing.T, in, out any, err error) {
				var re *RuleError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, "from-metadata", re.DLQTopic)
			}},
		{"onSuccess ERROR fails a passing record", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "true", func(r *Rule) { r.OnSuccess = "ERROR" })},
			failsWith(ActionError, "r1")},
		{"paired action: write half", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.OnFailure = "NONE,ERROR" })}, unchanged},
		{"paired action: read half", ModeRead, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.OnFailure = "NONE,ERROR" })}, failsWith(ActionError)},
		{"unknown action", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.OnFailure = "PAGE_SOMEONE" })},
			failsWith("PAGE_SOMEONE", "unknown rule action")},
		{"unknown rule kind fails", ModeWrite, []Rule{rule("VALIDATE", TypeCEL, "true")}, failsWith(ActionError, `unknown rule kind "VALIDATE"`)},
		{"empty mode is WRITEREAD, paired actions too", ModeRead, []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Mode = ""; r.OnFailure = "ERROR,NONE" })}, unchanged},
		{"unknown rule type fails", ModeWrite, []Rule{rule(KindTransform, "ENCRYPT", "")}, failsWith(ActionError, "no rule executor of type \"ENCRYPT\"")},
		{"compile error surfaced", ModeWrite, []Rule{rule(KindCondition, TypeCEL, "message.qty >")}, failsWith(ActionError, "compile CEL expression", "Syntax error")},
		{"first failing rule stops the rest", ModeWrite,
			[]Rule{
				rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Name = "first" }),
				rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Name = "second" }),
			}, failsWith(ActionError, "first")},
	}
	e := newExec(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := order()
			out, err := e.Execute(context.Background(), tc.mode, &RuleSet{DomainRules: tc.rules}, testMetadata,
				orderSchema, in, RecordInfo{Topic: "orders", Subject: "orders-value"})
			tc.check(t, in, out, err)
		})
	}
}

func TestExecuteOrder(t *testing.T) {
	// Transforms chain in order on WRITE and in reverse order on READ.
	rs := &RuleSet{DomainRules: []Rule{
		rule(KindTransform, TypeCELField, "name == 'name' ; value + '-a'", func(r *Rule) { r.Name = "a" }),
		rule(KindTransform, TypeCELField, "name == 'name' ; value + '-b'", func(r *Rule) { r.Name = "b" }),
	}}
	e := newExec(t, Options{})
	for mode, want := range map[Mode]string{ModeWrite: "Jane-a-b", ModeRead: "Jane-b-a"} {
		out, err := e.Execute(context.Background(), mode, rs, nil, orderSchema, order(), RecordInfo{})
		require.NoError(t, err)
		assert.Equal(t, want, field(t, out, "name"), mode)
	}
}

func TestExecuteSameTagsTransformRunsOnce(t *testing.T) {
	rs := &RuleSet{DomainRules: []Rule{
		rule(KindTransform, TypeCELField, "value + '-a'", func(r *Rule) { r.Name = "a"; r.Tags = []string{"PII"} }),
		rule(KindTransform, TypeCELField, "value + '-b'", func(r *Rule) { r.Name = "b"; r.Tags = []string{"PII"} }),
	}}
	out, err := newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, testMetadata, orderSchema, order(), RecordInfo{})
	require.NoError(t, err)
	assert.Equal(t, "123-45-6789-a", field(t, out, "ssn"))
}

func TestExecuteSkipsRuleNamedInHeader(t *testing.T) {
	rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "false", func(r *Rule) { r.Name = "checkQty" })}}
	e := newExec(t, Options{})
	in := order()
	hdrs := connect.Headers{{Key: HeaderRuleName, Value: []byte("checkQty")}}
	out, err := e.Execute(context.Background(), ModeRead, rs, nil, orderSchema, in, RecordInfo{Headers: hdrs})
	require.NoError(t, err)
	assert.Same(t, in, out)
	_, err = e.Execute(context.Background(), ModeRead, rs, nil, orderSchema, in, RecordInfo{})
	require.Error(t, err)
}

func TestExecuteEnableAt(t *testing.T) {
	e := newExec(t, Options{})
	for at, runs := range map[string]bool{"": true, "ALL": true, "CLIENT": true, "SERVER": false, "NONE": false} {
		rs := &RuleSet{EnableAt: at, DomainRules: []Rule{rule(KindCondition, TypeCEL, "false")}}
		_, err := e.Execute(context.Background(), ModeWrite, rs, nil, orderSchema, order(), RecordInfo{})
		assert.Equal(t, runs, err != nil, "enableAt %q", at)
	}
}

func TestExecuteJSONPathNames(t *testing.T) {
	md := &Metadata{Tags: map[string][]string{"$.ssn": {"PII"}, "$.items[*].secret": {"PII"}}}
	rs := &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCELField, "fullName", func(r *Rule) { r.Tags = []string{"PII"} })}}
	out, err := newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, md, orderSchema, order(),
		RecordInfo{FieldNames: JSONPathFieldNames})
	require.NoError(t, err)
	assert.Equal(t, "$.ssn", field(t, out, "ssn"))
	assert.Equal(t, "$.email", field(t, out, "email"), "inline tag")
	assert.Equal(t, "$.items[0].secret", field(t, field(t, out, "items").([]any)[0], "secret"))
}

func TestExecuteCostLimit(t *testing.T) {
	// A million comprehension steps: the default limit stops it.
	hostile := "[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, " +
		"[1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, [1,2,3,4,5,6,7,8,9,10].all(f, a+b+c+d+e+f > 0))))))"
	rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, hostile)}}
	_, err := newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, nil, orderSchema, order(), RecordInfo{})
	require.ErrorContains(t, err, "cost limit exceeded")

	cheap := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "[1,2,3].all(x, x < message.qty + 10)")}}
	_, err = newExec(t, Options{CostLimit: 5}).Execute(context.Background(), ModeWrite, cheap, nil, orderSchema, order(), RecordInfo{})
	require.ErrorContains(t, err, "cost limit exceeded", "a custom limit applies")
	_, err = newExec(t, Options{}).Execute(context.Background(), ModeWrite, cheap, nil, orderSchema, order(), RecordInfo{})
	require.NoError(t, err)
}

func TestExecuteCostLimitOnRecordSizedLoops(t *testing.T) {
	// Loops over the record's own lists have no static bound: they are
	// tracked, and a quadratic one over 2,000 items hits the limit.
	items := make([]any, 2000)
	for i := range items {
		items[i] = connect.NewStruct(itemSchema).MustPut("sku", "s").MustPut("secret", "x")
	}
	in := order().MustPut("items", items)
	rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL,
		"message.items.all(a, message.items.all(b, a.sku == b.sku))")}}
	_, err := newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, nil, orderSchema, in, RecordInfo{})
	require.ErrorContains(t, err, "cost limit exceeded")
	// A linear rule over the same record runs.
	rs = &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "message.items.all(a, a.sku == 's')")}}
	_, err = newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, nil, orderSchema, in, RecordInfo{})
	require.NoError(t, err)
}

// TestBuiltins: Confluent's string checks, now and the math extension run
// in the engine (the table of the checks themselves is internal/celrules').
func TestBuiltins(t *testing.T) {
	e := newExec(t, Options{})
	for _, tc := range []struct {
		expr string
		pass bool
	}{
		{"message.email.isEmail()", true},
		{"message.name.isEmail()", false},
		{"'10.0.0.1'.isIpv4() && '::1'.isIpv6()", true},
		{"now > timestamp('2020-01-01T00:00:00Z')", true},
		{"now < timestamp('2020-01-01T00:00:00Z')", false},
		{"math.greatest(message.qty, 1) >= 1", true},
	} {
		rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, tc.expr)}}
		_, err := e.Execute(context.Background(), ModeWrite, rs, nil, orderSchema, order(), RecordInfo{})
		assert.Equal(t, tc.pass, err == nil, "%s: %v", tc.expr, err)
	}
}

func TestExecuteCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "[1,2,3].all(x, x > 0)")}}
	_, err := newExec(t, Options{}).Execute(ctx, ModeWrite, rs, nil, orderSchema, order(), RecordInfo{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestExecuteMigration(t *testing.T) {
	rs := &RuleSet{MigrationRules: []Rule{{Name: "m", Kind: KindTransform, Mode: ModeUpgrade, Type: TypeJSONata, Expr: "$"}}}
	_, err := newExec(t, Options{}).Execute(context.Background(), ModeUpgrade, rs, nil, orderSchema, order(), RecordInfo{})
	require.ErrorIs(t, err, ErrMigrationUnsupported)
	in := order()
	out, err := newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, nil, orderSchema, in, RecordInfo{})
	require.NoError(t, err, "migration rules do not run on WRITE")
	assert.Same(t, in, out)
}

func TestExecuteLogicalAndNonStruct(t *testing.T) {
	e := newExec(t, Options{})
	// A non-struct value binds message to the value itself.
	rs := &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCEL, "message + '!'")}}
	out, err := e.Execute(context.Background(), ModeWrite, rs, nil, connect.StringSchema, "hi", RecordInfo{})
	require.NoError(t, err)
	assert.Equal(t, "hi!", out)
	// Timestamps are int milliseconds, as in an Avro record.
	ts := connect.TimestampSchema().Build()
	s := connect.StructBuilder().Name("T").Field("at", ts).Build()
	in := connect.NewStruct(s).MustPut("at", connect.TimestampFromMillis(1000))
	rs = &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCELField, "typeName == 'LONG' ; value + 500")}}
	out, err = e.Execute(context.Background(), ModeWrite, rs, nil, s, in, RecordInfo{})
	require.NoError(t, err)
	assert.Equal(t, connect.TimestampFromMillis(1500), field(t, out, "at"))
}

func TestExecuteConcurrent(t *testing.T) {
	e := newExec(t, Options{CacheSize: 2})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				expr := "message.qty == 3"
				if (g+i)%3 == 0 {
					expr = "message.qty != 4" // churns the two-entry cache
				}
				rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, expr),
					rule(KindTransform, TypeCELField, "'X'", func(r *Rule) { r.Name = "mask"; r.Tags = []string{"PII"} })}}
				out, err := e.Execute(context.Background(), ModeWrite, rs, testMetadata, orderSchema, order(), RecordInfo{})
				if err != nil || out.(*connect.Struct).GetWithoutDefault("ssn") != "X" {
					t.Errorf("got %v, %v", out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, len(e.progs.cache), 2)
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		name, pattern string
		want          bool
	}{
		{"eve", "eve*", true},
		{"alice.bob.eve", "a*.bob.eve", true},
		{"alice.bob.eve", "a*.bob.e*", true},
		{"alice.bob.eve", "a*", false},
		{"alice.bob.eve", "a**", true},
		{"alice.bob.eve", "alice.bob*", false},
		{"alice.bob.eve", "alice.bob**", true},
		{"acme.Order.ssn", "**.ssn", true},
		{"acme.Order.ssn", "Order.ssn", false},
		{"acme.Order.ssn", "acme.Order.s?n", true},
		{"acme.Order.ssn", "acme.Order.*", true},
		{"acme.Order.ssn", "acme.**.*", true},
		{"acme.Orderxssn", "acme.Order\\.ssn", false},
		{"$.items[0].secret", "$.items[*].secret", true},
	} {
		assert.Equal(t, tc.want, MatchPath(tc.name, tc.pattern), "%s ~ %s", tc.name, tc.pattern)
	}
}

func TestRuleSetJSON(t *testing.T) {
	// A ruleSet as Confluent's REST API returns it.
	doc := `{"domainRules":[{"name":"checkSsn","kind":"CONDITION","mode":"WRITE","type":"CEL",
	  "expr":"size(message.ssn) == 11","onFailure":"DLQ","params":{"dlq.topic":"bad"},"tags":["b","a","b"]},
	  {"name":"maskPii","type":"CEL_FIELD","expr":"'X'"}],
	  "migrationRules":[{"name":"up","kind":"TRANSFORM","mode":"UPGRADE","type":"JSONATA","expr":"$"}]}`
	var rs RuleSet
	require.NoError(t, json.Unmarshal([]byte(doc), &rs))
	require.Len(t, rs.DomainRules, 2)
	assert.Equal(t, []string{"a", "b"}, rs.DomainRules[0].Tags, "sorted, no duplicates")
	assert.Equal(t, KindTransform, rs.DomainRules[1].Kind, "default kind")
	assert.Equal(t, ModeWriteRead, rs.DomainRules[1].Mode, "default mode")
	out, err := json.Marshal(rs.DomainRules[1])
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"maskPii","kind":"TRANSFORM","mode":"WRITEREAD","type":"CEL_FIELD","expr":"'X'","disabled":false}`, string(out))

	md := Metadata{Tags: map[string][]string{"**.ssn": {"PII"}}, Properties: map[string]string{"owner": "team"}, Sensitive: []string{"k"}}
	out, err = json.Marshal(md)
	require.NoError(t, err)
	assert.JSONEq(t, `{"tags":{"**.ssn":["PII"]},"properties":{"owner":"team"},"sensitive":["k"]}`, string(out))
}

func TestValidate(t *testing.T) {
	ok := func(r *Rule) {}
	for _, tc := range []struct {
		name string
		rs   RuleSet
		want string // "" for valid
	}{
		{"valid", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "message.a > 1", ok),
			rule(KindTransform, TypeCELField, "typeName == 'STRING' ; value.replace('a', 'b')", func(r *Rule) { r.Name = "r2" }),
			rule(KindTransform, "ENCRYPT", "", func(r *Rule) { r.Name = "r3" })}}, ""},
		{"compile error", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "message.a >")}}, "Syntax error"},
		{"guard compile error", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCELField, "value ==; true")}}, "Syntax error"},
		{"undeclared variable", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "value > 1")}}, "undeclared reference to 'value'"},
		{"unknown kind", RuleSet{DomainRules: []Rule{rule("VALIDATE", TypeCEL, "true")}}, `unknown rule kind "VALIDATE"`},
		{"bad mode for domain", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "true", func(r *Rule) { r.Mode = ModeUpgrade })}}, "domain rules can only be WRITE, READ, WRITEREAD"},
		{"paired action needs WRITEREAD", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "true", func(r *Rule) { r.Mode = ModeWrite; r.OnFailure = "NONE,ERROR" })}}, "multiple actions only valid"},
		{"unknown action", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "true", func(r *Rule) { r.OnSuccess = "EMAIL" })}}, `unknown rule action "EMAIL"`},
		{"bad name", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "true", func(r *Rule) { r.Name = "1x" })}}, "illegal character"},
		{"duplicate name", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, "true"), rule(KindCondition, TypeCEL, "true")}}, "duplicate rule name"},
		{"missing type", RuleSet{DomainRules: []Rule{rule(KindCondition, "", "true")}}, "missing rule type"},
		{"missing expr", RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, " ")}}, "missing expression"},
		{"JSONata migration", RuleSet{MigrationRules: []Rule{{Name: "up", Kind: KindTransform, Mode: ModeUpgrade, Type: "JSONATA", Expr: "$"}}},
			"migration rules of type JSONATA are not supported"},
		{"bad enableAt", RuleSet{EnableAt: "SOMETIMES"}, "enableAt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(&tc.rs)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidRuleSet)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Every problem is reported.
	err := Validate(&RuleSet{DomainRules: []Rule{rule("X", TypeCEL, "(", func(r *Rule) { r.Name = "" })}})
	require.Error(t, err)
	assert.Equal(t, 3, strings.Count(err.Error(), "invalid rule set:"), err.Error())
	assert.True(t, errors.Is(err, ErrInvalidRuleSet))
}

func TestExecuteFieldBindingsPerEvaluation(t *testing.T) {
	// One Execute reuses one activation for every evaluation: each field
	// must see its own name, fullName, tags and value, and a message rule
	// after a field rule the whole record again.
	rs := &RuleSet{DomainRules: []Rule{
		rule(KindCondition, TypeCEL, "message.name == 'Jane'", func(r *Rule) { r.Name = "before" }),
		rule(KindTransform, TypeCELField, "typeName == 'STRING' ; name + '|' + fullName + '|' + string(size(tags)) + '|' + value",
			func(r *Rule) { r.Name = "label" }),
		rule(KindCondition, TypeCEL, "message.ssn == 'ssn|acme.Order.ssn|1|123-45-6789' && message.items[0].sku == 'sku|acme.Item.sku|0|A1'",
			func(r *Rule) { r.Name = "after" }),
	}}
	out, err := newExec(t, Options{}).Execute(context.Background(), ModeWrite, rs, testMetadata, orderSchema, order(), RecordInfo{})
	require.NoError(t, err)
	assert.Equal(t, "email|acme.Order.email|2|jane@example.com", field(t, out, "email"))
	assert.Equal(t, "name|acme.Order.name|0|Jane", field(t, out, "name"))
	assert.Nil(t, field(t, out, "note"))
	item := field(t, out, "items").([]any)[0]
	assert.Equal(t, "secret|acme.Item.secret|1|s3cret", field(t, item, "secret"))
}

func TestExecuteGuardedProgramsKeyedByGuardAndBody(t *testing.T) {
	// Guarded programs are cached by (guard, body): rules sharing a body or
	// a guard, or a body with and without a guard, stay apart.
	e := newExec(t, Options{})
	run := func(expr string) *connect.Struct {
		t.Helper()
		rs := &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCELField, expr)}}
		out, err := e.Execute(context.Background(), ModeWrite, rs, nil, orderSchema, order(), RecordInfo{})
		require.NoError(t, err)
		return out.(*connect.Struct)
	}
	for range 2 { // the second round runs from the cache
		out := run("name == 'ssn' ; 'A'")
		assert.Equal(t, "A", field(t, out, "ssn"))
		assert.Equal(t, "Jane", field(t, out, "name"))
		out = run("name == 'name' ; 'A'")
		assert.Equal(t, "123-45-6789", field(t, out, "ssn"))
		assert.Equal(t, "A", field(t, out, "name"))
		out = run("name == 'name' ; 'B'")
		assert.Equal(t, "B", field(t, out, "name"))
		out = run("typeName == 'STRING' ? 'C' : value")
		assert.Equal(t, "C", field(t, out, "ssn"))
		out = run("typeName == 'LONG' ; typeName == 'STRING' ? 'C' : value") // the body above, guarded
		assert.Equal(t, "123-45-6789", field(t, out, "ssn"))
	}
}

func TestExecuteConcurrentGuarded(t *testing.T) {
	// Executions sharing an Executor (and a churning two-entry cache) each
	// bind their own fields.
	e := newExec(t, Options{CacheSize: 2})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				target := []string{"ssn", "name", "email"}[(g+i)%3]
				rs := &RuleSet{DomainRules: []Rule{
					rule(KindTransform, TypeCELField, "name == '"+target+"' ; name + value"),
					rule(KindCondition, TypeCEL, "message.qty == 3", func(r *Rule) { r.Name = "c" })}}
				in := order()
				out, err := e.Execute(context.Background(), ModeWrite, rs, testMetadata, orderSchema, in, RecordInfo{})
				if err != nil {
					t.Error(err)
					return
				}
				for _, f := range []string{"ssn", "name", "email"} {
					want := in.GetWithoutDefault(f).(string)
					if f == target {
						want = f + want
					}
					if got := out.(*connect.Struct).GetWithoutDefault(f); got != want {
						t.Errorf("%s: got %v, want %v", f, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestListValues(t *testing.T) {
	// A Connect list reads in CEL as CEL's own list would: its size without
	// converting an element, everything else as the converted list.
	ts := connect.TimestampSchema().Build()
	s := connect.StructBuilder().Name("L").
		Field("tags", connect.ArrayOf(connect.StringSchema)).
		Field("at", connect.ArrayOf(ts)).
		Field("none", connect.ArrayOf(connect.StringSchema)).Build()
	in := connect.NewStruct(s).MustPut("tags", []any{"a", "b", "c"}).
		MustPut("at", []any{connect.TimestampFromMillis(1000)}).MustPut("none", []any{})
	e := newExec(t, Options{})
	for _, expr := range []string{
		"size(message.tags) == 3",
		"message.tags.size() == 3 && size(message.none) == 0",
		"message.tags[1] == 'b'",
		"'c' in message.tags && !('d' in message.tags)",
		"message.tags == ['a', 'b', 'c'] && ['a', 'b', 'c'] == message.tags",
		"message.tags != ['a', 'b'] && ['a', 'b', 'd'] != message.tags",
		"message.tags + ['d'] == ['a', 'b', 'c', 'd'] && ['z'] + message.tags == ['z', 'a', 'b', 'c']",
		"message.tags.exists(t, t == 'c') && message.tags.all(t, size(t) == 1)",
		"message.tags.map(t, t + '!') == ['a!', 'b!', 'c!'] && message.tags.filter(t, t > 'a') == ['b', 'c']",
		"message.at[0] == 1000 && message.at == [1000]",
		"message.tags.join('-') == 'a-b-c'",
		"message.none == [] && type(message.tags) == list",
		"dyn(message.tags)[2] == 'c'",
	} {
		rs := &RuleSet{DomainRules: []Rule{rule(KindCondition, TypeCEL, expr)}}
		_, err := e.Execute(context.Background(), ModeWrite, rs, nil, s, in, RecordInfo{})
		assert.NoError(t, err, expr)
	}
	// A transform returning a list converts it back through the schema.
	rs := &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCEL,
		"{'tags': message.tags + ['d'], 'at': message.at.map(x, x + 1), 'none': message.none}")}}
	out, err := e.Execute(context.Background(), ModeWrite, rs, nil, s, in, RecordInfo{})
	require.NoError(t, err)
	assert.Equal(t, []any{"a", "b", "c", "d"}, field(t, out, "tags"))
	assert.Equal(t, []any{connect.TimestampFromMillis(1001)}, field(t, out, "at"))
	// A schemaless list converts to its natural Go value.
	rs = &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCEL, "message")}}
	out, err = e.Execute(context.Background(), ModeWrite, rs, nil, nil, []any{"x", int64(2)}, RecordInfo{})
	require.NoError(t, err)
	assert.Equal(t, []any{"x", int64(2)}, out)

	l := toCEL(s.Field("tags").Schema, []any{"a", "b"}).(*listVal)
	assert.Equal(t, types.Int(2), l.Size())
	assert.Nil(t, l.conv, "size converts no element")
}
