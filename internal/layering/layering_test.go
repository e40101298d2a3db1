// Package layering holds the test that keeps the import arrows of
// DESIGN.md true: connectors → runtime/connect, runtime/* →
// runtime/connect, rest → runtime/worker, cmd → everything, and the broker
// and the registry never import the runtime. It checks what each package
// compiles in (its transitive imports, tests excluded: a test may drive a
// connector through the real worker).
package layering

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sluicehq/sluice/"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// rule forbids the packages matching from to depend on the packages
// matching to, except those allowed.
type rule struct {
	why     string
	from    func(string) bool
	to      func(string) bool
	allowed []string
}

func (r rule) forbids(dep string) bool {
	return r.to(dep) && !slices.Contains(r.allowed, dep) && !r.from(dep)
}

func under(prefixes ...string) func(string) bool {
	return func(p string) bool {
		for _, pre := range prefixes {
			if p == pre || strings.HasPrefix(p, pre+"/") {
				return true
			}
		}
		return false
	}
}

func except(match func(string) bool, not ...string) func(string) bool {
	return func(p string) bool { return match(p) && !slices.Contains(not, p) }
}

var rules = []rule{
	{
		why: "connectors import only runtime/connect of the runtime, and runtime/convert and runtime/convert/schemaconv as " +
			"libraries (Kafka's JsonConverter reads and writes the JSON a connector receives or sends, as Java connectors use " +
			"connect-json; AvroData turns Connect schemas into Avro ones, as Confluent's storage connectors use the Avro " +
			"converter's AvroData; schemaconv brings runtime/convert/rules), and never the worker, the broker, the registry, the REST API or cmd",
		from:    except(under("connectors"), "connectors/builtin"),
		to:      under("runtime", "broker", "schema-registry", "rest", "cmd"),
		allowed: []string{"runtime/connect", "runtime/convert", "runtime/convert/schemaconv", "runtime/convert/rules"},
	},
	{
		why:     "connectors/builtin lists the built-in plugins (converters and transforms too) and does not import the worker",
		from:    under("connectors/builtin"),
		to:      under("runtime", "broker", "schema-registry", "rest", "cmd"),
		allowed: []string{"runtime/connect", "runtime/convert", "runtime/convert/schemaconv", "runtime/convert/rules", "runtime/transform"},
	},
	{
		why:  "the broker and the schema registry import no runtime/*, connector, REST or cmd package",
		from: under("broker", "schema-registry"),
		to:   under("runtime", "connectors", "rest", "cmd"),
	},
	{
		why:  "the broker does not import the registry",
		from: under("broker"),
		to:   under("schema-registry"),
	},
	{
		why:  "runtime/* imports no connector, broker, registry, REST or cmd package",
		from: under("runtime"),
		to:   under("connectors", "broker", "schema-registry", "rest", "cmd"),
	},
	{
		why:     "runtime/connect, the plugin contract, imports no other runtime package",
		from:    under("runtime/connect"),
		to:      under("runtime", "connectors", "broker", "schema-registry", "rest", "cmd"),
		allowed: []string{"runtime/connect"},
	},
	{
		why:  "rest imports the worker, not the connectors, the broker or the registry",
		from: under("rest"),
		to:   under("connectors", "broker", "schema-registry", "cmd"),
	},
}

// listPackages runs go list over the module, with every package's direct
// imports and transitive dependencies, trimmed to the module's own.
func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps", module+"...")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list: %v\n%s", err, ee.Stderr)
	}
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		p.Imports = own(p.Imports)
		p.Deps = own(p.Deps)
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; is the test run inside the module?", len(pkgs))
	}
	return pkgs
}

func own(paths []string) []string {
	var out []string
	for _, p := range paths {
		if strings.HasPrefix(p, module) {
			out = append(out, strings.TrimPrefix(p, module))
		}
	}
	return out
}

// chain returns the import path from one package to a dependency, through
// direct imports: a, b, c for a → b → c.
func chain(pkgs map[string]pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			path := []string{p}
			for q := prev[p]; q != ""; q = prev[q] {
				path = append([]string{q}, path...)
			}
			return path
		}
		for _, next := range pkgs[p].Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = p
				queue = append(queue, next)
			}
		}
	}
	return []string{from, to}
}

// violations returns one line per forbidden dependency, naming the import
// chain that brings it in. A dependency reached only through another
// forbidden one is not listed again: fixing the first edge fixes it.
func violations(pkgs map[string]pkg) []string {
	var out []string
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, r := range rules {
		for _, name := range names {
			if !r.from(name) {
				continue
			}
			for _, dep := range pkgs[name].Deps {
				if !r.forbids(dep) {
					continue
				}
				path := chain(pkgs, name, dep)
				if slices.ContainsFunc(path[1:len(path)-1], r.forbids) {
					continue
				}
				out = append(out, fmt.Sprintf("%s imports %s (%s): %s", name, dep, strings.Join(path, " → "), r.why))
			}
		}
	}
	return out
}

func TestImportsFollowDesignArrows(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	for _, v := range violations(listPackages(t)) {
		t.Error(v)
	}
}

// The rules catch a forbidden edge, direct or through another package, and
// name the chain.
func TestViolationsNameTheChain(t *testing.T) {
	pkgs := map[string]pkg{
		"connectors/x":       {Imports: []string{"internal/y"}, Deps: []string{"internal/y", "runtime/worker", "runtime/connect"}},
		"internal/y":         {Imports: []string{"runtime/worker"}, Deps: []string{"runtime/worker", "runtime/connect"}},
		"runtime/worker":     {Imports: []string{"runtime/connect"}, Deps: []string{"runtime/connect"}},
		"runtime/connect":    {},
		"broker":             {Imports: []string{"internal/y"}, Deps: []string{"internal/y", "runtime/worker", "runtime/connect"}},
		"schema-registry":    {},
		"connectors/ok":      {Imports: []string{"runtime/connect"}, Deps: []string{"runtime/connect"}},
		"connectors/builtin": {Imports: []string{"runtime/worker"}, Deps: []string{"runtime/worker", "runtime/connect"}},
	}
	got := violations(pkgs)
	want := []string{
		"connectors/builtin imports runtime/worker (connectors/builtin → runtime/worker)",
		"connectors/x imports runtime/worker (connectors/x → internal/y → runtime/worker)",
		"broker imports runtime/worker (broker → internal/y → runtime/worker)",
	}
	for _, w := range want {
		found := slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) })
		if !found {
			t.Errorf("no violation %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
}
