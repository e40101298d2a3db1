package registry

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// The JSON Schema compatibility check follows Confluent's documented
// rules: the old schema (writer, "original") is compared with the new one
// (reader, "update") keyword by keyword, every difference gets one of
// Confluent's difference types, and the types outside
// jsonCompatibleChanges make the pair incompatible. Data valid under the
// original must stay valid under the update.

// jsonDifference is one change found at a JSON path.
type jsonDifference struct {
	path string
	kind string
}

// String formats d as Confluent's verbose compatibility message.
func (d jsonDifference) String() string {
	return fmt.Sprintf("Found incompatible change: Difference{jsonPath='%s', type=%s}", d.path, d.kind)
}

// jsonCompatibleChanges are the difference types Confluent's default
// (strict) policy accepts.
var jsonCompatibleChanges = map[string]bool{
	"TYPE_EXTENDED": true, "SCHEMA_REMOVED": true, "ID_CHANGED": true, "TITLE_CHANGED": true,
	"DESCRIPTION_CHANGED": true, "DEFAULT_CHANGED": true,
	"MAX_LENGTH_REMOVED": true, "MAX_LENGTH_INCREASED": true, "MIN_LENGTH_REMOVED": true,
	"MIN_LENGTH_DECREASED": true, "PATTERN_REMOVED": true,
	"MAXIMUM_REMOVED": true, "MAXIMUM_INCREASED": true, "MINIMUM_REMOVED": true, "MINIMUM_DECREASED": true,
	"EXCLUSIVE_MAXIMUM_REMOVED": true, "EXCLUSIVE_MAXIMUM_INCREASED": true,
	"EXCLUSIVE_MINIMUM_REMOVED": true, "EXCLUSIVE_MINIMUM_DECREASED": true,
	"MULTIPLE_OF_REMOVED": true, "MULTIPLE_OF_REDUCED": true,
	"REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED": true, "REQUIRED_ATTRIBUTE_REMOVED": true,
	"MAX_PROPERTIES_REMOVED": true, "MAX_PROPERTIES_INCREASED": true,
	"MIN_PROPERTIES_REMOVED": true, "MIN_PROPERTIES_DECREASED": true,
	"ADDITIONAL_PROPERTIES_ADDED": true, "ADDITIONAL_PROPERTIES_EXTENDED": true,
	"DEPENDENCY_ARRAY_REMOVED": true, "DEPENDENCY_ARRAY_NARROWED": true, "DEPENDENCY_SCHEMA_REMOVED": true,
	"PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL":       true,
	"REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL": true,
	"OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":              true,
	"PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL":                     true,
	"PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL":        true,
	"PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":    true,
	"PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":  true,
	"MAX_ITEMS_REMOVED": true, "MAX_ITEMS_INCREASED": true, "MIN_ITEMS_REMOVED": true, "MIN_ITEMS_DECREASED": true,
	"UNIQUE_ITEMS_REMOVED": true, "ADDITIONAL_ITEMS_ADDED": true, "ADDITIONAL_ITEMS_EXTENDED": true,
	"ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL":      true,
	"ITEM_ADDED_TO_CLOSED_CONTENT_MODEL":                      true,
	"ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL":                    true,
	"ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL":       true,
	"ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL":   true,
	"ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL": true,
	"ENUM_ARRAY_EXTENDED":                                     true, "COMBINED_TYPE_EXTENDED": true, "PRODUCT_TYPE_NARROWED": true,
	"SUM_TYPE_EXTENDED": true, "NOT_TYPE_NARROWED": true,
}

// jsonNode is a schema value with the base URL its $refs resolve against.
type jsonNode struct {
	v    any
	base string
	p    *parsedJSON
}

func (n jsonNode) obj() map[string]any {
	m, _ := n.v.(map[string]any)
	return m
}

func (n jsonNode) child(v any) jsonNode { return jsonNode{v: v, base: n.base, p: n.p} }

// jsonDiff collects the differences between two schemas. seen breaks
// cycles through recursive $refs.
type jsonDiff struct {
	seen  map[[2]string]bool
	diffs []jsonDifference
}

