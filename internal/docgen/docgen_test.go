package docgen

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/builtin"
)

var update = flag.Bool("update", false, "rewrite README.md's generated tables")

// TestREADMEKeyTables fails when a config key table in README.md differs
// from the config definitions; run with -update to regenerate.
func TestREADMEKeyTables(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	got, err := Update(string(b))
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	require.True(t, string(b) == got, "README.md config tables are stale: go test ./internal/docgen -update")
	for name := range Tables() {
		require.True(t, strings.Contains(got, "<!-- keys:"+name+" -->"), "README.md has no table for %s", name)
	}
	for _, c := range builtin.Connectors() {
		for _, k := range c.Config {
			require.True(t, strings.Contains(got, "`"+k.Name+"`"), "key %s of %s is not documented", k.Name, c.Class)
		}
	}
}
