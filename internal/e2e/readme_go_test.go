package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A go block is a fragment of a function body, as README examples are:
// `cl, err := kgo.NewClient(…)`. The test wraps each block in a function
// with `ctx := context.Background()` in scope and imports for the packages
// it names (readmeGoPackages, and import=PATH in its marker), puts them all
// in one program, in a temporary module with this module's go.mod and
// go.sum — so the examples build with the dependency versions Sluice is
// tested with — and runs the block's function as a step of its group. A
// `//line README.md:N` directive makes compiler errors name README lines. A
// compile error fails the test; so does a block that panics, calls
// log.Fatal or os.Exit(1), or runs longer than a minute.

// readmeGoPackages maps the package names README examples use to their
// import paths.
var readmeGoPackages = map[string]string{
	"context": "context",
	"errors":  "errors",
	"fmt":     "fmt",
	"log":     "log",
	"os":      "os",
	"strings": "strings",
	"time":    "time",
	"kgo":     "github.com/twmb/franz-go/pkg/kgo",
	"kadm":    "github.com/twmb/franz-go/pkg/kadm",
	"kerr":    "github.com/twmb/franz-go/pkg/kerr",
	"kmsg":    "github.com/twmb/franz-go/pkg/kmsg",
	"sr":      "github.com/twmb/franz-go/pkg/sr",
}

var goQualified = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.[A-Z]`)

// readmeGoImports lists the imports of a go block: context always (ctx is
// in scope), every package of readmeGoPackages it names, and its marker's.
func readmeGoImports(b *readmeBlock) []string {
	imports := []string{"context"}
	for _, m := range goQualified.FindAllStringSubmatch(b.text, -1) {
		if path, ok := readmeGoPackages[m[1]]; ok {
			imports = append(imports, path)
		}
	}
	imports = append(imports, b.marker.imports...)
	slices.Sort(imports)
	return slices.Compact(imports)
}

// readmeGoFunc names the function of the go block at line.
func readmeGoFunc(line int) string { return fmt.Sprintf("readme%d", line) }

// buildReadmeGo builds one program holding every go block to run, and
// returns its path; `PROGRAM readmeN` runs the block at line N.
func buildReadmeGo(t *testing.T, blocks []readmeBlock) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "go.mod" {
			// Another module name: this one is not the module it copies.
			b = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(b, []byte("module readme"))
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var cases strings.Builder
	for _, b := range blocks {
		if b.lang != "go" || b.marker.action != "run" {
			continue
		}
		name := readmeGoFunc(b.line)
		var src strings.Builder
		src.WriteString("package main\n\nimport (\n")
		for _, p := range readmeGoImports(&b) {
			fmt.Fprintf(&src, "\t%q\n", p)
		}
		fmt.Fprintf(&src, ")\n\nfunc %s() {\n\tctx := context.Background()\n\t_ = ctx\n//line README.md:%d\n%s}\n", name, b.line+1, b.text)
		file := filepath.Join(dir, name+".go")
		if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
			t.Fatalf("write %s: %v", file, err)
		}
		fmt.Fprintf(&cases, "\tcase %q:\n\t\t%s()\n", name, name)
	}
	main := "package main\n\nimport \"os\"\n\nfunc main() {\n\tswitch os.Args[1] {\n" + cases.String() +
		"\tdefault:\n\t\tpanic(\"no README block \" + os.Args[1])\n\t}\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatalf("write the README program's main.go: %v", err)
	}
	prog := filepath.Join(dir, "readme-go")
	build := exec.Command("go", "build", "-o", prog, ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the README's go blocks do not build: %v\n%s", err, out)
	}
	return prog
}
