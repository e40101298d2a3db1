package worker

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/storage"
)

// TestSubmittedRecords drives the source-offset commit tracker through
// scripts of steps (the cases of Kafka's SubmittedRecordsTest):
//
//	submit r P N   record r of source partition P with offset {"n": N}
//	               (N "-" for a nil offset, P "-" for a nil partition)
//	ack r          the broker acknowledged r
//	take E…        take returns exactly entries E ("P=N"), "none" for none
//	restore        the last take's entries go back (a failed commit)
//	pending N      N records await acknowledgement
func TestSubmittedRecords(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []string
	}{
		{"nothing submitted", []string{"take none", "pending 0"}},
		{"in order", []string{
			"submit a p 1", "submit b p 2", "pending 2",
			"ack a", "take p=1", "ack b", "take p=2", "take none", "pending 0",
		}},
		{"out of order: a later ack waits for the earlier record", []string{
			"submit a p 1", "submit b p 2", "submit c p 3",
			"ack c", "ack b", "take none", "pending 1",
			"ack a", "take p=3", "pending 0",
		}},
		{"an ack in the middle commits only the prefix", []string{
			"submit a p 1", "submit b p 2", "submit c p 3",
			"ack a", "ack c", "take p=1", "ack b", "take p=3",
		}},
		{"several partitions advance independently", []string{
			"submit a p 1", "submit b q 10", "submit c p 2", "submit d q 11",
			"ack b", "ack c", "take q=10", // p waits for a
			"ack a", "take p=2",
			"ack d", "take q=11",
		}},
		{"partitions are compared by value", []string{
			"submit a p 1", "submit b p' 2", "ack b", "take none", "ack a", "take p=2",
		}},
		{"a record without offset keeps its place but commits nothing", []string{
			"submit a p 1", "submit b p -", "ack b", "take none", "ack a", "take p=1",
			"submit c p -", "ack c", "take none",
		}},
		{"records without a partition are tracked too", []string{
			"submit a - 1", "submit b - 2", "ack b", "take none", "ack a", "take -=2",
		}},
		{"a second ack is ignored", []string{
			"submit a p 1", "submit b p 2", "ack a", "ack a", "pending 1", "take p=1", "ack b", "pending 0",
		}},
		{"restore after a failed commit gives the offsets back", []string{
			"submit a p 1", "submit b q 5", "ack a", "ack b", "take p=1 q=5",
			"restore", "take p=1 q=5", "take none",
		}},
		{"restore does not undo newer offsets", []string{
			"submit a p 1", "submit b p 2", "submit c q 7", "ack a", "ack c", "take p=1 q=7",
			"ack b", "restore", "take p=2 q=7",
		}},
		{"restore of a partition no longer tracked", []string{
			// the take emptied p's queue, which dropped p
			"submit a p 1", "ack a", "take p=1", "restore", "take p=1", "take none",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runSubmittedScript(t, tc.steps)
		})
	}
}

// partitions of the scripts: p' is equal to p but another map.
var scriptPartitions = map[string]map[string]any{
	"p":  {"file": "p"},
	"p'": {"file": "p"},
	"q":  {"file": "q"},
	"-":  nil,
}

func runSubmittedScript(t *testing.T, steps []string) {
	t.Helper()
	s := newSubmitted()
	records := map[string]*pendingRecord{}
	var lastTake []storage.OffsetEntry
	for i, step := range steps {
		f := strings.Fields(step)
		where := fmt.Sprintf("step %d %q", i, step)
		switch f[0] {
		case "submit":
			var off map[string]any
			if f[3] != "-" {
				n, err := strconv.Atoi(f[3])
				require.NoError(t, err, where)
				off = map[string]any{"n": n}
			}
			records[f[1]] = s.submit(scriptPartitions[f[2]], off)
		case "ack":
			s.ack(records[f[1]])
		case "take":
			lastTake = s.take()
			want := f[1:]
			if want[0] == "none" {
				want = nil
			}
			require.Equal(t, want, describeEntries(lastTake), where)
		case "restore":
			s.restore(lastTake)
		case "pending":
			n, _ := strconv.Atoi(f[1])
			require.Equal(t, n, s.outstanding(), where)
		default:
			t.Fatalf("%s: unknown step", where)
		}
	}
}

// describeEntries renders entries as sorted "P=N".
func describeEntries(entries []storage.OffsetEntry) []string {
	var out []string
	for _, e := range entries {
		p := "-"
		if e.Partition != nil {
			p = fmt.Sprint(e.Partition["file"])
		}
		out = append(out, fmt.Sprintf("%s=%v", p, e.Offset["n"]))
	}
	slices.Sort(out)
	return out
}

// Many acknowledged records compact the queue without losing the order
// of those still outstanding.
func TestSubmittedCompactsLongQueues(t *testing.T) {
	s := newSubmitted()
	p := map[string]any{"file": "p"}
	var recs []*pendingRecord
	for i := range 5000 {
		recs = append(recs, s.submit(p, map[string]any{"n": i}))
	}
	for _, r := range recs[:3000] {
		s.ack(r)
	}
	require.Equal(t, []string{"p=2999"}, describeEntries(s.take()))
	s.ack(recs[4999])
	require.Empty(t, s.take(), "3000..4998 still outstanding")
	for _, r := range recs[3000:4999] {
		s.ack(r)
	}
	require.Equal(t, []string{"p=4999"}, describeEntries(s.take()))
	require.Zero(t, s.outstanding())
}
