package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSnapshotModeDecision(t *testing.T) {
	none := resumePoint{}
	streaming := resumePoint{found: true, lsn: 100, snapshotComplete: true}
	midSnapshot := resumePoint{found: true, lsn: 100}
	tests := []struct {
		mode       string
		resume     resumePoint
		slotExists bool
		snapshot   bool
		stream     bool
	}{
		{"initial", none, false, true, true},
		{"initial", midSnapshot, true, true, true},
		{"initial", streaming, true, false, true},
		{"always", streaming, true, true, true},
		{"initial_only", none, false, true, false},
		{"initial_only", streaming, true, false, false},
		{"no_data", none, false, false, true},
		{"never", none, false, false, true},
		{"when_needed", streaming, true, false, true},
		{"when_needed", streaming, false, true, true},
		{"when_needed", none, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			task := &sourceTask{cfg: taskConfig{snapshotMode: tt.mode}, resume: tt.resume}
			p := task.decide(tt.slotExists)
			assert.Equal(t, tt.snapshot, p.snapshot, "snapshot")
			assert.Equal(t, tt.stream, p.stream, "stream")
			if p.snapshot {
				assert.False(t, task.resume.found, "a snapshot forgets the old offset")
			} else {
				assert.Equal(t, tt.resume, task.resume)
			}
		})
	}
}

func TestFilterCaptures(t *testing.T) {
	tests := []struct {
		name string
		f    filter
		in   []string
		out  []string
	}{
		{"everything", filter{}, []string{"public.a", "s.b"}, nil},
		{"table include", filter{tableIn: compileList([]string{"public\\.a.*"})}, []string{"public.a", "PUBLIC.AB"}, []string{"public.b", "x.public.a"}},
		{"table exclude", filter{tableEx: compileList([]string{"public.b"})}, []string{"public.a"}, []string{"public.b"}},
		{"schema include", filter{schemaIn: compileList([]string{"inv"})}, []string{"inv.a"}, []string{"public.a"}},
		{"schema exclude", filter{schemaEx: compileList([]string{"inv"})}, []string{"public.a"}, []string{"inv.a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := func(s string) tableRef {
				for i := range s {
					if s[i] == '.' {
						return tableRef{Schema: s[:i], Name: s[i+1:]}
					}
				}
				return tableRef{Name: s}
			}
			for _, s := range tt.in {
				assert.True(t, tt.f.captures(ref(s)), s)
			}
			for _, s := range tt.out {
				assert.False(t, tt.f.captures(ref(s)), s)
			}
		})
	}
}
