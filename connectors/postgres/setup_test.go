package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotModeDecision(t *testing.T) {
	none := resumePoint{}
	streaming := resumePoint{found: true, lsn: 100, snapshotComplete: true}
	midSnapshot := resumePoint{found: true, lsn: 100}
	missing := slotState{}
	slot := slotState{exists: true, kind: "logical", plugin: "pgoutput", confirmed: 100}
	ahead := slotState{exists: true, kind: "logical", plugin: "pgoutput", confirmed: 200}
	tests := []struct {
		mode     string
		mismatch string
		resume   resumePoint
		slot     slotState
		snapshot bool
		stream   bool
		create   bool
		err      string
	}{
		{"initial", "", none, missing, true, true, true, ""},
		{"initial", "", midSnapshot, slot, true, true, false, ""},
		{"initial", "", streaming, slot, false, true, false, ""},
		{"always", "", streaming, slot, true, true, false, ""},
		{"initial_only", "", none, missing, true, false, false, ""},
		{"initial_only", "", streaming, slot, false, false, false, ""},
		{"no_data", "", none, missing, false, true, true, ""},
		{"never", "", none, missing, false, true, true, ""},
		{"when_needed", "", streaming, slot, false, true, false, ""},
		{"when_needed", "", streaming, missing, true, true, true, ""},
		{"when_needed", "", streaming, ahead, true, true, false, ""},
		// A slot the offsets do not account for is refused under
		// trust_offset, taken with a warning under the other strategies.
		{"when_needed", "", none, slot, false, false, false, "no offsets that account for it"},
		{"initial", "", none, slot, false, false, false, "no offsets that account for it"},
		{"initial", mismatchTrustSlot, none, slot, true, true, false, ""},
		{"no_data", mismatchNoValidation, none, slot, false, true, false, ""},
		{"initial", "", streaming, ahead, false, false, false, "past this connector's offsets (LSN 0/64)"},
		{"initial", mismatchTrustGreaterLSN, streaming, ahead, false, true, false, ""},
		{"initial", "", streaming, missing, false, false, false, "does not exist, but this connector's offsets stream from it"},
		{"initial", mismatchTrustSlot, streaming, missing, false, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode+" "+tt.mismatch, func(t *testing.T) {
			if tt.mismatch == "" {
				tt.mismatch = mismatchTrustOffset
			}
			task := &sourceTask{cfg: taskConfig{snapshotMode: tt.mode, mismatch: tt.mismatch, slot: "s"}, resume: tt.resume, log: discard}
			p, err := task.decide(tt.slot)
			if tt.err != "" {
				require.ErrorIs(t, err, errSlot)
				assert.ErrorContains(t, err, tt.err)
				assert.ErrorContains(t, err, "slot.name")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.snapshot, p.snapshot, "snapshot")
			assert.Equal(t, tt.stream, p.stream, "stream")
			assert.Equal(t, tt.create, p.createSlot, "create the slot")
			switch {
			case p.snapshot:
				assert.False(t, task.resume.found, "a snapshot forgets the old offset")
				if p.stream && !p.createSlot {
					assert.Equal(t, tt.slot.confirmed, p.consistentPoint, "a snapshot on an existing slot streams from its position")
				}
			case tt.slot.confirmed > tt.resume.lsn || !tt.resume.found && tt.slot.exists:
				assert.Equal(t, tt.slot.confirmed, task.resume.lsn, "streams from the slot")
			default:
				assert.Equal(t, tt.resume, task.resume)
			}
		})
	}
}
