package rules

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/sluicehq/sluice/runtime/connect"
)

// walker runs one CEL_FIELD rule over a value: every primitive field
// (recursing through structs, arrays and map values) whose tags meet the
// rule's tags (or every one, when the rule has none) is evaluated with
// value, name, fullName, typeName, tags and message (the struct holding the
// field). A condition fails on the first false; a transform's result
// replaces the field, copying each struct, list and map on the way so the
// input is never changed.
type walker struct {
	x *execution
	r *Rule
}

// fieldCtx is the field being visited.
type fieldCtx struct {
	w         *walker
	parent    string // the record's full name, or the parent's JSON path
	name      string
	schema    *connect.Schema
	value     any
	container *connect.Struct
	full      string
	tags      []string
	tagsDone  bool
}

func (f *fieldCtx) fullName() string {
	if f.full == "" {
		f.full = f.parent + "." + f.name
	}
	return f.full
}

// tagList is the field's tags: Metadata.Tags patterns its full name
// matches, and the inline tags its schema carries in TagsParameter.
func (f *fieldCtx) tagList() []string {
	if f.tagsDone {
		return f.tags
	}
	f.tagsDone = true
	md := f.w.x.md
	var inline []string
	if ft := f.w.x.rec.FieldTags; ft != nil && f.container != nil {
		inline = ft(f.container.Schema(), f.name)
	}
	if (md == nil || len(md.Tags) == 0) && len(inline) == 0 && (f.schema == nil || f.schema.Parameters[TagsParameter] == "") {
		return nil
	}
	f.tags = computeTags(md, f.fullName(), f.schema, inline)
	return f.tags
}

// computeTags merges the tags of the Metadata.Tags patterns full matches with the field's
// inline tags (RecordInfo.FieldTags and TagsParameter).
func computeTags(md *Metadata, full string, schema *connect.Schema, inline []string) []string {
	tags := slices.Clone(inline)
	if md != nil && len(md.Tags) > 0 {
		for pattern, ts := range md.Tags {
			if MatchPath(full, pattern) {
				tags = append(tags, ts...)
			}
		}
	}
	if schema != nil {
		if inline := schema.Parameters[TagsParameter]; inline != "" {
			for t := range strings.SplitSeq(inline, ",") {
				if t = strings.TrimSpace(t); t != "" {
					tags = append(tags, t)
				}
			}
		}
	}
	if len(tags) > 1 {
		slices.Sort(tags)
		tags = slices.Compact(tags)
	}
	return tags
}

// tagCache keeps the tags of each field of a struct schema per metadata,
// so that matching Metadata.Tags patterns costs once per schema rather than
// once per record. Metadata and schemas are immutable once in use.
type tagCache struct {
	mu   sync.RWMutex
	max  int
	tags map[tagKey][][]string
}

type tagKey struct {
	md     *Metadata
	record *connect.Schema
	name   string // the record's full name (RecordInfo.RecordName)
	inline bool   // RecordInfo.FieldTags is set
}

func newTagCache(max int) *tagCache {
	return &tagCache{max: max, tags: make(map[tagKey][][]string)}
}

// structTags returns the tags of each field of struct schema record, of
// full name parent, with RecordFieldNames (JSON paths vary per value and
// are not cached).
func (c *tagCache) structTags(md *Metadata, record *connect.Schema, parent string, inline func(*connect.Schema, string) []string) [][]string {
	k := tagKey{md, record, parent, inline != nil}
	c.mu.RLock()
	t, ok := c.tags[k]
	c.mu.RUnlock()
	if ok {
		return t
	}
	t = make([][]string, len(record.Fields))
	for i := range record.Fields {
		f := &record.Fields[i]
		var it []string
		if inline != nil {
			it = inline(record, f.Name)
		}
		t[i] = computeTags(md, parent+"."+f.Name, f.Schema, it)
	}
	c.mu.Lock()
	if len(c.tags) >= c.max {
		clear(c.tags) // bounded; refilled from the schemas in use
	}
	c.tags[k] = t
	c.mu.Unlock()
	return t
}

func recordName(s *connect.Schema, rec *RecordInfo) string {
	if rec.RecordName != nil {
		if n := rec.RecordName(s); n != "" {
			return n
		}
	}
	if s.Name == "" {
		return UnnamedRecord
	}
	return s.Name
}

// selected reports whether the rule applies to the field.
func (f *fieldCtx) selected() bool {
	if len(f.w.r.Tags) == 0 {
		return true
	}
	for _, t := range f.tagList() {
		if contains(f.w.r.Tags, t) {
			return true
		}
	}
	return false
}

// walk returns the (possibly new) value; changed reports a new one.
func (w *walker) walk(s *connect.Schema, v any, fc *fieldCtx) (any, error) {
	out, _, err := w.visit(s, v, fc, "$")
	return out, err
}

func (w *walker) visit(s *connect.Schema, v any, fc *fieldCtx, path string) (any, bool, error) {
	if s == nil {
		// A schemaless value has no fields to name; field rules pass it by.
		return v, false, nil
	}
	if v == nil || s.Type.IsPrimitive() {
		return w.primitive(s, v, fc)
	}
	if es := s.ValueSchema; es != nil && es.Type.IsPrimitive() && (fc == nil || !fc.selected()) {
		return v, false, nil // a list or map of fields the rule does not select
	}
	switch s.Type {
	case connect.TypeStruct:
		st, ok := v.(*connect.Struct)
		if !ok {
			return v, false, nil
		}
		return w.structFields(s, st, path)
	case connect.TypeArray:
		list, ok := v.([]any)
		if !ok {
			return v, false, nil
		}
		var out []any
		for i, e := range list {
			ne, changed, err := w.visit(s.ValueSchema, e, fc, w.index(path, i))
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = slices.Clone(list)
				}
				out[i] = ne
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case connect.TypeMap:
		return w.mapValues(s, v, fc, path)
	}
	return v, false, nil
}

