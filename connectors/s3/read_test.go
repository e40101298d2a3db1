package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// orderAvro is a value schema as Confluent's AvroData writes it for a
// Connect struct shop.Order{id INT64, region optional STRING}.
const orderAvro = `{"type":"record","name":"Order","namespace":"shop","fields":[
	{"name":"id","type":"long"},
	{"name":"region","type":["null","string"],"default":null}],"connect.name":"shop.Order"}`

// headersAvro is the schema of the sink's Avro headers sidecar.
const headersAvro = `{"type":"array","items":{"type":"record","name":"Header","namespace":"io.confluent.connect.s3",
	"fields":[{"name":"key","type":"string"},{"name":"value","type":["null","string"],"default":null}]}}`

// ocfFile writes values as an Avro object container file with codec.
func ocfFile(t *testing.T, schema string, codec ocf.CodecName, values ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	// Blocks of two records, so a file has several.
	enc, err := ocf.NewEncoder(schema, &buf, ocf.WithCodec(codec), ocf.WithBlockLength(2))
	require.NoError(t, err)
	for _, v := range values {
		require.NoError(t, enc.Encode(v))
	}
	require.NoError(t, enc.Close())
	return buf.Bytes()
}

// readAll reads every record of one object with readObject.
func readAll(t *testing.T, srv *srcServer, config map[string]string, f func(s *sourceSettings) backupFormat, key string) ([]*connect.Schema, []any, error) {
	t.Helper()
	s, err := parseSourceSettings(config)
	require.NoError(t, err)
	st, err := openStore(context.Background(), s)
	require.NoError(t, err)
	rr, err := readObject(context.Background(), st, f(s), key)
	if err != nil {
		return nil, nil, err
	}
	defer rr.close()
	var schemas []*connect.Schema
	var vals []any
	for {
		sc, v, err := rr.next()
		if errors.Is(err, io.EOF) {
			return schemas, vals, nil
		}
		if err != nil {
			return schemas, vals, err
		}
		schemas, vals = append(schemas, sc), append(vals, v)
	}
}

func valueFormat(s *sourceSettings) backupFormat { return s.value }

func TestRestoreAvroEveryCodecWithKeysAndHeaders(t *testing.T) {
	for _, codec := range []ocf.CodecName{ocf.Null, ocf.Deflate, ocf.Snappy} {
		t.Run(string(codec), func(t *testing.T) {
			srv := srcFake(t)
			dir := "topics/orders/partition=0/"
			srv.put(t, dir+"orders+0+0000000010.avro", ocfFile(t, orderAvro, codec,
				map[string]any{"id": int64(10), "region": "eu"},
				map[string]any{"id": int64(11), "region": nil},
				map[string]any{"id": int64(12), "region": "us"}))
			srv.put(t, dir+"orders+0+0000000010.keys.avro", ocfFile(t, `"string"`, codec, "k10", "k11", "k12"))
			srv.put(t, dir+"orders+0+0000000010.headers.avro", ocfFile(t, headersAvro, codec,
				[]any{map[string]any{"key": "trace", "value": "t10"}}, []any{}, []any{map[string]any{"key": "n", "value": nil}}))
			cfg := srv.config(AvroFormatClass)
			task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
			recs := pollN(t, task, nil, 3)
			for i, r := range recs {
				st, ok := r.Value.(*connect.Struct)
				require.True(t, ok, "record %d value %T", i, r.Value)
				assert.Equal(t, "shop.Order", r.ValueSchema.Name)
				assert.Equal(t, int64(10+i), st.GetWithoutDefault("id"))
				assert.Equal(t, "k1"+string(rune('0'+i)), r.Key)
				assert.Equal(t, connect.TypeString, r.KeySchema.Type)
			}
			assert.Equal(t, "eu", recs[0].Value.(*connect.Struct).GetWithoutDefault("region"))
			assert.Nil(t, recs[1].Value.(*connect.Struct).GetWithoutDefault("region"))
			assert.Equal(t, connect.Headers{{Key: "trace", Schema: connect.OptionalStringSchema, Value: "t10"}}, recs[0].Headers)
			assert.Empty(t, recs[1].Headers)
			assert.Equal(t, connect.Headers{{Key: "n", Schema: connect.OptionalStringSchema}}, recs[2].Headers)
			assert.Equal(t, map[string]any{"key": dir + "orders+0+0000000010.avro", "index": int64(3)}, recs[2].SourceOffset)
		})
	}
}

