// Package testenv starts real servers for tests — the Sluice broker
// in-process, external binaries such as kcat — on free ports in temporary
// directories, and cleans them up.
//
// A test that needs an external binary calls RequireBinary: it skips when the
// binary is missing, unless SLUICE_REQUIRE_SERVERS=1 (set by CI), where it
// fails instead.
package testenv

import (
	"log/slog"
	"os"
	"os/exec"
	"testing"
)

// RequireServers reports whether missing servers must fail tests.
func RequireServers() bool { return os.Getenv("SLUICE_REQUIRE_SERVERS") == "1" }

// RequireBinary returns the path of an executable, skipping the test when it
// is absent (failing under SLUICE_REQUIRE_SERVERS=1).
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if RequireServers() {
			t.Fatalf("%s is not installed and SLUICE_REQUIRE_SERVERS=1: %v", name, err)
		}
		t.Skipf("%s is not installed: %v", name, err)
	}
	return path
}

// Logger returns a logger for components under test: debug output to
// stderr when SLUICE_TEST_LOG is set, nothing otherwise.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("SLUICE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}
