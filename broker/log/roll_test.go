package log

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSegmentMsRollsByAge(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	s, err := Open(Options{Dir: "/data", FS: newMemFS(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"segment.ms": "60000"}, false))
	p, _ := s.Partition("t", 0)
	segments := func() int {
		p.mu.RLock()
		defer p.mu.RUnlock()
		return len(p.segments)
	}
	_, err = p.Append(mkBatch(t, "a", 1, now.UnixMilli()))
	require.NoError(t, err)
	now = now.Add(59 * time.Second)
	_, err = p.Append(mkBatch(t, "b", 1, now.UnixMilli()))
	require.NoError(t, err)
	assert.Equal(t, 1, segments(), "younger than segment.ms: no roll")
	now = now.Add(2 * time.Second)
	res, err := p.Append(mkBatch(t, "c", 1, now.UnixMilli()))
	require.NoError(t, err)
	assert.Equal(t, 2, segments(), "older than segment.ms: the next append rolls")
	p.mu.RLock()
	assert.Equal(t, res.BaseOffset, p.segments[1].base, "the new segment starts at the batch that rolled it")
	p.mu.RUnlock()
	assert.GreaterOrEqual(t, p.DurableOffset(), res.BaseOffset, "rolling fsyncs the old segment")
	require.NoError(t, s.Close())
}

func TestLogAppendTimeStampsBatches(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	s, err := Open(Options{Dir: "/data", FS: newMemFS(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	require.NoError(t, s.CreateTopic("t", 1, map[string]string{"message.timestamp.type": "LogAppendTime"}, false))
	p, _ := s.Partition("t", 0)
	res, err := p.Append(mkBatch(t, "old", 3, 42))
	require.NoError(t, err)
	assert.Equal(t, now.UnixMilli(), res.LogAppendTime)
	recs := readAllRecords(t, p)
	require.Len(t, recs, 3)
	for _, r := range recs {
		assert.Equal(t, now.UnixMilli(), r.Timestamp, "consumers see the broker's time")
	}
	off, ts, err := p.OffsetForTimestamp(now.UnixMilli())
	require.NoError(t, err)
	assert.Equal(t, int64(0), off)
	assert.Equal(t, now.UnixMilli(), ts)
	require.NoError(t, s.Close())
}
