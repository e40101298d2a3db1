package file

import (
	"bytes"
	"context"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

func sinkRecords(values ...any) []*connect.Record {
	out := make([]*connect.Record, len(values))
	for i, v := range values {
		out[i] = &connect.Record{Topic: "t", Value: v, Offset: int64(i)}
	}
	return out
}

func TestSinkWritesFlushesAndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	cfg := map[string]string{FileConfig: path, "topics": "t"}
	current := map[connect.TopicPartition]int64{{Topic: "t", Partition: 0}: 3}

	task := newSinkTask()
	require.NoError(t, task.Start(connecttest.NewSinkContext(t, cfg), cfg))
	require.NoError(t, task.Put(context.Background(), sinkRecords("one", int64(2), nil)))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one\n2\nnull\n", string(data), "Put writes the batch through to the file")

	got, err := task.Flush(context.Background(), current)
	require.NoError(t, err)
	assert.Equal(t, current, got)
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one\n2\nnull\n", string(data))
	require.NoError(t, task.Stop())
	require.NoError(t, task.Stop(), "Stop is idempotent")

	restarted := newSinkTask()
	require.NoError(t, restarted.Start(connecttest.NewSinkContext(t, cfg), cfg))
	require.NoError(t, restarted.Put(context.Background(), sinkRecords("four")))
	require.NoError(t, restarted.Stop(), "Stop writes out the buffer")
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one\n2\nnull\nfour\n", string(data), "a restarted task appends")
}

func TestSinkStdout(t *testing.T) {
	var out bytes.Buffer
	task := newSinkTask()
	task.stdout = &out
	require.NoError(t, task.Start(connecttest.NewSinkContext(t, nil), map[string]string{"topics": "t"}))
	require.NoError(t, task.Put(context.Background(), sinkRecords("x", true)))
	_, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, "x\ntrue\n", out.String())
	require.NoError(t, task.Stop())
}

func TestSinkWritesWholeLines(t *testing.T) {
	var out chunkRecorder
	task := newSinkTask()
	task.stdout = &out
	require.NoError(t, task.Start(connecttest.NewSinkContext(t, nil), nil))
	big := string(bytes.Repeat([]byte("y"), sinkBufferSize-10))
	require.NoError(t, task.Put(context.Background(), sinkRecords("short", big, "tail")))
	require.NoError(t, task.Stop())
	for _, c := range out.chunks {
		assert.Equal(t, byte('\n'), c[len(c)-1], "every write ends at a line boundary")
	}
}

type chunkRecorder struct{ chunks [][]byte }

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.chunks = append(c.chunks, bytes.Clone(p))
	return len(p), nil
}

func TestSinkStartFailsOnUnwritablePath(t *testing.T) {
	task := newSinkTask()
	err := task.Start(connecttest.NewSinkContext(t, nil), map[string]string{FileConfig: filepath.Join(t.TempDir(), "missing", "out.txt")})
	require.ErrorContains(t, err, "out.txt for appending")
}

func TestJavaString(t *testing.T) {
	st := connect.NewStruct(connect.StructBuilder().Field("a", connect.Int32Schema).Build())
	st.MustPut("a", int32(7))
	decimal := connect.DecimalSchema(2).Build()
	for _, tc := range []struct {
		name   string
		schema *connect.Schema
		value  any
		want   string
	}{
		{"null", nil, nil, "null"},
		{"string", nil, "héllo", "héllo"},
		{"bool", nil, false, "false"},
		{"int8", nil, int8(-3), "-3"},
		{"int64", nil, int64(1) << 40, "1099511627776"},
		{"double whole", nil, 1.0, "1.0"},
		{"double fraction", nil, 0.1, "0.1"},
		{"double small", nil, 0.0001, "1.0E-4"},
		{"double large", nil, 12345678.9, "1.23456789E7"},
		{"double 1e7", nil, 1e7, "1.0E7"},
		{"double just below 1e7", nil, 9999999.0, "9999999.0"},
		{"double negative zero", nil, math.Copysign(0, -1), "-0.0"},
		{"double NaN", nil, math.NaN(), "NaN"},
		{"double infinity", nil, math.Inf(-1), "-Infinity"},
		{"float", nil, float32(0.1), "0.1"},
		{"struct", nil, st, "Struct{a=7}"},
		{"list", nil, []any{"a", int32(1), nil}, "[a, 1, null]"},
		{"map", nil, map[string]any{"b": 2.5, "a": "x"}, "{a=x, b=2.5}"},
		{"decimal", decimal, big.NewRat(1234, 100), "12.34"},
		{"timestamp", nil, time.UnixMilli(0).UTC(), "Thu Jan 01 00:00:00 UTC 1970"},
		{"bytes", nil, []byte("raw"), "raw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(javavalue.Append(nil, tc.schema, tc.value)))
		})
	}
}
