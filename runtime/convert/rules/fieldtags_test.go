package rules

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// RecordInfo.FieldTags adds a converter's inline tags to those a field's
// full name matches in Metadata.Tags, with record names (cached per
// schema) and with JSON paths; the tag cache tells a call with the hook
// from one without.
func TestExecuteFieldTags(t *testing.T) {
	md := &Metadata{Tags: map[string][]string{"acme.Order.name": {"PII"}, "$.name": {"PII"}}}
	rs := &RuleSet{DomainRules: []Rule{rule(KindTransform, TypeCELField, "'***'", func(r *Rule) { r.Tags = []string{"PII"} })}}
	e := newExec(t, Options{})
	inline := func(s *connect.Schema, f string) []string {
		switch {
		case s == orderSchema && f == "ssn":
			return []string{"PII"}
		case s == itemSchema && f == "secret":
			return []string{"OTHER", "PII"}
		}
		return nil
	}
	for _, names := range []FieldNames{RecordFieldNames, JSONPathFieldNames} {
		run := func(ft func(*connect.Schema, string) []string) any {
			t.Helper()
			out, err := e.Execute(context.Background(), ModeWrite, rs, md, orderSchema, order(), RecordInfo{FieldNames: names, FieldTags: ft})
			require.NoError(t, err)
			return out
		}
		out := run(inline)
		assert.Equal(t, "***", field(t, out, "ssn"), "inline tag")
		assert.Equal(t, "***", field(t, field(t, out, "items").([]any)[0], "secret"), "inline tag in a nested struct")
		assert.Equal(t, "***", field(t, out, "name"), "metadata tag kept")
		assert.Equal(t, "***", field(t, out, "email"), "TagsParameter kept")
		assert.Equal(t, "A1", field(t, field(t, out, "items").([]any)[0], "sku"), "untagged")

		out = run(nil)
		assert.Equal(t, "123-45-6789", field(t, out, "ssn"), "no hook: not the cached inline tags")
		assert.Equal(t, "***", field(t, out, "name"))
	}
}