// TestRestoreAvroResumesInsideABlock restarts after record 3 of a file
// whose blocks hold two records each.
func TestRestoreAvroResumesInsideABlock(t *testing.T) {
	srv := srcFake(t)
	var vals []any
	for i := range 5 {
		vals = append(vals, map[string]any{"id": int64(i), "region": nil})
	}
	srv.put(t, "topics/o/partition=0/o+0+0000000000.avro", ocfFile(t, orderAvro, ocf.Deflate, vals...))
	cfg := srv.config(AvroFormatClass)
	cfg["record.batch.max.size"] = "3"
	ctx := connecttest.NewSourceContext(t, cfg)
	task := srcStart(t, cfg, ctx)
	first := pollN(t, task, ctx, 3)
	require.NoError(t, task.Stop())
	restarted := ctx.Restarted()
	task = srcStart(t, cfg, restarted)
	rest := pollN(t, task, restarted, 2)
	var ids []any
	for _, r := range append(first, rest...) {
		ids = append(ids, r.Value.(*connect.Struct).GetWithoutDefault("id"))
	}
	assert.Equal(t, []any{int64(0), int64(1), int64(2), int64(3), int64(4)}, ids)
}

// TestRestoreAvroWrittenByApacheAvro reads a file written by the Apache
// Avro library (Debian's python3-avro), not by the Go library the other
// tests write with.
func TestRestoreAvroWrittenByApacheAvro(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import avro.datafile").Run(); err != nil {
		t.Skip("python3-avro is not installed (apt-get install python3-avro)")
	}
	path := filepath.Join(t.TempDir(), "orders.avro")
	script := `
import sys, avro.schema, avro.datafile, avro.io
schema = avro.schema.parse(sys.argv[2])
w = avro.datafile.DataFileWriter(open(sys.argv[1], "wb"), avro.io.DatumWriter(), schema, codec="deflate")
for i in range(3):
    w.append({"id": 100 + i, "region": None if i == 1 else "r%d" % i})
w.close()
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, path, orderAvro).CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	srv := srcFake(t)
	srv.put(t, "topics/orders/partition=0/orders+0+0000000100.avro", data)
	schemas, vals, err := readAll(t, srv, srv.config(AvroFormatClass), valueFormat, "topics/orders/partition=0/orders+0+0000000100.avro")
	require.NoError(t, err)
	require.Len(t, vals, 3)
	assert.Equal(t, "shop.Order", schemas[0].Name)
	assert.Equal(t, int64(100), vals[0].(*connect.Struct).GetWithoutDefault("id"))
	assert.Equal(t, "r0", vals[0].(*connect.Struct).GetWithoutDefault("region"))
	assert.Nil(t, vals[1].(*connect.Struct).GetWithoutDefault("region"))
	assert.Equal(t, "r2", vals[2].(*connect.Struct).GetWithoutDefault("region"))
}

func TestRestoreAvroRefusesAnotherFile(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/o/partition=0/o+0+0000000000.avro", []byte("{\"not\":\"avro\"}\n"))
	_, _, err := readAll(t, srv, srv.config(AvroFormatClass), valueFormat, "topics/o/partition=0/o+0+0000000000.avro")
	assert.ErrorContains(t, err, "topics/o/partition=0/o+0+0000000000.avro")
}

// pqOrder is a row as AvroParquetWriter writes shop.Order plus a nested
// struct and a list.
type pqOrder struct {
	ID     int64    `parquet:"id"`
	Region *string  `parquet:"region,optional"`
	Amount float64  `parquet:"amount"`
	Tags   []string `parquet:"tags,list"`
	Ship   struct {
		City string `parquet:"city"`
	} `parquet:"ship"`
}

const pqOrderAvro = `{"type":"record","name":"Order","namespace":"shop","fields":[
	{"name":"id","type":"long"},
	{"name":"region","type":["null","string"],"default":null},
	{"name":"amount","type":"double"},
	{"name":"tags","type":{"type":"array","items":"string"}},
	{"name":"ship","type":{"type":"record","name":"Ship","fields":[{"name":"city","type":"string"}]}}]}`

func pqFile(t *testing.T, opts []parquet.WriterOption, rows ...pqOrder) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqOrder](&buf, opts...)
	_, err := w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func pqRows(n int) []pqOrder {
	out := make([]pqOrder, n)
	for i := range out {
		out[i].ID, out[i].Amount = int64(i), float64(i)+0.5
		if i%2 == 0 {
			r := "eu"
			out[i].Region = &r
		}
		out[i].Tags = []string{"t", string(rune('a' + i%26))}
		out[i].Ship.City = "c"
	}
	return out
}

func TestRestoreParquetWithAvroSchemaAndRowGroups(t *testing.T) {
	srv := srcFake(t)
	dir := "topics/orders/partition=2/"
	// Small row groups and pages, so reading crosses them and the ranged
	// reader fetches several blocks.
	data := pqFile(t, []parquet.WriterOption{
		parquet.KeyValueMetadata("parquet.avro.schema", pqOrderAvro), parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(7), parquet.PageBufferSize(256),
	}, pqRows(20)...)
	srv.put(t, dir+"orders+2+0000000000.snappy.parquet", data)
	cfg := srv.config(ParquetFormatClass)
	cfg["record.batch.max.size"] = "6"
	ctx := connecttest.NewSourceContext(t, cfg)
	task := srcStart(t, cfg, ctx)
	first := pollN(t, task, ctx, 12)
	require.NoError(t, task.Stop())
	restarted := ctx.Restarted()
	task = srcStart(t, cfg, restarted)
	recs := append(first, pollN(t, task, restarted, 8)...)
	for i, r := range recs {
		require.Equal(t, int32(2), r.Partition)
		require.Equal(t, "shop.Order", r.ValueSchema.Name, "the Connect schema of the file's Avro schema")
		st := r.Value.(*connect.Struct)
		assert.Equal(t, int64(i), st.GetWithoutDefault("id"))
		assert.Equal(t, float64(i)+0.5, st.GetWithoutDefault("amount"))
		if i%2 == 0 {
			assert.Equal(t, "eu", st.GetWithoutDefault("region"))
		} else {
			assert.Nil(t, st.GetWithoutDefault("region"))
		}
		assert.Equal(t, []any{"t", string(rune('a' + i%26))}, st.GetWithoutDefault("tags"))
		assert.Equal(t, "c", st.GetWithoutDefault("ship").(*connect.Struct).GetWithoutDefault("city"))
	}
}

func TestRestoreParquetWithoutAvroSchema(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "topics/o/partition=0/o+0+0000000000.parquet", pqFile(t, nil, pqRows(2)...))
	schemas, vals, err := readAll(t, srv, srv.config(ParquetFormatClass), valueFormat, "topics/o/partition=0/o+0+0000000000.parquet")
	require.NoError(t, err)
	require.Len(t, vals, 2)
	s := schemas[0]
	assert.Equal(t, connect.TypeInt64, s.Field("id").Schema.Type)
	assert.True(t, s.Field("region").Schema.Optional)
	assert.Equal(t, connect.TypeString, s.Field("region").Schema.Type)
	assert.Equal(t, connect.TypeArray, s.Field("tags").Schema.Type)
	assert.Equal(t, "eu", vals[0].(*connect.Struct).GetWithoutDefault("region"))
	assert.Equal(t, []any{"t", "b"}, vals[1].(*connect.Struct).GetWithoutDefault("tags"))
}

// TestAvroSchemaParses guards the test schemas themselves.
func TestAvroSchemaParses(t *testing.T) {
	for _, s := range []string{orderAvro, headersAvro, pqOrderAvro} {
		_, err := avro.Parse(s)
		require.NoError(t, err)
	}
}

// pqKey and pqHeaders are the Parquet sidecars' rows: Confluent's sink
// envelopes keys as RecordKey{key} and headers as RecordHeaders{headers}.
type pqKey struct {
	Key string `parquet:"key"`
}

type pqHeader struct {
	Key   string  `parquet:"key"`
	Value *string `parquet:"value,optional"`
}

type pqHeaders struct {
	Headers []pqHeader `parquet:"headers,list"`
}

func TestRestoreParquetKeysAndHeadersSidecars(t *testing.T) {
	srv := srcFake(t)
	dir := "topics/orders/partition=0/"
	srv.put(t, dir+"orders+0+0000000000.snappy.parquet", pqFile(t, []parquet.WriterOption{
		parquet.KeyValueMetadata("parquet.avro.schema", pqOrderAvro), parquet.Compression(&parquet.Snappy)}, pqRows(2)...))
	write := func(key string, avroSchema string, rows any) {
		var buf bytes.Buffer
		var err error
		opts := []parquet.WriterOption{parquet.KeyValueMetadata("parquet.avro.schema", avroSchema), parquet.Compression(&parquet.Snappy)}
		switch r := rows.(type) {
		case []pqKey:
			w := parquet.NewGenericWriter[pqKey](&buf, opts...)
			_, err = w.Write(r)
			require.NoError(t, err)
			require.NoError(t, w.Close())
		case []pqHeaders:
			w := parquet.NewGenericWriter[pqHeaders](&buf, opts...)
			_, err = w.Write(r)
			require.NoError(t, err)
			require.NoError(t, w.Close())
		}
		srv.put(t, key, buf.Bytes())
	}
	write(dir+"orders+0+0000000000.keys.snappy.parquet",
		`{"type":"record","name":"RecordKey","fields":[{"name":"key","type":"string"}]}`,
		[]pqKey{{Key: "k0"}, {Key: "k1"}})
	v := "v0"
	write(dir+"orders+0+0000000000.headers.snappy.parquet",
		`{"type":"record","name":"RecordHeaders","fields":[{"name":"headers","type":{"type":"array","items":
			{"type":"record","name":"Header","fields":[{"name":"key","type":"string"},{"name":"value","type":["null","string"],"default":null}]}}}]}`,
		[]pqHeaders{{Headers: []pqHeader{{Key: "h", Value: &v}}}, {Headers: []pqHeader{}}})
	cfg := srv.config(ParquetFormatClass)
	cfg["keys.format.class"], cfg["headers.format.class"] = ParquetFormatClass, ParquetFormatClass
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 2)
	assert.Equal(t, "k0", recs[0].Key, "the RecordKey envelope is unwrapped")
	assert.Equal(t, connect.TypeString, recs[0].KeySchema.Type)
	assert.Equal(t, "k1", recs[1].Key)
	assert.Equal(t, connect.Headers{{Key: "h", Schema: connect.OptionalStringSchema, Value: "v0"}}, recs[0].Headers)
	assert.Empty(t, recs[1].Headers)
}

// TestReadBackupPicksTheSidecarFormat: readBackup, the round-trip tests'
// entry point, reads a value file and its sidecars each in its format,
// from the sink's own config.
func TestReadBackupPicksTheSidecarFormat(t *testing.T) {
	srv := srcFake(t)
	dir := "topics/orders/partition=0/"
	srv.put(t, dir+"orders+0+0000000000.json", jsonLines(`{"id":1}`))
	srv.put(t, dir+"orders+0+0000000000.keys.avro", ocfFile(t, `"string"`, ocf.Null, "k1"))
	sinkConfig := srv.config(JSONFormatClass)
	for k, v := range map[string]string{"storage.class": S3StorageClass, "flush.size": "1", "store.kafka.keys": "true", "s3.part.size": "5242880"} {
		sinkConfig[k] = v
	}
	for key, want := range map[string]any{dir + "orders+0+0000000000.json": map[string]any{"id": int64(1)}, dir + "orders+0+0000000000.keys.avro": "k1"} {
		rr, done, err := readBackup(context.Background(), sinkConfig, key)
		require.NoError(t, err)
		_, v, err := rr.next()
		require.NoError(t, err)
		assert.Equal(t, want, v)
		_, _, err = rr.next()
		assert.ErrorIs(t, err, io.EOF)
		done()
	}
}
