package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// NPMProject installs the npm project in dir (its package.json and
// package-lock.json, with npm ci) once per lock file into the user's cache
// directory, copies scripts (paths relative to the test's directory) next
// to its node_modules so Node resolves their imports, and returns where it
// is. It skips when node or npm is missing or npm cannot reach its
// registry, and fails instead under SLUICE_REQUIRE_SERVERS=1.
func NPMProject(t testing.TB, dir string, scripts ...string) string {
	t.Helper()
	RequireBinary(t, "node")
	npm := RequireBinary(t, "npm")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatalf("npm project %s: %v", dir, err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	inst := filepath.Join(cache, "sluice-test", "npm-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(inst, ".installed")); err != nil {
		if err := os.MkdirAll(filepath.Dir(inst), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(inst), "install-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		for _, f := range []string{"package.json", "package-lock.json"} {
			copyFile(t, filepath.Join(dir, f), filepath.Join(tmp, f))
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			if RequireServers() {
				t.Fatalf("npm ci in %s failed and SLUICE_REQUIRE_SERVERS=1: %v\n%s", dir, err, out)
			}
			t.Skipf("npm ci in %s failed (is the npm registry reachable?): %v\n%s", dir, err, out)
		}
		if err := os.WriteFile(filepath.Join(tmp, ".installed"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		// Another test run may have installed it meanwhile; either copy
		// is complete.
		if err := os.Rename(tmp, inst); err != nil {
			if _, statErr := os.Stat(filepath.Join(inst, ".installed")); statErr != nil {
				t.Fatalf("install the npm project %s: %v", dir, err)
			}
		}
	}
	for _, s := range scripts {
		copyFile(t, s, filepath.Join(inst, filepath.Base(s)))
	}
	return inst
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