func (w *walker) structFields(s *connect.Schema, st *connect.Struct, path string) (any, bool, error) {
	parent := path
	if w.x.rec.FieldNames == RecordFieldNames {
		parent = recordName(s, w.x.rec)
	}
	var tags [][]string // per field, from the cache (RecordFieldNames)
	if w.x.rec.FieldNames == RecordFieldNames {
		tags = w.x.tags.structTags(w.x.md, s, parent, w.x.rec.FieldTags)
	}
	var out *connect.Struct
	for i := range s.Fields {
		f := &s.Fields[i]
		fc := &fieldCtx{w: w, parent: parent, name: f.Name, schema: f.Schema, container: st}
		if tags != nil {
			fc.tags, fc.tagsDone = tags[i], true
		}
		fv := st.GetField(f)
		nv, changed, err := w.visit(f.Schema, fv, fc, w.child(path, f.Name))
		if err != nil {
			return nil, false, err
		}
		if changed {
			if out == nil {
				out = cloneStruct(st)
			}
			out.Set(f, nv)
		}
	}
	if out == nil {
		return st, false, nil
	}
	return out, true, nil
}

// child and index extend a JSON path; record names need none, so they
// cost nothing there.
func (w *walker) child(path, name string) string {
	if w.x.rec.FieldNames != JSONPathFieldNames {
		return ""
	}
	return path + "." + name
}

func (w *walker) index(path string, i int) string {
	if w.x.rec.FieldNames != JSONPathFieldNames {
		return ""
	}
	return path + "[" + strconv.Itoa(i) + "]"
}

func cloneStruct(st *connect.Struct) *connect.Struct {
	s := st.Schema()
	out := connect.NewStruct(s)
	for i := range s.Fields {
		out.Set(&s.Fields[i], st.GetField(&s.Fields[i])) // unset fields take their default, as every reader sees them
	}
	return out
}

func (w *walker) mapValues(s *connect.Schema, v any, fc *fieldCtx, path string) (any, bool, error) {
	switch m := v.(type) {
	case map[string]any:
		var out map[string]any
		for k, e := range m {
			ne, changed, err := w.visit(s.ValueSchema, e, fc, w.child(path, k))
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = maps.Clone(m)
				}
				out[k] = ne
			}
		}
		if out != nil {
			return out, true, nil
		}
	case map[any]any:
		var out map[any]any
		for k, e := range m {
			ne, changed, err := w.visit(s.ValueSchema, e, fc, path)
			if err != nil {
				return nil, false, err
			}
			if changed {
				if out == nil {
					out = maps.Clone(m)
				}
				out[k] = ne
			}
		}
		if out != nil {
			return out, true, nil
		}
	}
	return v, false, nil
}

// primitive evaluates the rule on one field value.
func (w *walker) primitive(s *connect.Schema, v any, fc *fieldCtx) (any, bool, error) {
	if fc == nil || !fc.selected() {
		return v, false, nil
	}
	act := w.x.activation(structVal{fc.container})
	act.field, act.hasField = *fc, true
	act.field.schema, act.field.value = s, v
	out, skipped, err := w.x.progs.eval(envField, w.r, w.x.md, act)
	if err != nil {
		return nil, false, err
	}
	if skipped {
		return v, false, nil
	}
	if w.r.kind() == KindCondition {
		if out == types.False {
			return nil, false, &RuleConditionError{Rule: *w.r}
		}
		return v, false, nil
	}
	if types.IsError(out) {
		return nil, false, out.Value().(error)
	}
	if unchanged(s, v, out) {
		return v, false, nil
	}
	nv, err := fromCEL(s, out)
	if err != nil {
		return nil, false, err
	}
	return nv, true, nil
}

// unchanged reports whether a transform's result out equals the field's
// value v, as CEL sees it. A string is shown to CEL as itself whatever its
// schema, so a string result compares without converting v.
func unchanged(s *connect.Schema, v any, out ref.Val) bool {
	if vs, ok := v.(string); ok {
		if os, ok := out.(types.String); ok {
			return string(os) == vs
		}
	}
	return out.Equal(toCEL(s, v)) == types.True
}

// MatchPath reports whether a field's full name matches a Metadata.Tags
// pattern, with Confluent's wildcards: '?' is one character and '*' any
// characters within a dot-separated name, '**' any characters across
// names; a backslash takes the next character literally.
func MatchPath(name, pattern string) bool {
	return globMatch(name, strings.ReplaceAll(pattern, "**.*", "**"))
}

func globMatch(s, p string) bool {
	for len(p) > 0 {
		switch {
		case strings.HasPrefix(p, "**"):
			rest := p[2:]
			for i := 0; i <= len(s); i++ {
				if globMatch(s[i:], rest) {
					return true
				}
			}
			return false
		case p[0] == '*':
			rest := p[1:]
			for i := 0; i <= len(s); i++ {
				if globMatch(s[i:], rest) {
					return true
				}
				if i < len(s) && s[i] == '.' {
					return false
				}
			}
			return false
		case p[0] == '?':
			if len(s) == 0 || s[0] == '.' {
				return false
			}
			s, p = s[1:], p[1:]
		case p[0] == '\\' && len(p) > 1:
			if len(s) == 0 || s[0] != p[1] {
				return false
			}
			s, p = s[1:], p[2:]
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
			s, p = s[1:], p[1:]
		}
	}
	return len(s) == 0
}
