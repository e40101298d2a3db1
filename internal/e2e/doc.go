// Package e2e tests the built sluice binary end to end: it runs the broker
// as a child process, kills it, restarts it, and talks to it with real
// clients (franz-go, kcat).
//
// The tests build cmd/sluice once per run (TestMain) into a temporary
// directory. Tests that need an external client binary skip when it is
// missing, or fail under SLUICE_REQUIRE_SERVERS=1 (see internal/testenv).
package e2e
