package registry

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseJSON(t testing.TB, schema string, refs ...ResolvedReference) Parsed {
	t.Helper()
	p, err := JSONFormat{}.Parse(schema, refs)
	require.NoError(t, err)
	return p
}

// jsonKinds extracts the difference types from messages.
func jsonKinds(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		_, after, _ := strings.Cut(m, "type=")
		out = append(out, strings.TrimSuffix(after, "}"))
	}
	return out
}

func TestJSONFormatParse(t *testing.T) {
	p := parseJSON(t, `{ "title": "Person", "type": "object",
		"properties": { "b": {"type": "string"}, "a": {"type": "integer"} } }`)
	assert.Equal(t, TypeJSON, JSONFormat{}.Type())
	assert.Equal(t, `{"title":"Person","type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}}}`, p.Canonical())
	assert.Equal(t, `{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"title":"Person","type":"object"}`, p.Normalized())
	assert.Equal(t, "Person", p.Name())
	assert.Empty(t, parseJSON(t, `true`).Name())
}

func TestJSONFormatParseInvalid(t *testing.T) {
	for name, schema := range map[string]string{
		"not JSON":          `{"type":`,
		"not a schema":      `42`,
		"bad type":          `{"type": "strin"}`,
		"bad keyword value": `{"type": "string", "maxLength": -1}`,
		"unresolved ref":    `{"$ref": "other.json"}`,
		"remote ref":        `{"$ref": "https://example.com/s.json"}`,
		"draft 2020 bad":    `{"$schema": "https://json-schema.org/draft/2020-12/schema", "prefixItems": 3}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := JSONFormat{}.Parse(schema, nil)
			require.Error(t, err)
		})
	}
}

func TestJSONFormatReferences(t *testing.T) {
	address := ResolvedReference{
		Reference: Reference{Name: "address.json", Subject: "address", Version: 1},
		Type:      TypeJSON,
		Schema:    `{"type":"object","properties":{"street":{"type":"string"}},"additionalProperties":false}`,
	}
	const person = `{"$id": "https://example.com/person.json", "type": "object",
		"properties": {"home": {"$ref": "address.json"}}}`
	old := parseJSON(t, person, address)
	// The same reference name, but the referenced schema now drops street.
	narrower := address
	narrower.Schema = `{"type":"object","properties":{},"additionalProperties":false}`
	updated := parseJSON(t, person, narrower)
	assert.Empty(t, old.ReadIncompatibilities(old))
	assert.Equal(t, []string{"Found incompatible change: Difference{jsonPath='#/properties/home/properties/street', type=PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL}"},
		updated.ReadIncompatibilities(old))

	// A schema without $id resolves names against its own location, and
	// local definitions are followed.
	local := parseJSON(t, `{"properties":{"a":{"$ref":"#/definitions/a"},"b":{"$ref":"address.json"}},
		"definitions":{"a":{"type":"integer"}}}`, address)
	localNumber := parseJSON(t, `{"properties":{"a":{"$ref":"#/definitions/a"},"b":{"$ref":"address.json"}},
		"definitions":{"a":{"type":"number"}}}`, address)
	assert.Empty(t, localNumber.ReadIncompatibilities(local))
	assert.Equal(t, []string{"TYPE_NARROWED"}, jsonKinds(local.ReadIncompatibilities(localNumber)))

	// A recursive schema terminates.
	tree := parseJSON(t, `{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#"}}}}`)
	assert.Empty(t, tree.ReadIncompatibilities(tree))
}

// TestJSONCompatibilityMatrix checks BACKWARD (reader = new) and FORWARD
// (reader = old) for the changes Confluent documents.
func TestJSONCompatibilityMatrix(t *testing.T) {
	const (
		open   = `"additionalProperties": true`
		closed = `"additionalProperties": false`
	)
	obj := func(model, props, required string) string {
		return `{"type":"object",` + model + `,"properties":{` + props + `},"required":[` + required + `]}`
	}
	tests := []struct {
		name         string
		old, new     string
		backward     []string // incompatibilities of new reading old
		forward      []string // incompatibilities of old reading new
		skipEquality bool
	}{
		{name: "identical", old: obj(open, `"a":{"type":"string"}`, ``), new: obj(open, `"a":{"type":"string"}`, ``)},
		{
			name: "optional field added, open", old: obj(open, `"a":{"type":"string"}`, ``),
			new:      obj(open, `"a":{"type":"string"},"b":{"type":"string"}`, ``),
			backward: []string{"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"},
		},
		{
			name: "optional field added, closed", old: obj(closed, `"a":{"type":"string"}`, ``),
			new:     obj(closed, `"a":{"type":"string"},"b":{"type":"string"}`, ``),
			forward: []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
		},
		{
			name: "required field added, closed", old: obj(closed, `"a":{"type":"string"}`, ``),
			new:      obj(closed, `"a":{"type":"string"},"b":{"type":"string"}`, `"b"`),
			backward: []string{"REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"},
			forward:  []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
		},
		{
			name: "required field with default added, closed", old: obj(closed, `"a":{"type":"string"}`, ``),
			new:     obj(closed, `"a":{"type":"string"},"b":{"type":"string","default":"x"}`, `"b"`),
			forward: []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
		},
		{
			name: "existing field made required", old: obj(open, `"a":{"type":"string"}`, ``),
			new:      obj(open, `"a":{"type":"string"}`, `"a"`),
			backward: []string{"REQUIRED_ATTRIBUTE_ADDED"},
		},
		{
			name: "existing field made required with default", old: obj(open, `"a":{"type":"string"}`, ``),
			new:      obj(open, `"a":{"type":"string","default":"d"}`, `"a"`),
			backward: nil, forward: nil,
		},
		{
			name: "field renamed, closed", old: obj(closed, `"a":{"type":"string"}`, ``),
			new:      obj(closed, `"b":{"type":"string"}`, ``),
			backward: []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
			forward:  []string{"PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
		},
		{
			name: "field added covered by additionalProperties schema",
			old:  `{"type":"object","properties":{},"additionalProperties":{"type":"string"}}`,
			new:  `{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`,
		},
		{
			name:     "field added narrower than additionalProperties schema",
			old:      `{"type":"object","properties":{},"additionalProperties":{"type":"string"}}`,
			new:      `{"type":"object","properties":{"a":{"type":"string","maxLength":3}},"additionalProperties":{"type":"string"}}`,
			backward: []string{"PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"},
		},
		{
			name:     "field added not covered by additionalProperties schema",
			old:      `{"type":"object","properties":{},"additionalProperties":{"type":"string"}}`,
			new:      `{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string"}}`,
			backward: []string{"PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"},
			forward:  []string{"PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"},
		},
		{
			name: "additionalProperties closed", old: obj(open, `"a":{"type":"string"}`, ``),
			new:      obj(closed, `"a":{"type":"string"}`, ``),
			backward: []string{"ADDITIONAL_PROPERTIES_REMOVED"},
		},
		{
			name: "integer to number", old: `{"type":"integer"}`, new: `{"type":"number"}`,
			forward: []string{"TYPE_NARROWED"},
		},
		{
			name: "string to integer", old: `{"type":"string"}`, new: `{"type":"integer"}`,
			backward: []string{"TYPE_CHANGED"}, forward: []string{"TYPE_CHANGED"},
		},
		{
			name: "null added to type", old: `{"type":"string"}`, new: `{"type":["string","null"]}`,
			forward: []string{"SUM_TYPE_NARROWED"},
		},
		{
			name: "enum symbol added", old: `{"enum":["A","B"]}`, new: `{"enum":["A","B","C"]}`,
			forward: []string{"ENUM_ARRAY_NARROWED"},
		},
		{
			name: "enum symbol renamed", old: `{"enum":["A","B"]}`, new: `{"enum":["A","C"]}`,
			backward: []string{"ENUM_ARRAY_CHANGED"}, forward: []string{"ENUM_ARRAY_CHANGED"},
		},
		{
			name: "maxLength decreased", old: `{"type":"string","maxLength":10}`, new: `{"type":"string","maxLength":5}`,
			backward: []string{"MAX_LENGTH_DECREASED"},
		},
		{
			name: "minLength and pattern added", old: `{"type":"string"}`,
			new:      `{"type":"string","minLength":1,"pattern":"^a"}`,
			backward: []string{"MIN_LENGTH_ADDED", "PATTERN_ADDED"},
		},
		{
			name: "pattern changed", old: `{"type":"string","pattern":"^a"}`, new: `{"type":"string","pattern":"^b"}`,
			backward: []string{"PATTERN_CHANGED"}, forward: []string{"PATTERN_CHANGED"},
		},
		{
			name: "number bounds", old: `{"type":"number","minimum":0,"maximum":10,"exclusiveMaximum":11}`,
			new:      `{"type":"number","minimum":1,"maximum":20,"exclusiveMaximum":10}`,
			backward: []string{"MINIMUM_INCREASED", "EXCLUSIVE_MAXIMUM_DECREASED"},
			forward:  []string{"MAXIMUM_DECREASED", "MINIMUM_DECREASED"}[:1],
		},
		{
			name: "multipleOf", old: `{"type":"integer","multipleOf":2}`, new: `{"type":"integer","multipleOf":4}`,
			backward: []string{"MULTIPLE_OF_EXPANDED"},
		},
		{
			name: "anyOf alternative added", old: `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
			new:     `{"anyOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}`,
			forward: []string{"SUM_TYPE_NARROWED"},
		},
		{
			name: "oneOf to anyOf", old: `{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
			new:     `{"anyOf":[{"type":"string"},{"type":"integer"}]}`,
			forward: []string{"COMBINED_TYPE_CHANGED"},
		},
		{
			name: "allOf conjunct added", old: `{"allOf":[{"type":"string"}]}`,
			new:      `{"allOf":[{"type":"string"},{"maxLength":3}]}`,
			backward: []string{"PRODUCT_TYPE_EXTENDED"},
		},
		{
			name: "plain to anyOf with null", old: `{"type":"string"}`,
			new:     `{"anyOf":[{"type":"null"},{"type":"string"}]}`,
			forward: []string{"SUM_TYPE_NARROWED"},
		},
		{
			name: "array items type changed", old: `{"type":"array","items":{"type":"string"}}`,
			new:      `{"type":"array","items":{"type":"integer"}}`,
			backward: []string{"TYPE_CHANGED"}, forward: []string{"TYPE_CHANGED"},
		},
		{
			name: "array constraints", old: `{"type":"array","items":{"type":"string"}}`,
			new:      `{"type":"array","items":{"type":"string"},"maxItems":3,"uniqueItems":true}`,
			backward: []string{"MAX_ITEMS_ADDED", "UNIQUE_ITEMS_ADDED"},
		},
		{
			name: "tuple item added, closed", old: `{"type":"array","items":[{"type":"string"}],"additionalItems":false}`,
			new:     `{"type":"array","items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}`,
			forward: []string{"ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"},
		},
		{
			name: "tuple item added, open", old: `{"type":"array","items":[{"type":"string"}]}`,
			new:      `{"type":"array","items":[{"type":"string"},{"type":"integer"}]}`,
			backward: []string{"ITEM_ADDED_TO_OPEN_CONTENT_MODEL"},
		},
		{
			name: "not narrowed", old: `{"not":{"type":"string"}}`, new: `{"not":{"type":"string","maxLength":2}}`,
			forward: []string{"NOT_TYPE_EXTENDED"},
		},
		{
			name: "anything to empty schema", old: `{"type":"string","maxLength":2}`, new: `{}`,
			forward: []string{"TYPE_NARROWED", "MAX_LENGTH_ADDED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, updated := parseJSON(t, tt.old), parseJSON(t, tt.new)
			assert.Equal(t, tt.backward, jsonKinds(updated.ReadIncompatibilities(old)), "BACKWARD")
			assert.Equal(t, tt.forward, jsonKinds(old.ReadIncompatibilities(updated)), "FORWARD")
		})
	}
}

func TestJSONIncompatibleMessage(t *testing.T) {
	old := parseJSON(t, `{"type":"object","properties":{"age":{"type":"number"}}}`)
	updated := parseJSON(t, `{"type":"object","properties":{"age":{"type":"integer"}}}`)
	assert.Equal(t, []string{"Found incompatible change: Difference{jsonPath='#/properties/age', type=TYPE_NARROWED}"},
		updated.ReadIncompatibilities(old))
}

func BenchmarkJSONFormatParse(b *testing.B) {
	const schema = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"Order","type":"object",
		"properties":{"id":{"type":"integer"},"customer":{"type":"string","maxLength":64},
		"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},
		"qty":{"type":"integer","minimum":1}},"required":["sku","qty"]}}},"required":["id"]}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (JSONFormat{}).Parse(schema, nil); err != nil {
			b.Fatal(err)
		}
	}
}
