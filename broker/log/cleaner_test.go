package log

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCleanerCheckpointPasses(t *testing.T) {
	var c cleanerCheckpoint
	c.record(100, 1000, 500, true) // [0,100) cleaned at 1000, with tombstones
	c.record(250, 1200, 500, false)
	at, ok := c.cleanedAt(99)
	require.True(t, ok)
	require.Equal(t, int64(1000), at)
	at, _ = c.cleanedAt(100)
	require.Equal(t, int64(1200), at)
	_, ok = c.cleanedAt(250)
	require.False(t, ok, "past CleanedTo is dirty")

	require.False(t, c.tombstonesDue(1499, 500))
	require.True(t, c.tombstonesDue(1500, 500))
	// A pass at 1800 cleared every pass whose horizon had passed: they merge.
	c.record(300, 1800, 500, true)
	require.Equal(t, []cleanPass{{End: 250, AtMs: 1200}, {End: 300, AtMs: 1800, Tombstones: true}}, c.Passes)
	require.False(t, c.tombstonesDue(2299, 500))

	// A pass that stops short of a pass's end does not clear it.
	c2 := cleanerCheckpoint{CleanedTo: 300, Passes: []cleanPass{{End: 300, AtMs: 0, Tombstones: true}}}
	c2.record(200, 1000, 500, false)
	require.True(t, c2.Passes[0].Tombstones)

	// Recovery cut the log below what was cleaned.
	c.clamp(260)
	require.Equal(t, int64(260), c.CleanedTo)
	require.Equal(t, []cleanPass{{End: 250, AtMs: 1200}, {End: 260, AtMs: 1800, Tombstones: true}}, c.Passes)

	// The list stays bounded; merging keeps the later time.
	var c3 cleanerCheckpoint
	for i := range 100 {
		c3.record(int64(i+1)*10, int64(i), 1<<40, true)
	}
	require.Len(t, c3.Passes, maxCleanPasses)
	require.Equal(t, int64(1000), c3.CleanedTo)
	at, _ = c3.cleanedAt(0)
	require.Equal(t, int64(68), at)
}
