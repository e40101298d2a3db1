package debezium

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// target is a SignalTarget over a memDB that records blocking snapshots.
type target struct {
	*memDB
	blocking []SnapshotRequest
}

func (t *target) BlockingSnapshot(_ context.Context, req SnapshotRequest, _ *slog.Logger) error {
	t.blocking = append(t.blocking, req)
	return nil
}

func (t *target) Position() []any { return []any{"lsn", "0/16B3748"} }

func TestRunSignal(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tg := &target{memDB: newMemDB(t, "s.a")}
	tg.tables["s.a"].rows[1] = "x"
	inc := NewIncremental(SignalSettings{ChunkSize: 10, Table: &TableID{Schema: "s", Name: "sig"}}, log)
	run := func(typ, data string) {
		t.Helper()
		logs.Reset()
		require.NoError(t, inc.RunSignal(ctx, Signal{ID: "id-1", Type: typ, Data: data}, tg, log))
	}

	run(SignalLog, `{"message": "hello"}`)
	assert.Contains(t, logs.String(), `msg=hello signal=id-1 type=log lsn=0/16B3748`)
	run(SignalLog, `{}`)
	assert.Contains(t, logs.String(), "log signal without a message")
	run("no-such-signal", "")
	assert.Contains(t, logs.String(), "signal of an unknown type ignored")
	run(SignalExecuteSnapshot, `not json`)
	assert.Contains(t, logs.String(), "data is not a JSON object of the expected shape")
	run(SignalExecuteSnapshot, `{"data-collections": ["s.a"], "type": "sideways"}`)
	assert.Contains(t, logs.String(), "snapshot signal ignored: unknown snapshot type")
	run(SignalExecuteSnapshot, `{"type": "incremental"}`)
	assert.Contains(t, logs.String(), "data-collections is missing or empty")
	run(SignalStopSnapshot, `{"type": "blocking"}`)
	assert.Contains(t, logs.String(), "a blocking snapshot cannot be stopped")
	assert.False(t, inc.Running())

	run(SignalExecuteSnapshot, `{"data-collections": ["s.a"], "type": "BLOCKING"}`)
	require.Len(t, tg.blocking, 1)
	assert.Equal(t, []string{"s.a"}, tg.blocking[0].DataCollections)

	run(SignalExecuteSnapshot, `{"data-collections": ["s.a"]}`)
	assert.True(t, inc.Running(), "an incremental snapshot by default")
	run(SignalPauseSnapshot, "")
	assert.True(t, inc.paused)
	run(SignalResumeSnapshot, "")
	assert.False(t, inc.paused)
	require.NoError(t, inc.RunSignal(ctx, Signal{ID: inc.chunkID + "-open", Type: SignalWindowOpen}, tg, log))
	assert.True(t, inc.windowOpen)
	require.NoError(t, inc.RunSignal(ctx, Signal{ID: inc.chunkID + "-close", Type: SignalWindowClose}, tg, log))
	assert.Equal(t, []int32{1}, tg.ids(), "the close watermark emits the window")
	assert.False(t, inc.Running())

	noTable := NewIncremental(SignalSettings{ChunkSize: 10}, log)
	logs.Reset()
	require.NoError(t, noTable.RunSignal(ctx, Signal{Type: SignalExecuteSnapshot, Data: `{"data-collections": ["s.a"]}`}, tg, log))
	assert.Contains(t, logs.String(), "signal.data.collection is unset")
	assert.False(t, noTable.Running())
}
