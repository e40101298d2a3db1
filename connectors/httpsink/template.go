package httpsink

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// template is a text with ${topic} and ${key} placeholders, rendered per
// record. In a URL the values are escaped so that a key holding "/", "?"
// or "&" cannot change the path or the query.
type template struct {
	parts  []string // literal text and placeholders, alternately; parts[0] is literal
	escape bool
	static bool // no placeholder: render returns parts[0]
}

// parseTemplate parses s, refusing a placeholder other than ${topic} and
// ${key}.
func parseTemplate(s string) (*template, error) {
	t := &template{}
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			t.parts = append(t.parts, rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("placeholder at %q is not closed with }", rest[i:])
		}
		name := rest[i+2 : i+j]
		if name != "topic" && name != "key" {
			return nil, fmt.Errorf("unknown placeholder ${%s}: only ${topic} and ${key} are supported", name)
		}
		t.parts = append(t.parts, rest[:i], name)
		rest = rest[i+j+1:]
	}
	t.static = len(t.parts) == 1
	return t, nil
}

// parseURLTemplate parses a URL template and checks that it is an http or
// https URL once its placeholders are filled.
func parseURLTemplate(s string) (*template, error) {
	t, err := parseTemplate(s)
	if err != nil {
		return nil, err
	}
	t.escape = true
	probe := t.renderWith("topic", "key")
	u, err := url.Parse(probe)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", s)
	}
	return t, nil
}

// render fills the placeholders with r's topic and key (the key as text,
// "null" when absent, as Confluent renders it).
func (t *template) render(r *connect.Record) string {
	if t.static {
		return t.parts[0]
	}
	return t.renderWith(r.Topic, keyText(r))
}

func (t *template) renderWith(topic, key string) string {
	var b strings.Builder
	for i, p := range t.parts {
		if i%2 == 0 {
			b.WriteString(p)
			continue
		}
		v := topic
		if p == "key" {
			v = key
		}
		if t.escape {
			// QueryEscape escapes every reserved character, so the value
			// is one path segment or one query value; a space is %20,
			// which both read as a space.
			v = strings.ReplaceAll(url.QueryEscape(v), "+", "%20")
		}
		b.WriteString(v)
	}
	return b.String()
}

// keyText renders a record key as text.
func keyText(r *connect.Record) string {
	switch k := r.Key.(type) {
	case string:
		return k
	case []byte:
		return string(k)
	}
	return string(javavalue.Append(nil, r.KeySchema, r.Key))
}