func (d *jsonDiff) add(path, kind string) {
	d.diffs = append(d.diffs, jsonDifference{path: path, kind: kind})
}

// compatible reports whether update accepts everything original accepts,
// without recording the differences.
func (d *jsonDiff) compatible(original, update jsonNode) bool {
	sub := &jsonDiff{seen: d.seen}
	sub.compare("#", original, update)
	for _, diff := range sub.diffs {
		if !jsonCompatibleChanges[diff.kind] {
			return false
		}
	}
	return true
}

// compare records every difference between original and update at path.
func (d *jsonDiff) compare(path string, original, update jsonNode) {
	var origRef, updRef string
	original, origRef = original.deref()
	update, updRef = update.deref()
	if origRef != "" && updRef != "" {
		// the pair is already being compared further up: assume it holds
		key := [2]string{origRef, updRef}
		if d.seen[key] {
			return
		}
		d.seen[key] = true
		defer delete(d.seen, key)
	}
	if b, ok := update.v.(bool); ok && b || isEmptySchema(update.v) {
		return // the update accepts anything
	}
	if b, ok := original.v.(bool); ok && !b {
		return // nothing was valid before
	}
	o, u := original.obj(), update.obj()
	if o == nil || u == nil {
		// original true or {} against a restricting update
		d.add(path, "TYPE_NARROWED")
		return
	}
	d.compareAnnotations(path, o, u)
	if !d.compareCombined(path, original, update) {
		return
	}
	if !d.compareTypes(path, o, u) {
		return
	}
	d.compareEnums(path, o, u)
	d.compareNot(path, original, update)
	compareStringConstraints(d, path, o, u)
	compareNumberConstraints(d, path, o, u)
	d.compareObjects(path, original, update)
	d.compareArrays(path, original, update)
}

func isEmptySchema(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k := range m {
		switch k {
		case "$schema", "$id", "id", "title", "description", "$comment", "default", "examples",
			"definitions", "$defs":
		default:
			return false
		}
	}
	return true
}

func (d *jsonDiff) compareAnnotations(path string, o, u map[string]any) {
	for _, a := range []struct{ key, kind string }{
		{"$id", "ID_CHANGED"}, {"title", "TITLE_CHANGED"},
		{"description", "DESCRIPTION_CHANGED"}, {"default", "DEFAULT_CHANGED"},
	} {
		if !reflect.DeepEqual(o[a.key], u[a.key]) {
			d.add(path, a.kind)
		}
	}
}

// deref follows $ref chains (a schema with only a $ref, or a $ref beside
// other keywords in 2019-09+, where we follow it as the schema's shape). It
// returns the target and the resolved URL, "" when n was no reference.
func (n jsonNode) deref() (jsonNode, string) {
	resolved := ""
	for range 32 {
		ref, ok := n.obj()["$ref"].(string)
		if !ok {
			return n, resolved
		}
		target, abs, ok := n.p.resolveRef(n.base, ref)
		if !ok {
			return n, resolved
		}
		n, resolved = target, abs
	}
	return n, resolved
}

func (p *parsedJSON) resolveRef(base, ref string) (jsonNode, string, bool) {
	b, err := url.Parse(base)
	if err != nil {
		return jsonNode{}, "", false
	}
	r, err := url.Parse(ref)
	if err != nil {
		return jsonNode{}, "", false
	}
	abs := b.ResolveReference(r)
	frag := abs.Fragment
	abs.Fragment = ""
	docURL := abs.String()
	doc, ok := p.docs[docURL]
	if !ok {
		name, _, _ := strings.Cut(ref, "#")
		if doc, ok = p.byName[name]; !ok {
			return jsonNode{}, "", false
		}
	}
	target, ok := jsonPointer(doc, frag)
	if !ok {
		return jsonNode{}, "", false
	}
	return jsonNode{v: target, base: docURL, p: p}, docURL + "#" + frag, true
}

// jsonPointer applies an RFC 6901 fragment ("" or "/a/b") to doc.
func jsonPointer(doc any, frag string) (any, bool) {
	if frag == "" {
		return doc, true
	}
	if !strings.HasPrefix(frag, "/") {
		return nil, false // plain-name anchors are not followed
	}
	cur := doc
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
