package postgres

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The committed offset is read whatever form its numbers took in the
// offset store; a value of the wrong type is refused with an error naming
// the key, not read as zero.
func TestReadResume(t *testing.T) {
	partition := map[string]any{"server": "shop"}
	cases := []struct {
		name string
		off  map[string]any
		want resumePoint
		err  string
	}{
		{"none", nil, resumePoint{}, ""},
		{"streaming", map[string]any{"lsn": int64(100)}, resumePoint{found: true, lsn: 100, snapshotComplete: true}, ""},
		{"lsn as a float", map[string]any{"lsn": float64(100)}, resumePoint{found: true, lsn: 100, snapshotComplete: true}, ""},
		{"lsn as json.Number", map[string]any{"lsn": json.Number("100")}, resumePoint{found: true, lsn: 100, snapshotComplete: true}, ""},
		{"snapshot in progress", map[string]any{"lsn": int64(7), "snapshot": true, "last_snapshot_record": false},
			resumePoint{found: true, lsn: 7}, ""},
		{"snapshot done", map[string]any{"lsn": int64(7), "snapshot": true, "last_snapshot_record": true},
			resumePoint{found: true, lsn: 7, snapshotComplete: true}, ""},
		{"snapshot kind as a string", map[string]any{"lsn": int64(7), "snapshot": "INITIAL"},
			resumePoint{found: true, lsn: 7}, ""},
		{"last record of a snapshot kind", map[string]any{"lsn": int64(7), "snapshot": "INITIAL", "last_snapshot_record": true},
			resumePoint{found: true, lsn: 7, snapshotComplete: true}, ""},
		{"snapshot false as a string", map[string]any{"lsn": int64(7), "snapshot": "false"},
			resumePoint{found: true, lsn: 7, snapshotComplete: true}, ""},
		{"snapshot garbage", map[string]any{"lsn": int64(7), "snapshot": "garbage"}, resumePoint{},
			`key "snapshot" holds string garbage, not a boolean or a snapshot kind`},
		{"snapshot a number", map[string]any{"lsn": int64(7), "snapshot": int64(1)}, resumePoint{},
			`key "snapshot" holds int64 1, not a boolean or a snapshot kind`},
		{"last snapshot record garbage", map[string]any{"lsn": int64(7), "snapshot": true, "last_snapshot_record": "garbage"}, resumePoint{},
			`key "last_snapshot_record" holds string garbage`},
		{"partial transaction", map[string]any{"lsn": int64(7), txLSNKey: int64(9), txRecordsKey: float64(3)},
			resumePoint{found: true, lsn: 7, snapshotComplete: true, partialTx: 9, partialRecords: 3}, ""},
		{"no lsn", map[string]any{"txId": int64(1)}, resumePoint{}, "invalid source offset: no lsn"},
		{"lsn a string", map[string]any{"lsn": "0/16B3748"}, resumePoint{}, `invalid source offset: key "lsn" holds string 0/16B3748, not an integer`},
		{"lsn a fraction", map[string]any{"lsn": 1.5}, resumePoint{}, `key "lsn" holds float64 1.5, not an integer`},
		{"tx lsn a string", map[string]any{"lsn": int64(7), txLSNKey: "9"}, resumePoint{}, `read committed offset: invalid source offset: key "lsn_tx" holds string 9, not an integer`},
		{"tx records a bool", map[string]any{"lsn": int64(7), txLSNKey: int64(9), txRecordsKey: true}, resumePoint{}, `key "tx_records" holds bool true, not an integer`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := &taskContext{}
			ctx.Offsets = &connecttest.Offsets{}
			require.NoError(t, ctx.Offsets.Put(partition, tc.off))
			got, err := readResume(ctx, partition)
			if tc.err != "" {
				require.ErrorIs(t, err, connect.ErrOffset)
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Commit confirms the LSN of the offsets the worker hands it, without
// reading them back (the task has no context here); snapshot offsets and
// an empty commit confirm nothing, and the confirmed LSN never goes back.
func TestCommitConfirmsTheCommittedLSN(t *testing.T) {
	task := &sourceTask{}
	task.cfg.flushLSN = true
	commit := func(off connect.Offset) error {
		return task.Commit([]connect.SourceOffset{{Partition: map[string]any{"server": "shop"}, Offset: off}})
	}
	require.NoError(t, commit(connect.Offset{"lsn": int64(100)}))
	assert.EqualValues(t, 100, task.confirm.Load())
	require.NoError(t, commit(connect.Offset{"lsn": int64(200), "snapshot": true}))
	assert.EqualValues(t, 100, task.confirm.Load(), "a snapshot offset confirms nothing")
	require.NoError(t, task.Commit(nil))
	assert.EqualValues(t, 100, task.confirm.Load())
	require.NoError(t, commit(connect.Offset{"lsn": int64(50)}))
	assert.EqualValues(t, 100, task.confirm.Load(), "never backwards")
	require.NoError(t, commit(connect.Offset{"lsn": float64(300)}))
	assert.EqualValues(t, 300, task.confirm.Load())
	require.ErrorIs(t, commit(connect.Offset{"lsn": "x"}), connect.ErrOffset)
	assert.EqualValues(t, 300, task.confirm.Load())

	off := &sourceTask{}
	require.NoError(t, off.Commit([]connect.SourceOffset{{Offset: connect.Offset{"lsn": int64(100)}}}))
	assert.Zero(t, off.confirm.Load(), "flush.lsn.source=false confirms nothing")
}
