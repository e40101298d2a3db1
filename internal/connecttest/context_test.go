package connecttest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// A task gets back the types the offsets topic decodes, whatever it
// committed, and finds its partition whatever number type it looks up by.
func TestOffsetsReadBackAsTheOffsetsTopicDecodes(t *testing.T) {
	var o Offsets
	require.NoError(t, o.Put(map[string]any{"task": 0}, map[string]any{"seq": int32(9), "ratio": float32(0.5), "raw": []byte{1}, "done": true}))
	got, err := o.Get(map[string]any{"task": int64(0)})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"seq": int64(9), "ratio": 0.5, "raw": "AQ==", "done": true}, got)

	got["seq"] = "changed"
	again, _ := o.Get(map[string]any{"task": 0})
	assert.Equal(t, int64(9), again["seq"], "Get returns a copy")

	require.NoError(t, o.Put(map[string]any{"task": 0}, nil))
	got, err = o.Get(map[string]any{"task": 0})
	require.NoError(t, err)
	assert.Nil(t, got, "a nil offset removes the partition")
	assert.Zero(t, o.Len())

	err = o.Put(map[string]any{"task": 0}, map[string]any{"nested": map[string]any{}})
	require.ErrorContains(t, err, "Offsets may only contain primitive types as values, but field nested contains MAP")
}

// committerTask records what the worker stand-in told it.
type committerTask struct {
	connect.SourceTask
	records []*connect.Record
	commits int
	offset  map[string]any // read back in Commit
	handed  []connect.SourceOffset
	ctx     *SourceContext
}

func (c *committerTask) CommitRecord(r *connect.Record) error {
	c.records = append(c.records, r)
	return nil
}

func (c *committerTask) Commit(committed []connect.SourceOffset) error {
	c.commits++
	c.handed = committed
	c.offset, _ = c.ctx.Offset(map[string]any{"p": "a"})
	return nil
}

// Commit does what the worker does after the broker's acknowledgement:
// every record to CommitRecord, the last offset of each partition stored,
// then Commit, which already sees it.
func TestSourceContextCommit(t *testing.T) {
	ctx := NewSourceContext(t, map[string]string{"k": "v"})
	task := &committerTask{ctx: ctx}
	recs := []*connect.Record{
		{SourcePartition: map[string]any{"p": "a"}, SourceOffset: map[string]any{"n": 1}},
		{SourcePartition: map[string]any{"p": "b"}, SourceOffset: map[string]any{"n": 5}},
		{SourcePartition: map[string]any{"p": "a"}, SourceOffset: map[string]any{"n": 2}},
		{SourcePartition: map[string]any{"p": "a"}}, // no offset: commits nothing
	}
	require.NoError(t, ctx.Commit(task, recs))
	assert.Len(t, task.records, 4)
	assert.Equal(t, 1, task.commits)
	assert.Equal(t, map[string]any{"n": int64(2)}, task.offset)
	assert.Equal(t, []connect.SourceOffset{
		{Partition: map[string]any{"p": "a"}, Offset: map[string]any{"n": 2}},
		{Partition: map[string]any{"p": "b"}, Offset: map[string]any{"n": 5}},
	}, task.handed, "Commit is handed the last offset of each partition")
	b, _ := ctx.Restarted().Offset(map[string]any{"p": "b"})
	assert.Equal(t, connect.Offset{"n": int64(5)}, b, "a restarted context shares the offsets")
	assert.Equal(t, map[string]string{"k": "v"}, ctx.Config())
	assert.NotNil(t, ctx.Logger())
	assert.NotNil(t, (&SourceContext{}).Logger(), "the zero value discards")

	bad := []*connect.Record{{SourcePartition: map[string]any{"p": "a"}, SourceOffset: map[string]any{"n": []int{1}}}}
	require.ErrorContains(t, ctx.Commit(task, bad), "field n contains ARRAY")
}

// Report answers as the worker does under each errors.tolerance.
func TestSinkContextReport(t *testing.T) {
	r := &connect.Record{Topic: "t", Offset: 3}
	cause := errors.New("bad row")

	none := NewSinkContext(t, nil)
	err := none.Report(r, cause)
	require.ErrorIs(t, err, worker.ErrToleranceExceeded)
	require.ErrorIs(t, err, cause)

	all := &SinkContext{Tolerate: true}
	require.NoError(t, all.Report(r, cause))
	assert.Equal(t, []Reported{{Record: r, Err: cause}}, all.ReportedRecords())

	tp := connect.TopicPartition{Topic: "t", Partition: 1}
	all.Rewind(tp, 7)
	all.Rewind(tp, 4)
	assert.Equal(t, map[connect.TopicPartition]int64{tp: 4}, all.Rewinds())
}

func TestConnectorContext(t *testing.T) {
	c := NewConnectorContext(t)
	c.RequestTaskReconfiguration()
	c.RequestTaskReconfiguration()
	boom := errors.New("boom")
	c.RaiseError(boom)
	assert.Equal(t, 2, c.Reconfigurations())
	assert.Equal(t, []error{boom}, c.Raised())
}
