package httpsource

// Ordered JSON for Elasticsearch answers, and filter_path.
//
// Answers are built as esObj trees (keys in Elasticsearch's order, which
// a map would lose) and encoded compactly: Vector looks for the literal
// "errors":true. filter_path keeps only the matching paths, as
// Elasticsearch does: a comma-separated list of dotted paths whose
// segments may hold * wildcards, ** matching any depth, arrays passed
// through, and objects or arrays left empty dropped. Beats sends
// filter_path=errors,items.*.error,items.*.status.

import (
	"encoding/json"
	"path"
	"strconv"
	"strings"
)

// esKV is one member of an esObj.
type esKV struct {
	K string
	V any
}

// esObj is a JSON object whose members keep their order.
type esObj []esKV

// MarshalJSON encodes o compactly, in order.
func (o esObj) MarshalJSON() ([]byte, error) {
	return appendESJSON(nil, o)
}

// appendESJSON appends v compactly: esObj, []any, strings, integers,
// booleans and json.Number directly (a bulk answer has one small object
// per item, so no reflection), anything else through encoding/json.
func appendESJSON(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case esObj:
		b = append(b, '{')
		for i, kv := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendESJSON(b, kv.K); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendESJSON(b, kv.V); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendESJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case string:
		if isPlainASCII(t) {
			b = append(b, '"')
			b = append(b, t...)
			return append(b, '"'), nil
		}
	case int:
		return strconv.AppendInt(b, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(b, t, 10), nil
	case bool:
		return strconv.AppendBool(b, t), nil
	case json.Number:
		return append(b, t...), nil
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

// isPlainASCII tells whether s needs no JSON escaping.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// esFilter is a parsed filter_path: each pattern as its segments.
type esFilter [][]string

// parseFilterPath parses a filter_path value; empty means no filter.
// Exclusions (a leading -) are not supported and are ignored.
func parseFilterPath(s string) esFilter {
	var f esFilter
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "-") {
			continue
		}
		f = append(f, strings.Split(p, "."))
	}
	return f
}

// apply returns v with only the paths f selects, and whether anything
// is left.
func (f esFilter) apply(v any) (any, bool) {
	if len(f) == 0 {
		return v, true
	}
	return filterValue(v, f)
}

// filterValue filters v by the patterns' remaining segments. A pattern
// with no segments left selects v whole.
func filterValue(v any, pats [][]string) (any, bool) {
	for _, p := range pats {
		if len(p) == 0 {
			return v, true
		}
	}
	switch t := v.(type) {
	case esObj:
		var out esObj
		for _, kv := range t {
			var next [][]string
			for _, p := range pats {
				next = append(next, advance(p, kv.K)...)
			}
			if len(next) == 0 {
				continue
			}
			if fv, ok := filterValue(kv.V, next); ok {
				out = append(out, esKV{kv.K, fv})
			}
		}
		return out, len(out) > 0
	case []any:
		var out []any
		for _, e := range t {
			if fv, ok := filterValue(e, pats); ok {
				out = append(out, fv)
			}
		}
		return out, len(out) > 0
	}
	return nil, false // a leaf the patterns go past
}

// advance returns what is left of pattern p after it matches key: none
// when it does not match; for **, both staying and moving on.
func advance(p []string, key string) [][]string {
	if p[0] == "**" {
		out := [][]string{p} // ** keeps matching deeper
		if len(p) > 1 {
			if ok, _ := path.Match(p[1], key); ok {
				out = append(out, p[2:])
			}
		}
		return out
	}
	if ok, _ := path.Match(p[0], key); ok {
		return [][]string{p[1:]}
	}
	return nil
}
