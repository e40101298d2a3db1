package transform

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Groups of the keys ConfigDef adds, as in Kafka's ConnectorConfig.
const (
	TransformsGroup = "Transforms"
	PredicatesGroup = "Predicates"
)

// ConfigDef returns the keys Kafka's ConnectorConfig.enrich adds to a
// connector's definition for the transforms and predicates props declares,
// and the groups they are in ("Transforms: <alias>", "Predicates: <alias>").
// For each alias: <kind>.<alias>.type, whose validation fails when the
// class is unknown, then the plugin's own keys under the alias prefix
// (for transforms with the implicit predicate and negate keys), ordered
// as Kafka's ConfigDef.embed orders them.
func ConfigDef(props map[string]string, plugins []connect.Plugin) (connect.ConfigDef, []string) {
	var def connect.ConfigDef
	var groups []string
	addGroup := func(g string) {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	transformImplicit := connect.ConfigDef{
		{Name: PredicateConfig, Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
			Doc: "The alias of a predicate used to determine whether to apply this transformation."},
		{Name: NegateConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Medium,
			Doc: "Whether the configured predicate should be negated."},
	}
	kinds := []struct {
		config, group, kind, display string
		typ                          connect.PluginType
		implicit                     connect.ConfigDef
	}{
		{TransformsConfig, TransformsGroup, "transformation", "Transformation", connect.PluginTransformation, transformImplicit},
		{PredicatesConfig, PredicatesGroup, "predicate", "Predicate", connect.PluginPredicate, nil},
	}
	for _, k := range kinds {
		aliases, _ := aliasList(props, k.config)
		for _, alias := range aliases {
			prefix := k.config + "." + alias + "."
			group := k.group + ": " + alias
			addGroup(group)
			def = append(def, connect.ConfigKey{
				Name: prefix + "type", Type: connect.ConfigClass, Default: connect.NoDefault,
				Validator: typeValidator(props, prefix, k.typ, plugins), Importance: connect.High,
				Doc:   fmt.Sprintf("Class for the '%s' %s.", alias, k.kind),
				Group: group, OrderInGroup: 0, Width: connect.WidthLong,
				DisplayName: k.display + " type for " + alias,
			})
			p := connect.FindPlugin(plugins, k.typ, strings.TrimSpace(props[prefix+"type"]))
			if p == nil {
				continue
			}
			child := slices.Clone(k.implicit)
			for _, key := range p.Config {
				if k.implicit.Key(key.Name) == nil {
					child = append(child, key)
				}
			}
			for i, key := range sortedKeys(child) {
				key.Name = prefix + key.Name
				if key.Group != "" {
					key.Group = group + ": " + key.Group
				} else {
					key.Group = group
				}
				addGroup(key.Group)
				key.OrderInGroup = 1 + i
				deps := make([]string, len(key.Dependents))
				for j, d := range key.Dependents {
					deps[j] = prefix + d
				}
				key.Dependents = deps
				def = append(def, key)
			}
		}
	}
	return def, groups
}

// typeValidator checks that <kind>.<alias>.type names a known plugin and,
// for transforms, that negate comes with a predicate.
func typeValidator(props map[string]string, prefix string, typ connect.PluginType, plugins []connect.Plugin) connect.Validator {
	return connect.ValidatorFunc{
		Fn: func(_ string, v any) string {
			name, _ := v.(string)
			if connect.FindPlugin(plugins, typ, name) == nil {
				return fmt.Sprintf("Class %s could not be found.", name)
			}
			_, hasNegate := props[prefix+NegateConfig]
			_, hasPred := props[prefix+PredicateConfig]
			if typ == connect.PluginTransformation && hasNegate && !hasPred {
				return fmt.Sprintf("Config '%s' was provided but there is no config '%s' defining a predicate to be negated.",
					prefix+NegateConfig, prefix+PredicateConfig)
			}
			return ""
		},
		Desc: "valid " + string(typ) + " class",
	}
}

// sortedKeys orders keys as Kafka's ConfigDef.sortedConfigs: ungrouped
// first, then by group in order of appearance, order in group, required
// before defaulted, importance, and name.
func sortedKeys(keys connect.ConfigDef) connect.ConfigDef {
	groupOrd := map[string]int{}
	for _, k := range keys {
		if _, ok := groupOrd[k.Group]; !ok && k.Group != "" {
			groupOrd[k.Group] = len(groupOrd)
		}
	}
	importance := map[connect.Importance]int{connect.High: 0, connect.Medium: 1, connect.Low: 2}
	out := slices.Clone(keys)
	slices.SortStableFunc(out, func(a, b connect.ConfigKey) int {
		switch {
		case a.Group == "" && b.Group != "":
			return -1
		case a.Group != "" && b.Group == "":
			return 1
		}
		if c := cmp.Compare(groupOrd[a.Group], groupOrd[b.Group]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.OrderInGroup, b.OrderInGroup); c != 0 {
			return c
		}
		if a.Required() != b.Required() {
			if a.Required() {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(importance[a.Importance], importance[b.Importance]); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}
