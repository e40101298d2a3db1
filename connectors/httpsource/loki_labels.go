package httpsource

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseLokiLabels parses a stream's labels in the Prometheus text syntax
// that Loki's protobuf push carries: {name="value", other="v\"x"}. Names
// are identifiers ([a-zA-Z_][a-zA-Z0-9_]*) or, as Prometheus 3 allows,
// double-quoted strings; values are double-quoted strings with Go
// escapes or back-quoted raw strings (LogQL accepts both); a trailing
// comma is allowed. The labels come back sorted by name, as Loki keeps
// them. A duplicate name, an empty set or anything else malformed is an
// error saying where.
func parseLokiLabels(s string) ([]Field, error) {
	p := labelParser{s: s}
	p.space()
	if !p.eat('{') {
		return nil, fmt.Errorf("labels %q must start with '{'", s)
	}
	var out []Field
	seen := map[string]bool{}
	for {
		p.space()
		if p.eat('}') {
			break
		}
		if len(out) > 0 {
			if !p.eat(',') {
				return nil, p.errorf("expected ',' or '}'")
			}
			p.space()
			if p.eat('}') {
				break
			}
		}
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		p.space()
		if !p.eat('=') {
			return nil, p.errorf("expected '=' after label name %q", name)
		}
		p.space()
		value, err := p.quoted()
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, p.errorf("duplicate label name %q", name)
		}
		seen[name] = true
		out = append(out, Field{Name: name, Value: value})
	}
	p.space()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected text after '}'")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// labelParser walks a label set; i is the offset of the next byte.
type labelParser struct {
	s string
	i int
}

func (p *labelParser) errorf(format string, args ...any) error {
	return fmt.Errorf("labels %q at offset %d: %s", p.s, p.i, fmt.Sprintf(format, args...))
}

func (p *labelParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *labelParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// name reads a label name: an identifier or a double-quoted string.
func (p *labelParser) name() (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		n, err := p.quoted()
		if err == nil && n == "" {
			return "", p.errorf("empty label name")
		}
		return n, err
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.i > start && c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return "", p.errorf("expected a label name")
	}
	return p.s[start:p.i], nil
}

// quoted reads a "…" string with Go escapes or a `…` raw string.
func (p *labelParser) quoted() (string, error) {
	if p.i >= len(p.s) {
		return "", p.errorf("expected a quoted value")
	}
	q := p.s[p.i]
	if q != '"' && q != '`' {
		return "", p.errorf("expected a quoted value")
	}
	for j := p.i + 1; j < len(p.s); j++ {
		switch p.s[j] {
		case '\\':
			if q == '"' {
				j++ // the escaped byte cannot end the string
			}
		case q:
			lit := p.s[p.i : j+1]
			v, err := strconv.Unquote(lit)
			if err != nil {
				return "", p.errorf("invalid quoted string %s: %v", lit, err)
			}
			if !utf8.ValidString(v) {
				return "", p.errorf("quoted string %s is not valid UTF-8", lit)
			}
			p.i = j + 1
			return v, nil
		}
	}
	return "", p.errorf("unterminated quoted string")
}
