package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// TestJSONSidecars: JSON keys are written as they are, JSON headers
// wrapped as RecordHeaders, each value as Values.convertToString; gzip
// compresses every JSON object of the file.
func TestJSONSidecars(t *testing.T) {
	cfg := sidecarConfig(fakeS3(t), JSONFormatClass, JSONFormatClass, JSONFormatClass)
	cfg["flush.size"] = "2"
	cfg["s3.compression.type"] = "gzip"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	recs := []*connect.Record{order(0, 0, 1, "eu"), order(0, 1, 2, "us")}
	recs[0].KeySchema, recs[0].Key = connect.StringSchema, "a"
	recs[0].Headers = connect.Headers{{Key: "h", Schema: connect.StringSchema, Value: `x"y`}, {Key: "list", Schema: connect.ArrayOf(connect.Int32Schema), Value: []any{int32(1), int32(2)}}}
	recs[1].KeySchema, recs[1].Key = connect.Int64Schema, int64(7)
	recs[1].Headers = connect.Headers{{Key: "b", Schema: connect.BooleanSchema, Value: true}}
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	got := objects(t, cfg)
	base := "topics/orders/partition=0/orders+0+0000000000"
	require.Equal(t, []string{base + ".headers.json.gz", base + ".json.gz", base + ".keys.json.gz"}, keys(got))
	assert.Equal(t, "{\"id\":1,\"region\":\"eu\"}\n{\"id\":2,\"region\":\"us\"}\n", gunzip(t, got[base+".json.gz"]))
	assert.Equal(t, "\"a\"\n7\n", gunzip(t, got[base+".keys.json.gz"]))
	assert.Equal(t, `{"headers":[{"key":"h","value":"x\"y"},{"key":"list","value":"[1,2]"}]}`+"\n"+
		`{"headers":[{"key":"b","value":"true"}]}`+"\n", gunzip(t, got[base+".headers.json.gz"]))
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return string(out)
}

// TestByteArrayKeys: ByteArray keys are the key bytes and the separator,
// in a .keys.bin file.
func TestByteArrayKeys(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ByteArrayFormatClass
	cfg["store.kafka.keys"] = "true"
	cfg["keys.format.class"] = ByteArrayFormatClass
	cfg["flush.size"] = "2"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "raw"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		{Topic: "raw", Offset: 0, Key: []byte("k1"), KeySchema: connect.BytesSchema, Value: []byte("v1")},
		{Topic: "raw", Offset: 1, Key: []byte("k2"), KeySchema: connect.BytesSchema, Value: []byte("v2")},
	}))
	waitCommits(t, task)
	assert.Equal(t, map[string][]byte{
		"topics/raw/partition=0/raw+0+0000000000.bin":      []byte("v1\nv2\n"),
		"topics/raw/partition=0/raw+0+0000000000.keys.bin": []byte("k1\nk2\n"),
	}, objects(t, cfg))
}

// TestSidecarRefusalsKeepFilesAligned: a record with a null key, without
// headers or with a null header is reported before anything of it is
// written, so line i of every file still belongs to the same record.
func TestSidecarRefusalsKeepFilesAligned(t *testing.T) {
	cfg := sidecarConfig(fakeS3(t), JSONFormatClass, JSONFormatClass, JSONFormatClass)
	cfg["flush.size"] = "2"
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, connect.TopicPartition{Topic: "orders"})
	recs := richRecords(0, 5)
	recs[1].Key = nil
	recs[2].Headers = nil
	recs[3].Headers[1].Value = nil
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	rep := sc.ReportedRecords()
	require.Len(t, rep, 3)
	assert.ErrorContains(t, rep[0].Err, "Key cannot be null for SinkRecord orders-0@1")
	assert.ErrorContains(t, rep[1].Err, "Headers cannot be null for SinkRecord orders-0@2")
	assert.ErrorContains(t, rep[2].Err, `header "n" of orders-0@3 is null`)
	got := objects(t, cfg)
	base := "topics/orders/partition=0/orders+0+0000000000"
	assert.Equal(t, "\"k0\"\n\"k4\"\n", string(got[base+".keys.json"]))
	assert.Equal(t, `{"headers":[{"key":"trace","value":"t0"},{"key":"n","value":"0"}]}`+"\n"+
		`{"headers":[{"key":"trace","value":"t4"},{"key":"n","value":"4"}]}`+"\n", string(got[base+".headers.json"]))
	values := strings.Split(strings.TrimSuffix(string(got[base+".json"]), "\n"), "\n")
	require.Len(t, values, 2)
	assert.Contains(t, values[0], `"id":0,`)
	assert.Contains(t, values[1], `"id":40,`)
}

// TestParquetKeysNeedASchema: Parquet keys are RecordKey structs, which a
// schemaless key cannot be.
func TestParquetKeysNeedASchema(t *testing.T) {
	cfg := sidecarConfig(fakeS3(t), JSONFormatClass, ParquetFormatClass, JSONFormatClass)
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, connect.TopicPartition{Topic: "orders"})
	r := rich(0)
	r.KeySchema = nil
	require.NoError(t, task.Put(context.Background(), []*connect.Record{r}))
	waitCommits(t, task)
	rep := sc.ReportedRecords()
	require.Len(t, rep, 1)
	assert.ErrorContains(t, rep[0].Err, "ParquetFormat needs keys with a schema")
}

// TestGzipLeavesAvroSidecarsToTheirCodec: with JSON values and gzip, the
// value file is gzipped and the Avro keys file uses avro.codec.
func TestGzipLeavesAvroSidecarsToTheirCodec(t *testing.T) {
	cfg := sidecarConfig(fakeS3(t), JSONFormatClass, AvroFormatClass, JSONFormatClass)
	cfg["s3.compression.type"] = "gzip"
	cfg["avro.codec"] = "deflate"
	cfg["flush.size"] = "1"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
	require.NoError(t, task.Put(context.Background(), richRecords(0, 1)))
	waitCommits(t, task)
	got := objects(t, cfg)
	base := "topics/orders/partition=0/orders+0+0000000000"
	require.Equal(t, []string{base + ".headers.json.gz", base + ".json.gz", base + ".keys.avro"}, keys(got))
	f := readAvro(t, got, base+".keys.avro")[base+".keys.avro"]
	assert.Equal(t, "deflate", f.Codec)
	assert.Equal(t, []any{"k0"}, f.Records)
}
