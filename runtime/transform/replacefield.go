package transform

import (
	"fmt"
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// replaceField is org.apache.kafka.connect.transforms.ReplaceField: it
// drops, keeps and renames top-level fields. exclude wins over include;
// the deprecated names blacklist and whitelist are still read.
type replaceField struct {
	side        side
	exclude     map[string]bool
	include     map[string]bool
	renames     map[string]string
	replaceNull bool
	plans       map[*connect.Schema]replacePlan
}

// replacePlan is the updated schema for one input schema and, for each of
// its fields, the index of the input field it takes its value from.
type replacePlan struct {
	schema *connect.Schema
	source []int
}

const replacePurpose = "field replacement"

var replaceFieldConfig = connect.ConfigDef{
	{Name: "exclude", Type: connect.ConfigList, Default: []string{}, Importance: connect.Medium,
		Doc: "Fields to drop; takes precedence over include."},
	{Name: "include", Type: connect.ConfigList, Default: []string{}, Importance: connect.Medium,
		Doc: "Fields to keep; when set, every other field is dropped."},
	{Name: "renames", Type: connect.ConfigList, Default: []string{}, Importance: connect.Medium,
		Validator: connect.ValidatorFunc{
			Fn: func(_ string, v any) string {
				l, _ := v.([]string)
				if _, err := parseRenames(l); err != nil {
					return err.Error()
				}
				return ""
			},
			Desc: "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>",
		},
		Doc: "Field renames as old:new pairs."},
	replaceNullWithDefaultKey,
}

func parseRenames(mappings []string) (map[string]string, error) {
	m := make(map[string]string, len(mappings))
	for _, mapping := range mappings {
		parts := javaSplit(mapping, ":")
		if len(parts) != 2 {
			return nil, fmt.Errorf("Invalid rename mapping: %s", mapping)
		}
		m[parts[0]] = parts[1]
	}
	return m, nil
}

func (t *replaceField) Configure(props map[string]string) error {
	cfg, err := replaceFieldConfig.Parse(translateDeprecated(props, map[string]string{
		"include": "whitelist", "exclude": "blacklist"}))
	if err != nil {
		return err
	}
	t.exclude, t.include = setOf(cfg.List("exclude")), setOf(cfg.List("include"))
	if t.renames, err = parseRenames(cfg.List("renames")); err != nil {
		return connect.NewConfigError("renames", "%s", err)
	}
	t.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	return nil
}

// translateDeprecated copies each deprecated key's value to its
// replacement when only the deprecated one is set (Kafka's
// ConfigUtils.translateDeprecatedConfigs).
func translateDeprecated(props map[string]string, newToOld map[string]string) map[string]string {
	var out map[string]string
	for key, old := range newToOld {
		v, ok := props[old]
		if _, set := props[key]; !ok || set {
			continue
		}
		if out == nil {
			out = maps.Clone(props)
		}
		out[key] = v
	}
	if out == nil {
		return props
	}
	return out
}

func setOf(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, s := range l {
		m[s] = true
	}
	return m
}

func (t *replaceField) keep(name string) bool {
	return !t.exclude[name] && (len(t.include) == 0 || t.include[name])
}

func (t *replaceField) renamed(name string) string {
	if n, ok := t.renames[name]; ok {
		return n
	}
	return name
}

func (t *replaceField) Apply(r *connect.Record) (*connect.Record, error) {
	v := t.side.value(r)
	if v == nil {
		return r, nil
	}
	s := t.side.schema(r)
	if s == nil {
		m, err := requireMap(v, replacePurpose)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			if t.keep(k) {
				out[t.renamed(k)] = x
			}
		}
		return t.side.with(r, nil, out), nil
	}
	st, err := requireStruct(v, replacePurpose)
	if err != nil {
		return nil, err
	}
	plan, err := t.plan(st.Schema())
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(plan.schema)
	in := st.Schema().Fields
	for i := range plan.schema.Fields {
		out.Set(&plan.schema.Fields[i], fieldValue(st, &in[plan.source[i]], t.replaceNull))
	}
	return t.side.with(r, plan.schema, out), nil
}

func (t *replaceField) plan(s *connect.Schema) (replacePlan, error) {
	if p, ok := t.plans[s]; ok {
		return p, nil
	}
	b := copySchemaBasics(s, connect.TypeStruct)
	seen := make(map[string]bool, len(s.Fields))
	var source []int
	for i, f := range s.Fields {
		if !t.keep(f.Name) {
			continue
		}
		name := t.renamed(f.Name)
		if seen[name] {
			return replacePlan{}, fmt.Errorf("%w: Cannot create field because of field name duplication %s", connect.ErrData, name)
		}
		seen[name] = true
		b.Field(name, f.Schema)
		source = append(source, i)
	}
	if t.plans == nil || len(t.plans) >= schemaCacheSize {
		t.plans = make(map[*connect.Schema]replacePlan, schemaCacheSize)
	}
	p := replacePlan{schema: b.Build(), source: source}
	t.plans[s] = p
	return p, nil
}
