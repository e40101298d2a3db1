package s3

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// TestParquetListsOfOptionalItems: an array of optional items anywhere
// makes every list 3-level (repeated group list {element}), as Confluent
// turns parquet-avro's old list structure off then; maps with other than
// string keys are lists of {key, value} entries.
func TestParquetListsOfOptionalItems(t *testing.T) {
	s := connect.NewSchemaBuilder(connect.TypeStruct).Name("Bag").
		Field("maybe", connect.ArrayOf(connect.OptionalInt32Schema)).
		Field("names", connect.ArrayOf(connect.StringSchema)).
		Field("byID", connect.MapOf(connect.Int64Schema, connect.OptionalStringSchema)).
		Field("nested", connect.ArrayOf(connect.ArrayOf(connect.Int32Schema))).
		Build()
	values := []*connect.Struct{
		connect.NewStruct(s).MustPut("maybe", []any{int32(1), nil, int32(3)}).MustPut("names", []any{"x"}).
			MustPut("byID", map[any]any{int64(5): "five", int64(6): nil}).MustPut("nested", []any{[]any{int32(1), int32(2)}, []any{}}),
		connect.NewStruct(s).MustPut("maybe", []any{}).MustPut("names", []any{}).
			MustPut("byID", map[any]any{}).MustPut("nested", []any{}),
	}
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ParquetFormatClass
	cfg["flush.size"] = "2"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "bags"})
	var recs []*connect.Record
	for i, v := range values {
		recs = append(recs, &connect.Record{Topic: "bags", Offset: int64(i), ValueSchema: s, Value: v})
	}
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	got := objects(t, cfg)
	name := "topics/bags/partition=0/bags+0+0000000000.snappy.parquet"
	f := readParquet(t, got, name)[name]
	maybe := f.Schema.child(t, "maybe")
	assert.Equal(t, "LIST", maybe.Converted)
	list := maybe.child(t, "list")
	assert.Equal(t, "REPEATED", list.Repetition)
	assert.Equal(t, "OPTIONAL", list.child(t, "element").Repetition)
	assert.Equal(t, "REQUIRED", f.Schema.child(t, "names").child(t, "list").child(t, "element").Repetition)
	entry := f.Schema.child(t, "byID").child(t, "list").child(t, "element")
	assert.Equal(t, "INT64", entry.child(t, "key").Type)
	assert.Equal(t, "OPTIONAL", entry.child(t, "value").Repetition)
	assert.Equal(t, normal(t, []any{
		map[string]any{"maybe": []any{1, nil, 3}, "names": []any{"x"},
			"byID":   []any{map[string]any{"key": "5", "value": "five"}, map[string]any{"key": "6", "value": nil}},
			"nested": []any{[]any{1, 2}, []any{}}},
		map[string]any{"maybe": []any{}, "names": []any{}, "byID": []any{}, "nested": []any{}},
	}), normal(t, f.Rows))
}

// TestParquetRowGroupsAreBounded: an open Parquet file buffers rows up to
// about s3.part.size, then writes them out as a row group; the file holds
// every row.
func TestParquetRowGroupsAreBounded(t *testing.T) {
	s := connect.NewSchemaBuilder(connect.TypeStruct).Name("Blob").
		Field("n", connect.Int32Schema).Field("text", connect.StringSchema).Build()
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ParquetFormatClass
	cfg["parquet.codec"] = "none"
	cfg["s3.part.size"] = strconv.Itoa(5 << 20)
	cfg["flush.size"] = "60"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "blobs"})
	var recs []*connect.Record
	for i := range 60 {
		text := strings.Repeat(strconv.Itoa(i%10), 256<<10) // 15 MiB in all: 3 row groups
		recs = append(recs, &connect.Record{Topic: "blobs", Offset: int64(i), ValueSchema: s,
			Value: connect.NewStruct(s).MustPut("n", int32(i)).MustPut("text", text)})
	}
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	got := objects(t, cfg)
	name := "topics/blobs/partition=0/blobs+0+0000000000.parquet"
	f := readParquet(t, got, name)[name]
	assert.Equal(t, 3, f.RowGroups)
	require.Len(t, f.Rows, 60)
	for i, row := range f.Rows {
		assert.EqualValues(t, i, row["n"])
		assert.Len(t, row["text"], 256<<10)
	}
}
