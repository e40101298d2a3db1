package registry

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
)

// jsonTypes returns the schema's "type" as a list (nil: any type).
func jsonTypes(o map[string]any) []string {
	switch t := o["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, v := range t {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// typeCovered reports whether a value of type t is accepted by a schema
// allowing the types in set (an integer is a number).
func typeCovered(t string, set []string) bool {
	return slices.Contains(set, t) || t == "integer" && slices.Contains(set, "number")
}

// compareTypes reports type changes; false means the schemas no longer
// describe the same kind of value and the rest is not compared.
func (d *jsonDiff) compareTypes(path string, o, u map[string]any) bool {
	ot, ut := jsonTypes(o), jsonTypes(u)
	if len(ut) == 0 {
		return true
	}
	if len(ot) == 0 {
		d.add(path, "TYPE_NARROWED")
		return true
	}
	if allCovered(ot, ut) {
		switch {
		case len(ut) > len(ot):
			d.add(path, "SUM_TYPE_EXTENDED")
		case !allCovered(ut, ot):
			d.add(path, "TYPE_EXTENDED")
		}
		return true
	}
	if allCovered(ut, ot) {
		if len(ot) == 1 && len(ut) == 1 {
			d.add(path, "TYPE_NARROWED")
		} else {
			d.add(path, "SUM_TYPE_NARROWED")
		}
		return true
	}
	d.add(path, "TYPE_CHANGED")
	return false
}

func allCovered(types, set []string) bool {
	for _, t := range types {
		if !typeCovered(t, set) {
			return false
		}
	}
	return true
}

// enumValues returns the allowed values from "enum" or "const".
func enumValues(o map[string]any) ([]any, bool) {
	if e, ok := o["enum"].([]any); ok {
		return e, true
	}
	if c, ok := o["const"]; ok {
		return []any{c}, true
	}
	return nil, false
}

func (d *jsonDiff) compareEnums(path string, o, u map[string]any) {
	ue, uok := enumValues(u)
	if !uok {
		return
	}
	oe, ook := enumValues(o)
	if !ook {
		d.add(path, "ENUM_ARRAY_NARROWED")
		return
	}
	missing, extra := countMissing(oe, ue), countMissing(ue, oe)
	switch {
	case missing > 0 && extra > 0:
		d.add(path, "ENUM_ARRAY_CHANGED")
	case missing > 0:
		d.add(path, "ENUM_ARRAY_NARROWED")
	case extra > 0:
		d.add(path, "ENUM_ARRAY_EXTENDED")
	}
}

// countMissing counts the values of a that are not in b.
func countMissing(a, b []any) int {
	n := 0
	for _, v := range a {
		if !slices.ContainsFunc(b, func(w any) bool { return reflect.DeepEqual(v, w) }) {
			n++
		}
	}
	return n
}

// compareNot compares "not" schemas: the update may exclude less.
func (d *jsonDiff) compareNot(path string, original, update jsonNode) {
	on, ook := original.obj()["not"]
	un, uok := update.obj()["not"]
	switch {
	case !ook && !uok:
	case !ook:
		d.add(path+"/not", "NOT_TYPE_EXTENDED")
	case !uok:
		d.add(path+"/not", "NOT_TYPE_NARROWED")
	case reflect.DeepEqual(on, un):
	case d.compatible(update.child(un), original.child(on)):
		d.add(path+"/not", "NOT_TYPE_NARROWED")
	default:
		d.add(path+"/not", "NOT_TYPE_EXTENDED")
	}
}

// jsonNumber reads a numeric keyword.
func jsonNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

// compareLimit reports a numeric keyword added, removed, increased or
// decreased as PREFIX_ADDED and so on, at path/key.
func compareLimit(d *jsonDiff, path, key, prefix string, o, u map[string]any) {
	ov, ook := jsonNumber(o[key])
	uv, uok := jsonNumber(u[key])
	p := path + "/" + key
	switch {
	case !ook && uok:
		d.add(p, prefix+"_ADDED")
	case ook && !uok:
		d.add(p, prefix+"_REMOVED")
	case ook && uok && uv > ov:
		d.add(p, prefix+"_INCREASED")
	case ook && uok && uv < ov:
		d.add(p, prefix+"_DECREASED")
	}
}

func compareStringConstraints(d *jsonDiff, path string, o, u map[string]any) {
	compareLimit(d, path, "maxLength", "MAX_LENGTH", o, u)
	compareLimit(d, path, "minLength", "MIN_LENGTH", o, u)
	op, ook := o["pattern"].(string)
	up, uok := u["pattern"].(string)
	switch {
	case !ook && uok:
		d.add(path+"/pattern", "PATTERN_ADDED")
	case ook && !uok:
		d.add(path+"/pattern", "PATTERN_REMOVED")
	case ook && uok && op != up:
		d.add(path+"/pattern", "PATTERN_CHANGED")
	}
}

func compareNumberConstraints(d *jsonDiff, path string, o, u map[string]any) {
	compareLimit(d, path, "maximum", "MAXIMUM", o, u)
	compareLimit(d, path, "minimum", "MINIMUM", o, u)
	// Draft 4's boolean exclusiveMaximum/exclusiveMinimum are not numbers
	// and are skipped by jsonNumber.
	compareLimit(d, path, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", o, u)
	compareLimit(d, path, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", o, u)
	ov, ook := jsonNumber(o["multipleOf"])
	uv, uok := jsonNumber(u["multipleOf"])
	p := path + "/multipleOf"
	switch {
	case !ook && uok:
		d.add(p, "MULTIPLE_OF_ADDED")
	case ook && !uok:
		d.add(p, "MULTIPLE_OF_REMOVED")
	case !ook || ov == uv:
	case isWholeMultiple(uv, ov):
		d.add(p, "MULTIPLE_OF_EXPANDED")
	case isWholeMultiple(ov, uv):
		d.add(p, "MULTIPLE_OF_REDUCED")
	default:
		d.add(p, "MULTIPLE_OF_CHANGED")
	}
}

func isWholeMultiple(a, b float64) bool {
	if b == 0 {
		return false
	}
	q := a / b
	return math.Abs(q-math.Round(q)) < 1e-9
}

// jsonCombinators in the order a schema's combinator is looked for.
var jsonCombinators = []string{"allOf", "anyOf", "oneOf"}

func combinator(o map[string]any) (string, []any) {
	for _, k := range jsonCombinators {
		if subs, ok := o[k].([]any); ok {
			return k, subs
		}
	}
	return "", nil
}

// compareCombined compares allOf/anyOf/oneOf; false stops the comparison
// of the remaining keywords.
func (d *jsonDiff) compareCombined(path string, original, update jsonNode) bool {
	ok, osubs := combinator(original.obj())
	uk, usubs := combinator(update.obj())
	switch {
	case ok == "" && uk == "":
		return true
	case ok == "":
		d.compareToCombined(path, original, update, uk, usubs)
		return false
	case uk == "":
		d.compareFromCombined(path, original, update, ok, osubs)
		return false
	}
	switch {
	case ok == uk:
	case ok == "allOf" || ok == "oneOf" && uk == "anyOf":
		d.add(path, "COMBINED_TYPE_EXTENDED")
	default:
		d.add(path, "COMBINED_TYPE_CHANGED")
		return false
	}
	if ok == "allOf" && uk == "allOf" {
		d.compareProducts(path, original, update, osubs, usubs)
		return true
	}
	if ok == "allOf" {
		d.compareAllOfToSum(path, original, update, osubs, usubs)
		return true
	}
	d.compareSums(path, original, update, osubs, usubs)
	return true
}

// compareToCombined handles a plain schema turned into a combination.
func (d *jsonDiff) compareToCombined(path string, original, update jsonNode, uk string, usubs []any) {
	if uk == "allOf" {
		for _, s := range usubs {
			if !d.compatible(original, update.child(s)) {
				d.add(path, "TYPE_CHANGED")
				return
			}
		}
		return
	}
	for _, s := range usubs {
		if d.compatible(original, update.child(s)) {
			d.add(path, "SUM_TYPE_EXTENDED")
			return
		}
	}
	d.add(path, "TYPE_CHANGED")
}

// compareFromCombined handles a combination turned into a plain schema.
func (d *jsonDiff) compareFromCombined(path string, original, update jsonNode, ok string, osubs []any) {
	matched := 0
	for _, s := range osubs {
		if d.compatible(original.child(s), update) {
			matched++
		}
	}
	switch {
	case ok == "allOf" && matched > 0, matched == len(osubs):
	case ok != "allOf" && matched > 0:
		d.add(path, "SUM_TYPE_NARROWED")
	default:
		d.add(path, "TYPE_CHANGED")
	}
}

// compareSums matches every original alternative to a distinct compatible
// update alternative, trying the same position first.
func (d *jsonDiff) compareSums(path string, original, update jsonNode, osubs, usubs []any) {
	used := make([]bool, len(usubs))
	unmatched := 0
	for i, os := range osubs {
		j := d.matchSub(original.child(os), update, usubs, used, i, false)
		if j < 0 {
			unmatched++
			continue
		}
		used[j] = true
	}
	switch {
	case unmatched > 0 && len(usubs) < len(osubs):
		d.add(path, "SUM_TYPE_NARROWED")
	case unmatched > 0:
		d.add(path, "COMBINED_TYPE_SUBSCHEMAS_CHANGED")
	case len(usubs) > len(osubs):
		d.add(path, "SUM_TYPE_EXTENDED")
	}
}

// compareProducts matches every update conjunct to a distinct original
// conjunct that implies it.
func (d *jsonDiff) compareProducts(path string, original, update jsonNode, osubs, usubs []any) {
	used := make([]bool, len(osubs))
	unmatched := 0
	for i, us := range usubs {
		j := d.matchSub(update.child(us), original, osubs, used, i, true)
		if j < 0 {
			unmatched++
			continue
		}
		used[j] = true
	}
	switch {
	case unmatched > 0 && len(usubs) > len(osubs):
		d.add(path, "PRODUCT_TYPE_EXTENDED")
	case unmatched > 0:
		d.add(path, "COMBINED_TYPE_SUBSCHEMAS_CHANGED")
	case len(usubs) < len(osubs):
		d.add(path, "PRODUCT_TYPE_NARROWED")
	}
}

// compareAllOfToSum accepts an allOf turned anyOf/oneOf when some
// conjunct is accepted by some alternative.
func (d *jsonDiff) compareAllOfToSum(path string, original, update jsonNode, osubs, usubs []any) {
	for _, os := range osubs {
		for _, us := range usubs {
			if d.compatible(original.child(os), update.child(us)) {
				return
			}
		}
	}
	d.add(path, "COMBINED_TYPE_SUBSCHEMAS_CHANGED")
}

// matchSub finds an unused schema in candidates compatible with n (n as
// the original, or as the update when reversed), preferring index pref.
func (d *jsonDiff) matchSub(n, parent jsonNode, candidates []any, used []bool, pref int, reversed bool) int {
	try := func(j int) bool {
		if j >= len(candidates) || used[j] {
			return false
		}
		c := parent.child(candidates[j])
		if reversed {
			return d.compatible(c, n)
		}
		return d.compatible(n, c)
	}
	if try(pref) {
		return pref
	}
	for j := range candidates {
		if j != pref && try(j) {
			return j
		}
	}
	return -1
}

func itoa(i int) string { return strconv.Itoa(i) }
