package debezium

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// markerSource is a source block with Debezium's snapshot field.
type markerSource struct{}

var markerSchema = connect.StructBuilder().Name("test.Source").Field("snapshot", connect.OptionalStringSchema).Build()

func (markerSource) SourceStruct(TableID) *connect.Struct { return connect.NewStruct(markerSchema) }

// Two tables of two and one rows are marked first, last_in_data_collection,
// first_in_data_collection, …, last; only the last read's offset says so,
// in a map of its own.
func TestHeldReadMarkers(t *testing.T) {
	e, err := NewEvents("srv.s.t", TableID{Schema: "s", Name: "t"}, []connect.Field{{Name: "id", Schema: connect.Int32Schema}}, nil, markerSchema)
	require.NoError(t, err)
	shared := map[string]any{"pos": int64(1)}
	read := func(id int32) *connect.Record {
		ev, err := e.Envelope(Change{Op: OpRead, After: []any{id}, Source: markerSource{}})
		require.NoError(t, err)
		return connect.NewSourceRecord(nil, shared, ev.Topic, nil, nil, ev.ValueSchema, ev.Value)
	}
	var h HeldRead
	var out []*connect.Record
	for _, r := range []struct {
		first, firstIn, endOfTable bool
	}{{true, true, false}, {true, false, true}, {false, true, false}, {false, false, false}, {false, false, true}} {
		out = h.Hold(read(int32(len(out))), r.first, r.firstIn, out)
		if r.endOfTable {
			h.LastInTable = true
		}
	}
	h.Release(true)
	out = append(out, h.Record)
	var markers []any
	for _, r := range out {
		markers = append(markers, field(t, field(t, r.Value, "source"), "snapshot"))
	}
	assert.Equal(t, []any{"first", "last_in_data_collection", "first_in_data_collection", "true", "last"}, markers)
	assert.Equal(t, true, out[4].SourceOffset[LastSnapshotRecordKey])
	assert.NotContains(t, shared, LastSnapshotRecordKey, "the shared offset is not changed")
	assert.NotContains(t, out[3].SourceOffset, LastSnapshotRecordKey)
}
