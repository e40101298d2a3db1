package rules

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// RecordInfo.RecordName names the records that field names and tags are
// built from, at every struct level; the tag cache keeps the tags per
// name, so one schema named two ways by two calls gets each its own.
func TestExecuteRecordName(t *testing.T) {
	md := &Metadata{Tags: map[string][]string{"pkg.Order.ssn": {"PII"}, "pkg.Item.secret": {"PII"}}}
	rs := &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCELField, "fullName", func(r *Rule) { r.Tags = []string{"PII"} })}}
	e := newExec(t, Options{})
	names := map[*connect.Schema]string{orderSchema: "pkg.Order", itemSchema: "pkg.Item"}
	run := func(rn func(*connect.Schema) string) any {
		t.Helper()
		out, err := e.Execute(context.Background(), ModeWrite, rs, md, orderSchema, order(), RecordInfo{RecordName: rn})
		require.NoError(t, err)
		return out
	}
	out := run(func(s *connect.Schema) string { return names[s] })
	assert.Equal(t, "pkg.Order.ssn", field(t, out, "ssn"))
	assert.Equal(t, "pkg.Item.secret", field(t, field(t, out, "items").([]any)[0], "secret"), "nested struct")
	assert.Equal(t, "pkg.Order.email", field(t, out, "email"), "inline tag, named by the hook")

	for name, rn := range map[string]func(*connect.Schema) string{
		"nil":   nil,
		"empty": func(*connect.Schema) string { return "" },
	} {
		out := run(rn)
		assert.Equal(t, "123-45-6789", field(t, out, "ssn"), "%s: the schema's own name, not the cached tags", name)
		assert.Equal(t, "s3cret", field(t, field(t, out, "items").([]any)[0], "secret"), name)
	}
}
