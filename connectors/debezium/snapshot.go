package debezium

import (
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// LastSnapshotRecordKey is the offset key of the last record of a
// snapshot: a restart after it does not snapshot again.
const LastSnapshotRecordKey = "last_snapshot_record"

// HeldRead marks the reads of a snapshot as Debezium marks them in
// source.snapshot: it holds the latest read back until the next one (or
// the end of the snapshot) tells whether it is the last of its table or
// of the snapshot. Use one per snapshot: Hold each read, set LastInTable
// when a table ends, and Release(true) the Record left at the end.
type HeldRead struct {
	// Record is the read held back; nil before the first.
	Record *connect.Record
	// LastInTable says Record is its table's last read.
	LastInTable  bool
	firstTable   bool // its table is the first snapshotted
	firstInTable bool
}

// Release sets the held record's source.snapshot marker with Debezium's
// precedence: last, first, last_in_data_collection,
// first_in_data_collection, true. The snapshot's last record (last) also
// gets LastSnapshotRecordKey in its offset, a map of its own: offsets are
// shared between records. The record's value must be an envelope.
func (h *HeldRead) Release(last bool) {
	marker := "true"
	switch {
	case last:
		marker = "last"
		h.Record.SourceOffset = maps.Clone(h.Record.SourceOffset)
		h.Record.SourceOffset[LastSnapshotRecordKey] = true
	case h.firstInTable && h.firstTable:
		marker = "first"
	case h.LastInTable:
		marker = "last_in_data_collection"
	case h.firstInTable:
		marker = "first_in_data_collection"
	}
	src, _ := h.Record.Value.(*connect.Struct).Get("source")
	src.(*connect.Struct).MustPut("snapshot", marker)
}

// Hold releases the held record into batch and holds r in its place: r is
// a read of the first table snapshotted (firstTable), the first of its
// table (firstInTable).
func (h *HeldRead) Hold(r *connect.Record, firstTable, firstInTable bool, batch []*connect.Record) []*connect.Record {
	if h.Record != nil {
		h.Release(false)
		batch = append(batch, h.Record)
	}
	*h = HeldRead{Record: r, firstTable: firstTable, firstInTable: firstInTable}
	return batch
}
