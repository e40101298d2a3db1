package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/storage"
)

// committingTask records what the worker tells it through Commit.
type committingTask struct {
	connect.SourceTask
	commits [][]connect.SourceOffset
}

func (c *committingTask) CommitRecord(*connect.Record) error { return nil }
func (c *committingTask) Commit(committed []connect.SourceOffset) error {
	c.commits = append(c.commits, committed)
	return nil
}

// flakyOffsets is an OffsetStore whose Set fails while fail is set.
type flakyOffsets struct {
	OffsetStore
	fail bool
}

func (f *flakyOffsets) Set(ctx context.Context, connector string, entries []storage.OffsetEntry) error {
	if f.fail {
		return errors.New("offsets topic unavailable")
	}
	return f.OffsetStore.Set(ctx, connector, entries)
}

// Commit receives exactly the offsets the worker committed: for each of
// the task's source partitions the offset of its last acknowledged record
// (none for a partition with nothing new), nothing after a failed commit,
// and the offsets that failed with the next commit that succeeds.
func TestSourceCommitReceivesTheCommittedOffsets(t *testing.T) {
	task := &committingTask{}
	store := &flakyOffsets{OffsetStore: NewMemOffsetStore()}
	st := &sourceTask{id: ConnectorTaskID{Connector: "c"}, task: task, offsets: store, tracker: newSubmitted(),
		timeout: 5 * time.Second, metrics: &taskMetrics{}, logger: slog.New(slog.DiscardHandler)}
	a, b := map[string]any{"file": "a"}, map[string]any{"file": "b"}
	offsetsOf := func(committed []connect.SourceOffset) map[string]connect.Offset {
		out := map[string]connect.Offset{}
		for _, c := range committed {
			out[c.Partition["file"].(string)] = c.Offset
		}
		return out
	}

	a1 := st.tracker.submit(a, map[string]any{"position": int64(1)})
	b1 := st.tracker.submit(b, map[string]any{"position": int64(10)})
	a2 := st.tracker.submit(a, map[string]any{"position": int64(2)})
	st.tracker.ack(a2) // out of order: a's offset waits for a1
	st.tracker.ack(b1)
	require.NoError(t, st.commit(context.Background()))
	require.Len(t, task.commits, 1)
	assert.Equal(t, map[string]connect.Offset{"b": {"position": int64(10)}}, offsetsOf(task.commits[0]))

	st.tracker.ack(a1)
	store.fail = true
	require.Error(t, st.commit(context.Background()))
	assert.Len(t, task.commits, 1, "no Commit after a failed commit")

	store.fail = false
	require.NoError(t, st.commit(context.Background()))
	require.Len(t, task.commits, 2)
	assert.Equal(t, map[string]connect.Offset{"a": {"position": int64(2)}}, offsetsOf(task.commits[1]))
	got, err := store.Get("c", a)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"position": int64(2)}, got, "what Commit received is what was stored")

	require.NoError(t, st.commit(context.Background()))
	assert.Len(t, task.commits, 2, "nothing new: no commit, no Commit")
}

