package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestConfigDefEnrich(t *testing.T) {
	props := chainProps(
		"transforms", "cast,bad,neg",
		"transforms.cast.type", "org.apache.kafka.connect.transforms.Cast$Value",
		"transforms.cast.spec", "a:int8",
		"transforms.bad.type", "NoSuch",
		"transforms.neg.type", "Filter",
		"transforms.neg.negate", "true",
		"predicates", "p",
		"predicates.p.type", "TopicNameMatches",
	)
	def, groups := ConfigDef(props, Plugins())
	assert.Equal(t, []string{"Transforms: cast", "Transforms: bad", "Transforms: neg", "Predicates: p"}, groups)

	var names []string
	for _, k := range def {
		names = append(names, k.Name)
	}
	assert.Equal(t, []string{
		"transforms.cast.type",
		"transforms.cast.spec", // required first
		"transforms.cast.negate", "transforms.cast.predicate", "transforms.cast.replace.null.with.default",
		"transforms.bad.type",
		"transforms.neg.type", "transforms.neg.negate", "transforms.neg.predicate",
		"predicates.p.type", "predicates.p.pattern",
	}, names)

	typ := def.Key("transforms.cast.type")
	assert.Equal(t, connect.ConfigClass, typ.Type)
	assert.True(t, typ.Required())
	assert.Equal(t, "Transforms: cast", typ.Group)
	assert.Equal(t, 0, typ.OrderInGroup)
	assert.Equal(t, "Class for the 'cast' transformation.", typ.Doc)
	assert.Equal(t, "Transformation type for cast", typ.DisplayName)
	assert.Equal(t, "Predicate type for p", def.Key("predicates.p.type").DisplayName)
	spec := def.Key("transforms.cast.spec")
	assert.Equal(t, "Transforms: cast", spec.Group)
	assert.Equal(t, 1, spec.OrderInGroup)
	assert.Equal(t, false, def.Key("transforms.cast.negate").Default)

	results := map[string][]string{}
	for _, v := range def.Validate(props) {
		results[v.Name] = v.Errors
	}
	assert.Empty(t, results["transforms.cast.type"])
	assert.Empty(t, results["transforms.cast.spec"])
	assert.Equal(t, []string{"Invalid value NoSuch for configuration transforms.bad.type: Class NoSuch could not be found."},
		results["transforms.bad.type"])
	require.Len(t, results["transforms.neg.type"], 1)
	assert.Contains(t, results["transforms.neg.type"][0],
		"Config 'transforms.neg.negate' was provided but there is no config 'transforms.neg.predicate' defining a predicate to be negated.")
	assert.Equal(t, []string{`Missing required configuration "predicates.p.pattern" which has no default value.`}, results["predicates.p.pattern"])

	props["transforms.cast.spec"] = "a:nope"
	for _, v := range def.Validate(props) {
		if v.Name == "transforms.cast.spec" {
			assert.Equal(t, []string{"Invalid value a:nope for configuration transforms.cast.spec: Invalid type found in casting spec: nope"}, v.Errors)
		}
	}
}

func TestConfigDefMissingTypeAndNoTransforms(t *testing.T) {
	def, groups := ConfigDef(map[string]string{}, Plugins())
	assert.Empty(t, def)
	assert.Empty(t, groups)

	def, _ = ConfigDef(chainProps("transforms", "a,a"), Plugins())
	require.Len(t, def, 1, "a repeated alias is enriched once")
	vals := def.Validate(map[string]string{})
	assert.Equal(t, []string{`Missing required configuration "transforms.a.type" which has no default value.`}, vals[0].Errors)
}

func TestSortedKeysLikeKafka(t *testing.T) {
	keys := connect.ConfigDef{
		{Name: "z", Default: 1, Importance: connect.Low},
		{Name: "grouped", Default: 1, Group: "G", Importance: connect.High},
		{Name: "b", Default: 1, Importance: connect.High},
		{Name: "a", Default: 1, Importance: connect.High},
		{Name: "req", Default: connect.NoDefault, Importance: connect.Low},
		{Name: "ordered", Default: 1, OrderInGroup: 1, Importance: connect.High},
	}
	var names []string
	for _, k := range sortedKeys(keys) {
		names = append(names, k.Name)
	}
	assert.Equal(t, []string{"req", "a", "b", "z", "ordered", "grouped"}, names)
}
