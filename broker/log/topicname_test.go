package log

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every legal topic name works on a real filesystem, up to 249 characters:
// its metadata file (254 characters) used to be written through a 258-
// character temporary name, which failed.
func TestLongestTopicNameLifecycle(t *testing.T) {
	dir := t.TempDir()
	name := strings.Repeat("n", 249)
	require.NoError(t, ValidateTopicName(name))
	s := openStore(t, OSFS{}, dir, nil)
	require.NoError(t, s.CreateTopic(name, 2, map[string]string{"cleanup.policy": "compact", "internal.segment.bytes": "300"}, false))
	p, _ := s.Partition(name, 1)
	for range 6 {
		_, err := p.Append(mkBatch(t, "k", 1, 1000)) // one key: compaction keeps the last
		require.NoError(t, err)
	}
	require.NoError(t, s.SetTopicConfig(name, map[string]string{"cleanup.policy": "compact", "internal.segment.bytes": "300", "min.cleanable.dirty.ratio": "0.01"}, false))
	require.NoError(t, s.CreatePartitions(name, 3, false))
	require.NoError(t, s.Compact())
	_, err := s.Partition(name, 2)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openStore(t, OSFS{}, dir, nil)
	tp, ok := s.Topic(name)
	require.True(t, ok)
	require.Len(t, tp.Partitions, 3)
	assert.Equal(t, "0.01", tp.Overrides["min.cleanable.dirty.ratio"])
	p, _ = s.Partition(name, 1)
	recs := readAllRecords(t, p)
	require.NotEmpty(t, recs)
	assert.Less(t, len(recs), 6, "compaction ran")
	assert.Equal(t, "k-0", string(recs[len(recs)-1].Value))
	require.NoError(t, s.DeleteTopic(name))
	require.NoError(t, s.Close())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), "nnn"), "left behind: %s", e.Name())
	}
	metas, err := os.ReadDir(dir + "/" + topicMetaDir)
	require.NoError(t, err)
	assert.Empty(t, metas)
}

// A CreateTopic or CreatePartitions that fails part way leaves no partition
// directory behind.
func TestFailedCreateLeavesNothing(t *testing.T) {
	fs := newMemFS()
	now := time.Now()
	s, err := Open(Options{Dir: "/data", FS: fs, Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("grow", 1, nil, false))
	fs.SetFailSyncs(true)
	require.Error(t, s.CreateTopic("t", 3, nil, false))
	require.Error(t, s.CreatePartitions("grow", 3, false))
	fs.SetFailSyncs(false)
	entries, err := fs.ReadDir("/data")
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"grow-0", topicMetaDir}, names)
	_, ok := s.Topic("t")
	assert.False(t, ok)
	tp, _ := s.Topic("grow")
	assert.Len(t, tp.Partitions, 1)
	require.NoError(t, s.CreateTopic("t", 3, nil, false), "the name is free again")
	require.NoError(t, s.CreatePartitions("grow", 3, false))
	require.NoError(t, s.Close())
}
