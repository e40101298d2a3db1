// Package docgen renders the README's config key tables from the config
// definitions, so the docs cannot drift from the code. Each table sits
// between markers:
//
//	<!-- keys:NAME -->
//	...generated...
//	<!-- /keys:NAME -->
package docgen

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// Tables returns every generated table by marker name.
func Tables() map[string]string {
	t := map[string]string{
		"worker":           Table(worker.ConfigDef),
		"connector-common": Table(worker.CommonConfigDef()),
		"connector-source": Table(worker.SourceConfigDef()[len(worker.CommonConfigDef()):]),
		"connector-sink":   Table(worker.SinkConfigDef()[len(worker.CommonConfigDef()):]),
	}
	for _, c := range builtin.Connectors() {
		t[c.Class] = Table(c.Config)
	}
	var plugins strings.Builder
	plugins.WriteString("| class | type | config keys |\n|---|---|---|\n")
	for _, p := range builtin.Others() {
		var keys []string
		for _, k := range p.Config {
			keys = append(keys, "`"+k.Name+"`")
		}
		fmt.Fprintf(&plugins, "| `%s` | %s | %s |\n", p.Class, p.Type, strings.Join(keys, ", "))
	}
	t["plugins"] = plugins.String()
	return t
}

// Table renders one definition as a markdown table.
func Table(def connect.ConfigDef) string {
	var b strings.Builder
	b.WriteString("| key | type | default | description |\n|---|---|---|---|\n")
	for i := range def {
		k := &def[i]
		dflt := "(required)"
		if !k.Required() {
			dflt = "null"
			if s, ok := k.DefaultString(); ok {
				// GitHub's tables split cells at a | even inside a
				// code span, and render an escaped one there as |.
				dflt = "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
				if s == "" {
					dflt = `""`
				}
			}
		}
		doc := strings.ReplaceAll(k.Doc, "|", `\|`)
		if k.Validator != nil {
			doc += " Valid values: " + strings.ReplaceAll(k.Validator.String(), "|", `\|`) + "."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, strings.ToLower(string(k.Type)), dflt, doc)
	}
	return b.String()
}

var marker = regexp.MustCompile(`(?s)<!-- keys:([^ ]+) -->\n.*?<!-- /keys:([^ ]+) -->`)

// Update rewrites every marked table in doc; unknown marker names are
// errors, so a renamed plugin cannot leave a stale table behind.
func Update(doc string) (string, error) {
	tables := Tables()
	var errs []string
	out := marker.ReplaceAllStringFunc(doc, func(m string) string {
		sub := marker.FindStringSubmatch(m)
		name := sub[1]
		if sub[2] != name {
			errs = append(errs, fmt.Sprintf("marker %s closed as %s", name, sub[2]))
			return m
		}
		t, ok := tables[name]
		if !ok {
			errs = append(errs, "no table named "+name)
			return m
		}
		return "<!-- keys:" + name + " -->\n" + t + "<!-- /keys:" + name + " -->"
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("docgen: %s", strings.Join(errs, "; "))
	}
	return out, nil
}
