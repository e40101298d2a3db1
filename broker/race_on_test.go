//go:build race

package broker

// raceEnabled: the race detector changes what allocations cost, so the
// tests that count bytes allocated skip their bound.
const raceEnabled = true
