package transform

import (
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// fieldPath is Kafka's SingleFieldPath (KIP-821): the steps leading to a
// possibly nested field. Syntax V1 is one step, the name as written; V2
// splits on dots, with backtick pairs around names that contain dots
// ("`foo.bar`.baz") and a backslash escaping a backtick.
type fieldPath struct {
	steps []string
}

const (
	syntaxV1 = "V1"
	syntaxV2 = "V2"
)

var fieldSyntaxVersionKey = connect.ConfigKey{
	Name: "field.syntax.version", Type: connect.ConfigString, Default: syntaxV1,
	Validator: caseInsensitiveValidString(syntaxV1, syntaxV2), Importance: connect.High,
	Doc: "Field path syntax: V1 reads fields at the root only; V2 reads nested fields in dotted notation, " +
		"with backtick pairs around names that contain dots (\"`foo.bar`.baz\").",
}

func newFieldPath(text, version string) (fieldPath, error) {
	if strings.EqualFold(version, syntaxV1) {
		return fieldPath{steps: []string{text}}, nil
	}
	steps, err := parsePathV2(text)
	if len(steps) == 0 {
		steps = []string{""}
	}
	return fieldPath{steps: steps}, err
}

// parsePathV2 follows SingleFieldPath.buildFieldPathV2 step by step, so
// odd inputs ("a..b", trailing dots, stray backticks) split as in Kafka.
func parsePathV2(path string) ([]string, error) {
	var steps []string
	idx := 0
	for idx >= 0 && idx < len(path) {
		if path[idx] != '`' {
			start := idx
			dot := strings.IndexByte(path[idx:], '.')
			if dot < 0 {
				steps = append(steps, path[start:])
				idx = -1
				break
			}
			idx += dot
			steps = append(steps, path[start:idx])
			idx++
			continue
		}
		var err error
		var step string
		if step, idx, err = backtickStep(path, idx); err != nil {
			return nil, err
		}
		steps = append(steps, step)
	}
	if path != "" && path[len(path)-1] == '.' {
		steps = append(steps, "")
	}
	return steps, nil
}

// backtickStep reads a backtick-quoted step opening at path[open] and
// returns it with the index just past its closing "`.".
func backtickStep(path string, open int) (string, int, error) {
	var field strings.Builder
	idx := open + 1
	start := idx
	for {
		rel := strings.IndexByte(path[idx:], '`')
		if rel < 0 {
			return "", 0, incompleteBacktick(path, open)
		}
		idx += rel
		escaped := path[idx-1] == '\\'
		if idx >= len(path)-1 {
			if escaped {
				return "", 0, incompleteBacktick(path, open)
			}
			field.WriteString(path[start:idx])
			return field.String(), idx + 1, nil
		}
		if path[idx+1] != '.' {
			idx++
			continue
		}
		if escaped {
			field.WriteString(path[start : idx-1])
			field.WriteByte('`')
			idx++
			start = idx
			continue
		}
		field.WriteString(path[start:idx])
		return field.String(), idx + 2, nil
	}
}

func incompleteBacktick(path string, at int) error {
	return connect.NewConfigError("field", "Incomplete backtick pair in path: [%s], consider adding a backslash before backtick at position %d to escape it",
		path, at)
}

func (p fieldPath) last() string      { return p.steps[len(p.steps)-1] }
func (p fieldPath) parents() []string { return p.steps[:len(p.steps)-1] }

// fieldFrom returns the field at the path in schema, or nil.
func (p fieldPath) fieldFrom(s *connect.Schema) *connect.Field {
	for _, step := range p.parents() {
		f := s.Field(step)
		if f == nil {
			return nil
		}
		s = f.Schema
	}
	return s.Field(p.last())
}

// structValue returns the value at the path in st, or nil when a step is
// missing or null.
func (p fieldPath) structValue(st *connect.Struct, withDefault bool) (any, error) {
	for _, step := range p.parents() {
		f := st.Schema().Field(step)
		if f == nil {
			return nil, nil
		}
		next, err := requireStructOrNull(st.GetField(f), "nested field access")
		if next == nil || err != nil {
			return nil, err
		}
		st = next
	}
	f := st.Schema().Field(p.last())
	if f == nil {
		return nil, nil
	}
	return fieldValue(st, f, withDefault), nil
}

// mapValue returns the value at the path in m, or nil.
func (p fieldPath) mapValue(m map[string]any) (any, error) {
	for _, step := range p.parents() {
		next, err := requireMapOrNull(m[step], "nested field access")
		if next == nil || err != nil {
			return nil, err
		}
		m = next
	}
	return m[p.last()], nil
}
