package file

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// startSource starts a source task on path with extra config and offsets.
func startSource(t *testing.T, path string, extra map[string]string, offsets map[string]any) *sourceTask {
	t.Helper()
	cfg := map[string]string{FileConfig: path, TopicConfig: "lines"}
	for k, v := range extra {
		cfg[k] = v
	}
	task := newSourceTask()
	task.idleWait = 10 * time.Millisecond
	ctx := connecttest.NewSourceContext(t, cfg)
	if offsets != nil {
		require.NoError(t, ctx.Offsets.Put(map[string]any{filenameField: path}, offsets))
	}
	require.NoError(t, task.Start(ctx, cfg))
	t.Cleanup(func() { assert.NoError(t, task.Stop()) })
	return task
}

type line struct {
	value string
	pos   int64
}

func pollLines(t *testing.T, task *sourceTask) []line {
	t.Helper()
	recs, err := task.Poll(context.Background())
	require.NoError(t, err)
	var out []line
	for _, r := range recs {
		pos, _ := r.SourceOffset[positionField].(int64)
		out = append(out, line{r.Value.(string), pos})
	}
	return out
}

func TestSourceLineEndings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "a\nbb\r\ncc\rd\n\nlast\r")
	task := startSource(t, path, nil, nil)

	assert.Equal(t, []line{{"a", 2}, {"bb", 6}, {"cc", 9}, {"d", 11}, {"", 12}}, pollLines(t, task),
		"a trailing \\r waits for the next byte, as it may start \\r\\n")

	writeFile(t, path, "\nno newline yet")
	assert.Equal(t, []line{{"last", 18}}, pollLines(t, task), "\\r\\n split across reads is one terminator")
	assert.Empty(t, pollLines(t, task), "an unterminated line is held back")

	writeFile(t, path, "\n")
	assert.Equal(t, []line{{"no newline yet", 33}}, pollLines(t, task))
}

func TestSourceRecordShape(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "hello\n")
	task := startSource(t, path, nil, nil)
	recs, err := task.Poll(context.Background())
	require.NoError(t, err)
	require.Len(t, recs, 1)
	r := recs[0]
	assert.Equal(t, "lines", r.Topic)
	assert.Equal(t, connect.AnyPartition, r.Partition)
	assert.Nil(t, r.Key)
	assert.Nil(t, r.KeySchema)
	assert.Same(t, connect.StringSchema, r.ValueSchema)
	assert.Equal(t, map[string]any{"filename": path}, r.SourcePartition)
	assert.Equal(t, map[string]any{"position": int64(6)}, r.SourceOffset)
	assert.WithinDuration(t, time.Now(), r.Timestamp, time.Minute)
}

func TestSourceResumesFromCommittedPosition(t *testing.T) {
	for _, tc := range []struct {
		name string
		pos  any
	}{
		{"int64", int64(4)},
		{"float64 from JSON", float64(4)},
		{"json.Number", json.Number("4")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.txt")
			writeFile(t, path, "one\ntwo\nthree\n")
			task := startSource(t, path, nil, map[string]any{positionField: tc.pos})
			assert.Equal(t, []line{{"two", 8}, {"three", 14}}, pollLines(t, task))
		})
	}
}

func TestSourceRejectsBadCommittedPosition(t *testing.T) {
	for _, tc := range []struct {
		pos  any
		want string
	}{
		{"four", `Offset position is the incorrect type: invalid source offset: key "position" holds string four, not an integer`},
		{4.5, `Offset position is the incorrect type: invalid source offset: key "position" holds float64 4.5, not an integer`},
		{int64(-1), "from -1: Offset position is the incorrect type: invalid source offset: a position is not negative"},
	} {
		path := filepath.Join(t.TempDir(), "in.txt")
		writeFile(t, path, "one\n")
		task := startSource(t, path, nil, map[string]any{positionField: tc.pos})
		_, err := task.Poll(context.Background())
		require.ErrorIs(t, err, connect.ErrOffset)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestSourceTailsGrowingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	task := startSource(t, path, nil, nil)
	task.idleWait = time.Millisecond

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	recs, err := task.Poll(ctx) // the file does not exist yet
	require.NoError(t, err)
	assert.Empty(t, recs)

	writeFile(t, path, "first\n")
	assert.Equal(t, []line{{"first", 6}}, pollLines(t, task))
	assert.Empty(t, pollLines(t, task))
	writeFile(t, path, "second\nthird\n")
	assert.Equal(t, []line{{"second", 13}, {"third", 19}}, pollLines(t, task))
}

func TestSourceReplacesMalformedUTF8(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "ok \xff\xfe end\nnext\n")
	task := startSource(t, path, nil, nil)
	assert.Equal(t, []line{{"ok \uFFFD end", 10}, {"next", 15}}, pollLines(t, task),
		"positions count the file's bytes, not the decoded text")
}

func TestSourceBatchSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "1\n2\n3\n4\n5\n")
	task := startSource(t, path, map[string]string{BatchSizeConfig: "2"}, nil)
	assert.Equal(t, []line{{"1", 2}, {"2", 4}}, pollLines(t, task))
	assert.Equal(t, []line{{"3", 6}, {"4", 8}}, pollLines(t, task))
	assert.Equal(t, []line{{"5", 10}}, pollLines(t, task))
}

func TestSourceLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	long := strings.Repeat("x", 3*initialBufferSize+17)
	writeFile(t, path, "short\n"+long+"\nafter\n")
	task := startSource(t, path, nil, nil)
	got := pollLines(t, task)
	require.Len(t, got, 3)
	assert.Equal(t, long, got[1].value)
	assert.Equal(t, int64(6+len(long)+1+6), got[2].pos)
}

func TestSourcePollReturnsOnCancel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create bool
	}{
		{"waiting for new lines", true},
		{"waiting for the file to appear", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.txt")
			if tc.create {
				writeFile(t, path, "")
			}
			task := startSource(t, path, nil, nil)
			task.idleWait = time.Hour
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			start := time.Now()
			recs, err := task.Poll(ctx)
			require.NoError(t, err)
			assert.Empty(t, recs)
			assert.Less(t, time.Since(start), 500*time.Millisecond)
		})
	}
}

func TestSourceStdin(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	in := newPipeInput(pr)
	task := newSourceTask()
	task.idleWait = time.Hour
	task.stdin = func() input { return in }
	require.NoError(t, task.Start(connecttest.NewSourceContext(t, nil), map[string]string{TopicConfig: "lines"}))
	defer task.Stop()

	go func() {
		_, _ = pw.Write([]byte("typed\r\n"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var recs []*connect.Record
	for len(recs) == 0 && ctx.Err() == nil {
		var err error
		recs, err = task.Poll(ctx) // woken by the arriving chunk, not the hour-long wait
		require.NoError(t, err)
	}
	require.Len(t, recs, 1)
	assert.Equal(t, "typed", recs[0].Value)
	assert.Equal(t, map[string]any{"filename": nil}, recs[0].SourcePartition)
	assert.Equal(t, map[string]any{"position": nil}, recs[0].SourceOffset)
}

// TestSourceWarnsOfMissingFile: a task waiting for its file says so at
// WARN in Kafka's words, through the logger the worker hands it (which
// names the connector and task), once a minute rather than at every poll,
// and says when the file turned up.
func TestSourceWarnsOfMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.txt")
	task := startSource(t, path, nil, nil)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil)).With("connector", "src", "task", 0)
	poll := func() []*connect.Record {
		ctx, cancel := context.WithTimeout(connect.WithLogger(context.Background(), logger), 10*time.Millisecond)
		defer cancel()
		recs, err := task.Poll(ctx)
		require.NoError(t, err)
		return recs
	}
	want := "level=WARN msg=\"Couldn't find file " + path + " for FileStreamSourceTask, sleeping to wait for it to be created\" connector=src task=0 file=" + path
	assert.Empty(t, poll())
	assert.Empty(t, poll())
	assert.Equal(t, 1, strings.Count(buf.String(), want), "one warning for two polls: %s", buf.String())

	task.missingWarned = time.Now().Add(-missingFileWarnEvery) // a minute later
	assert.Empty(t, poll())
	assert.Equal(t, 2, strings.Count(buf.String(), want), "warned again after a minute")

	writeFile(t, path, "here\n")
	assert.Len(t, poll(), 1)
	assert.Contains(t, buf.String(), "level=INFO msg=\"found file for FileStreamSourceTask; reading it\" connector=src task=0 file="+path)
}