// The value types SourceTaskContext.Offset documents are what the offset
// stores hand back, in the process that wrote them and after a restart,
// and the accessors read each of them.
func TestOffsetValueTypesAfterTheStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets.json")
	written := map[string]any{
		"int": 7, "uint32": uint32(8), "int64": int64(9), "float32": float32(1.5), "float64": 2.25,
		"whole float": float64(1000), "number": json.Number("12"), "exponent": json.Number("1e3"),
		"huge": json.Number("9223372036854775808"), "bytes": []byte("hi"), "string": "s", "bool": true, "null": nil,
	}
	want := connect.Offset{
		"int": int64(7), "uint32": int64(8), "int64": int64(9), "float32": 1.5, "float64": 2.25,
		"whole float": float64(1000), "number": int64(12), "exponent": float64(1000),
		"huge": float64(9223372036854775808), "bytes": "aGk=", "string": "s", "bool": true, "null": nil,
	}
	partition := map[string]any{"p": 1}
	store, err := storage.NewFileOffsetStore(path, nil)
	require.NoError(t, err)
	require.NoError(t, store.Start(context.Background()))
	require.NoError(t, store.Set(context.Background(), "c", []storage.OffsetEntry{{Partition: partition, Offset: written}}))
	reopened, err := storage.NewFileOffsetStore(path, nil)
	require.NoError(t, err)
	require.NoError(t, reopened.Start(context.Background()))

	for name, s := range map[string]OffsetStore{"same process": store, "after restart": reopened} {
		t.Run(name, func(t *testing.T) {
			ctx := &sourceContext{connector: "c", offsets: s}
			off, err := ctx.Offset(map[string]any{"p": int64(1)})
			require.NoError(t, err)
			assert.Equal(t, want, off)
			for _, key := range []string{"int", "uint32", "int64", "whole float", "number", "exponent"} {
				_, ok, err := off.Int(key)
				assert.True(t, ok, key)
				assert.NoError(t, err, key)
			}
			for _, key := range []string{"float32", "float64", "huge", "string"} {
				_, _, err := off.Int(key)
				assert.ErrorIs(t, err, connect.ErrOffset, key)
			}
			s, _, err := off.String("bytes")
			assert.NoError(t, err)
			assert.Equal(t, "aGk=", s)
		})
	}
}

// loggedConverter notes the logger it had when configured; it converts
// nothing.
type loggedConverter struct {
	connect.Converter
	connect.HeaderConverter
	logger *slog.Logger
	atConf *slog.Logger
}

func (c *loggedConverter) SetLogger(l *slog.Logger) { c.logger = l }
func (c *loggedConverter) Configure(map[string]string, bool) error {
	c.atConf = c.logger
	c.logger.Info("configured")
	return nil
}

type loggedHeaderConverter struct{ loggedConverter }

func (c *loggedHeaderConverter) Configure(map[string]string) error {
	return c.loggedConverter.Configure(nil, false)
}

// A task's converters that want a logger get the one of their class,
// naming the connector and task, before Configure.
func TestConvertersGetTheirLogger(t *testing.T) {
	p := Plugins{Others: []connect.Plugin{
		{Class: "test.LoggedConverter", Type: connect.PluginConverter, NewConverter: func() connect.Converter { return &loggedConverter{} }},
		{Class: "test.LoggedHeaderConverter", Type: connect.PluginHeaderConverter, NewHeaderConverter: func() connect.HeaderConverter { return &loggedHeaderConverter{} }},
	}}
	var buf strings.Builder
	base := slog.New(slog.NewTextHandler(&buf, nil))
	conv, err := p.newConverters(map[string]string{KeyKeyConverter: "test.LoggedConverter", KeyValueConverter: "test.LoggedConverter",
		KeyHeaderConverter: "test.LoggedHeaderConverter"}, nil,
		func(class string) *slog.Logger { return base.With("logger", class, "connector", "c", "task", 2) })
	require.NoError(t, err)
	assert.NotNil(t, conv.key.(*loggedConverter).atConf)
	assert.NotNil(t, conv.value.(*loggedConverter).atConf)
	assert.NotNil(t, conv.header.(*loggedHeaderConverter).atConf)
	assert.Contains(t, buf.String(), "msg=configured logger=test.LoggedConverter connector=c task=2\n")
	assert.Contains(t, buf.String(), "msg=configured logger=test.LoggedHeaderConverter connector=c task=2\n")
}

// A plugin whose constructor does not match its type is a programming
// error, refused when the worker is built rather than when a task starts.
func TestNewRefusesMismatchedPlugin(t *testing.T) {
	cfg, err := NewConfig(map[string]string{"bootstrap.servers": "127.0.0.1:1"})
	require.NoError(t, err)
	_, err = New(Options{Config: cfg, Offsets: NewMemOffsetStore(), Plugins: Plugins{Others: []connect.Plugin{
		{Class: "test.Mismatched", Type: connect.PluginConverter, NewTransform: func() connect.Transform { return nil }},
	}}})
	assert.EqualError(t, err, "worker: plugin test.Mismatched: type converter without its constructor")
}
