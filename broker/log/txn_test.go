package log

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluicehq/sluice/broker/batch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mkTxnBatch(t testing.TB, tag string, n int, pid int64, epoch int16, seq int32) []byte {
	t.Helper()
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{Key: []byte(tag), Value: fmt.Appendf(nil, "%s-%d", tag, i), Timestamp: 1}
	}
	b, err := batch.Encode(batch.EncodeOptions{ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, Transactional: true}, recs)
	require.NoError(t, err)
	return b
}

func appendMarker(t *testing.T, p *Partition, pid int64, epoch int16, commit bool) int64 {
	t.Helper()
	m, err := EncodeMarker(pid, epoch, commit, 0, 1)
	require.NoError(t, err)
	typ, err := ControlType(m)
	require.NoError(t, err)
	assert.Equal(t, commit, typ == ControlCommit)
	res, err := p.Append(m)
	require.NoError(t, err)
	return res.BaseOffset
}

func TestTransactionsLSOAndAbortedAcrossRestarts(t *testing.T) {
	for _, clean := range []bool{true, false} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			fs := newMemFS()
			s := openStore(t, fs, "/data", nil)
			require.NoError(t, s.CreateTopic("t", 1, nil, false))
			p, _ := s.Partition("t", 0)

			_, err := p.Append(mkBatch(t, "plain", 2, 1)) // 0-1
			require.NoError(t, err)
			_, err = p.Append(mkTxnBatch(t, "a", 2, 5, 0, 0)) // 2-3, pid 5
			require.NoError(t, err)
			_, err = p.Append(mkTxnBatch(t, "b", 1, 6, 0, 0)) // 4, pid 6
			require.NoError(t, err)
			assert.Equal(t, int64(2), p.LastStableOffset())
			abortAt := appendMarker(t, p, 5, 0, false) // 5
			assert.Equal(t, int64(4), p.LastStableOffset(), "pid 6 still open")
			assert.Equal(t, []AbortedTxn{{ProducerID: 5, FirstOffset: 2, LastOffset: abortAt}}, p.AbortedTransactions(0, 6))
			assert.Empty(t, p.AbortedTransactions(6, 10))

			if clean {
				require.NoError(t, s.Close())
			} else {
				require.NoError(t, p.Flush(1<<62))
				fs.Crash(rand.New(rand.NewPCG(1, 2)), false)
			}
			s = openStore(t, fs, "/data", nil)
			p, _ = s.Partition("t", 0)
			assert.Equal(t, int64(4), p.LastStableOffset(), "recovery keeps the open transaction")
			assert.Len(t, p.AbortedTransactions(0, 10), 1)
			appendMarker(t, p, 6, 0, true)
			_, hw := p.Offsets()
			assert.Equal(t, hw, p.LastStableOffset())
			assert.Len(t, p.AbortedTransactions(0, 10), 1, "a commit adds no aborted transaction")

			// A marker with a bumped epoch fences the old one.
			appendMarker(t, p, 5, 1, false)
			_, err = p.Append(mkTxnBatch(t, "zombie", 1, 5, 0, 2))
			require.ErrorIs(t, err, ErrInvalidProducerEpoch)
			require.NoError(t, s.Close())
		})
	}
}

// TestCompactTransactions: the cleaner keeps committed values that a later
// aborted transaction wrote over, and never cleans past an open
// transaction.
func TestCompactTransactions(t *testing.T) {
	l := newCompactLog(t, map[string]string{"internal.segment.bytes": "1024"})
	keyed := func(pid int64, val string) []byte {
		b, err := batch.Encode(batch.EncodeOptions{ProducerID: pid, ProducerEpoch: 0, BaseSequence: 0, Transactional: true},
			[]batch.Record{{Key: []byte("k"), Value: []byte(val), Timestamp: 1}})
		require.NoError(t, err)
		return b
	}
	visible := func() []string {
		var out []string
		aborted := l.p.AbortedTransactions(0, 1<<62)
		for _, r := range readAllRecords(t, l.p) {
			skip := string(r.Key) != "k"
			for _, a := range aborted {
				skip = skip || r.Offset >= a.FirstOffset && r.Offset < a.LastOffset
			}
			if !skip {
				out = append(out, string(r.Value))
			}
		}
		return out
	}
	fill := func() {
		for i := range 20 {
			l.put([]string{"filler"}, [][]byte{fmt.Appendf(nil, "f%d", i)})
		}
	}
	for i := range 20 {
		l.put([]string{"k"}, [][]byte{fmt.Appendf(nil, "committed%d", i)})
	}
	_, err := l.p.Append(keyed(50, "aborted"))
	require.NoError(t, err)
	appendMarker(t, l.p, 50, 0, false)
	fill()
	require.NoError(t, l.s.Compact())
	assert.Equal(t, []string{"committed19"}, visible(), "the committed value survives an aborted overwrite")

	open, err := l.p.Append(keyed(51, "open"))
	require.NoError(t, err)
	fill()
	l.put([]string{"k"}, [][]byte{[]byte("later")})
	fill()
	require.NoError(t, l.s.Compact())
	assert.Contains(t, visible(), "open", "the open transaction's data is not cleaned")
	assert.Equal(t, open.BaseOffset, l.p.LastStableOffset())
	require.NoError(t, l.s.Close())
}
