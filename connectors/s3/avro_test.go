package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// TestFormatConfigRefusals: values this version cannot honour are refused
// naming the key and what to do instead.
func TestFormatConfigRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		set  map[string]string
		want []string
	}{
		"bzip2":             {map[string]string{"avro.codec": "bzip2"}, []string{"avro.codec", "bzip2 is not supported", "deflate"}},
		"avro codec":        {map[string]string{"avro.codec": "zip"}, []string{"avro.codec", "null, deflate, snappy"}},
		"lzo":               {map[string]string{"parquet.codec": "lzo"}, []string{"parquet.codec", "lzo is not supported"}},
		"lz4":               {map[string]string{"parquet.codec": "lz4"}, []string{"parquet.codec", "lz4 is not supported", "lz4_raw"}},
		"optional map keys": {map[string]string{"allow.optional.map.keys": "true"}, []string{"allow.optional.map.keys", "only false"}},
		"bytearray headers": {map[string]string{"headers.format.class": ByteArrayFormatClass}, []string{"headers.format.class", "cannot be written with"}},
		"keys class":        {map[string]string{"keys.format.class": "x.Y"}, []string{"keys.format.class", "must be one of"}},
		"gzip avro": {map[string]string{"format.class": AvroFormatClass, "s3.compression.type": "gzip"},
			[]string{"s3.compression.type=gzip does not compress Avro files", "avro.codec"}},
		"gzip parquet": {map[string]string{"format.class": ParquetFormatClass, "s3.compression.type": "gzip"},
			[]string{"s3.compression.type=gzip does not compress Parquet files", "parquet.codec"}},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := baseConfig("http://127.0.0.1:1")
			for k, v := range tc.set {
				cfg[k] = v
			}
			_, err := parseSettings(cfg)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
	// Accepted: the values Sluice implements, and gzip where it compresses.
	cfg := baseConfig("http://127.0.0.1:1")
	for k, v := range map[string]string{"avro.codec": "snappy", "parquet.codec": "zstd", "connect.meta.data": "false",
		"enhanced.avro.schema.support": "false", "schema.cache.size": "10", "allow.optional.map.keys": "false",
		"s3.compression.type": "gzip", "store.kafka.keys": "true", "store.kafka.headers": "true", "headers.format.class": ParquetFormatClass} {
		cfg[k] = v
	}
	_, err := parseSettings(cfg)
	require.NoError(t, err)
}

// TestAvroPrimitiveValues: values that are not Structs are written as the
// Avro type of their schema.
func TestAvroPrimitiveValues(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = AvroFormatClass
	cfg["flush.size"] = "2"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "n"})
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		{Topic: "n", Offset: 0, ValueSchema: connect.Int32Schema, Value: int32(-5)},
		{Topic: "n", Offset: 1, ValueSchema: connect.Int32Schema, Value: int32(1 << 20)},
	}))
	waitCommits(t, task)
	got := objects(t, cfg)
	f := readAvro(t, got, "topics/n/partition=0/n+0+0000000000.avro")["topics/n/partition=0/n+0+0000000000.avro"]
	assert.Equal(t, "int", f.Schema)
	assert.Equal(t, []any{-5.0, float64(1 << 20)}, f.Records)
}

// TestAvroAndParquetRefuseWhatTheyCannotWrite: schemaless values, Parquet
// values that are not Structs, and values that do not match their schema
// are reported, and nothing of them is written.
func TestAvroAndParquetRefuseWhatTheyCannotWrite(t *testing.T) {
	for _, tc := range []struct {
		format string
		rec    *connect.Record
		want   string
	}{
		{AvroFormatClass, &connect.Record{Value: map[string]any{"a": 1.0}}, "AvroFormat needs records with a schema"},
		{ParquetFormatClass, &connect.Record{Value: map[string]any{"a": 1.0}}, "ParquetFormat needs records with a schema"},
		{ParquetFormatClass, &connect.Record{ValueSchema: connect.StringSchema, Value: "x"}, "ParquetFormat needs Struct values"},
		{AvroFormatClass, &connect.Record{ValueSchema: richSchema, Value: "x"}, "AvroFormat cannot write the value"},
	} {
		cfg := baseConfig(fakeS3(t))
		cfg["format.class"] = tc.format
		cfg["flush.size"] = "1"
		sc := connecttest.NewSinkContext(t, cfg)
		sc.Tolerate = true
		task := start(t, cfg, sc, connect.TopicPartition{Topic: "orders"})
		tc.rec.Topic, tc.rec.Offset = "orders", 3
		require.NoError(t, task.Put(context.Background(), []*connect.Record{tc.rec, rich(4)}))
		waitCommits(t, task)
		rep := sc.ReportedRecords()
		require.Len(t, rep, 1, tc.want)
		assert.ErrorContains(t, rep[0].Err, tc.want)
		assert.ErrorContains(t, rep[0].Err, "orders-0@3")
		got := objects(t, cfg)
		// Nothing of the bad record is in the file; the good one is.
		require.Len(t, got, 1, tc.want)
		if tc.format == AvroFormatClass {
			f := readAvro(t, got, keys(got)...)[keys(got)[0]]
			assert.Equal(t, []any{richAvro(t, 4)}, f.Records)
		} else {
			f := readParquet(t, got, keys(got)...)[keys(got)[0]]
			assert.Equal(t, []any{richParquet(t, 4)}, normal(t, f.Rows))
		}
	}
}

// TestWriterRefusesAnotherSchema: a file holds records of one schema; the
// writer refuses a record of another before writing anything of it.
func TestWriterRefusesAnotherSchema(t *testing.T) {
	other := connect.NewSchemaBuilder(connect.TypeStruct).Name("shop.Order").Field("id", connect.Int64Schema).Build()
	for _, f := range []recordFormat{
		newAvroFormat(&settings{formatSettings: formatSettings{avroCodec: "null", schemaCacheSize: 10, connectMetaData: true}}),
		newParquetFormat(&settings{partSize: 5 << 20, formatSettings: formatSettings{parquetCodec: "snappy", schemaCacheSize: 10, connectMetaData: true}}),
	} {
		var out bytes.Buffer
		w, err := f.newWriter(&out, richSchema)
		require.NoError(t, err)
		require.NoError(t, w.write(richSchema, rich(1).Value))
		before := out.Len()
		err = w.write(other, connect.NewStruct(other).MustPut("id", int64(1)))
		var bad *badRecordError
		require.True(t, errors.As(err, &bad), "%T %v", f, err)
		assert.ErrorContains(t, err, "differs from its file's")
		assert.Equal(t, before, out.Len())
		// An equal schema built separately is the same schema.
		same := *richSchema
		require.NoError(t, w.write(&same, rich(2).Value))
		require.NoError(t, w.close())
	}
}

// TestAvroEnums: a string that came from an Avro enum cannot be written
// as an enum yet: with enhanced.avro.schema.support=true (Confluent's
// default) the record is reported; with false it is an Avro string, as
// Confluent writes it then.
func TestAvroEnums(t *testing.T) {
	suit := connect.NewSchemaBuilder(connect.TypeString).Name("Suit").Param(enumParam, "Suit").
		Param(enumParam+".HEARTS", "HEARTS").Param(enumParam+".SPADES", "SPADES").Build()
	card := connect.NewSchemaBuilder(connect.TypeStruct).Name("Card").Field("suit", suit).Build()
	rec := &connect.Record{Topic: "cards", ValueSchema: card, Value: connect.NewStruct(card).MustPut("suit", "SPADES")}
	for _, enhanced := range []string{"true", "false"} {
		cfg := baseConfig(fakeS3(t))
		cfg["format.class"] = AvroFormatClass
		cfg["enhanced.avro.schema.support"] = enhanced
		cfg["flush.size"] = "1"
		sc := connecttest.NewSinkContext(t, cfg)
		sc.Tolerate = true
		task := start(t, cfg, sc, connect.TopicPartition{Topic: "cards"})
		require.NoError(t, task.Put(context.Background(), []*connect.Record{rec}))
		waitCommits(t, task)
		got := objects(t, cfg)
		if enhanced == "true" {
			require.Len(t, sc.ReportedRecords(), 1)
			assert.ErrorContains(t, sc.ReportedRecords()[0].Err, "set enhanced.avro.schema.support=false")
			assert.Empty(t, got)
			continue
		}
		assert.Empty(t, sc.ReportedRecords())
		f := readAvro(t, got, keys(got)...)[keys(got)[0]]
		assert.Equal(t, []any{map[string]any{"suit": "SPADES"}}, f.Records)
	}
}

// TestRewritesAreIdentical: the same records make the same bytes in
// every format (exactly-once rewrites after a restart overwrite objects
// with the same content).
func TestRewritesAreIdentical(t *testing.T) {
	for _, f := range []string{AvroFormatClass, ParquetFormatClass} {
		run := func() map[string][]byte {
			cfg := sidecarConfig(fakeS3(t), f, f, f)
			cfg["avro.codec"] = "deflate"
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
			require.NoError(t, task.Put(context.Background(), richRecords(0, 8)))
			waitCommits(t, task)
			return objects(t, cfg)
		}
		first := run()
		require.Len(t, first, 6)
		assert.Equal(t, first, run(), f)
	}
}

// TestConnectMetaDataFalse: without connect.meta.data the schemas of the
// Avro files and Parquet footers have no connect.* property, as AvroData
// makes them then; the values are the same.
func TestConnectMetaDataFalse(t *testing.T) {
	for _, f := range []string{AvroFormatClass, ParquetFormatClass} {
		cfg := baseConfig(fakeS3(t))
		cfg["format.class"] = f
		cfg["connect.meta.data"] = "false"
		cfg["flush.size"] = "2"
		task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
		require.NoError(t, task.Put(context.Background(), richRecords(0, 2)))
		waitCommits(t, task)
		got := objects(t, cfg)
		require.Len(t, got, 1)
		name := keys(got)[0]
		if f == AvroFormatClass {
			file := readAvro(t, got, name)[name]
			assert.Equal(t, []any{richAvro(t, 0), richAvro(t, 1)}, file.Records)
			text, err := json.Marshal(file.Schema)
			require.NoError(t, err)
			assert.NotContains(t, string(text), "connect.")
			assert.Contains(t, string(text), `"logicalType":"decimal"`)
			continue
		}
		file := readParquet(t, got, name)[name]
		assert.Equal(t, normal(t, []any{richParquet(t, 0), richParquet(t, 1)}), normal(t, file.Rows))
		assert.NotContains(t, file.KV["parquet.avro.schema"], "connect.")
		assert.Contains(t, file.KV["parquet.avro.schema"], `"name":"Order","namespace":"shop"`)
	}
}

// TestFilesStreamAsTheyFill: an Avro file goes to its stream a block
// (about 64 kB) at a time, and a Parquet file a row group (about
// s3.part.size) at a time; neither holds its whole file until close.
func TestFilesStreamAsTheyFill(t *testing.T) {
	blob := connect.NewSchemaBuilder(connect.TypeStruct).Name("Blob").Field("text", connect.StringSchema).Build()
	text := string(bytes.Repeat([]byte("0123456789"), 10_000)) // 100 kB
	for _, tc := range []struct {
		f       recordFormat
		records int
		atLeast int // bytes in the stream before close
	}{
		{newAvroFormat(&settings{formatSettings: formatSettings{avroCodec: "null", schemaCacheSize: 1}}), 10, 9 * 100_000},
		{newParquetFormat(&settings{partSize: 5 << 20, formatSettings: formatSettings{parquetCodec: "none", schemaCacheSize: 1}}), 120, 5 << 20},
	} {
		var out bytes.Buffer
		w, err := tc.f.newWriter(&out, blob)
		require.NoError(t, err)
		for i := range tc.records {
			require.NoError(t, w.write(blob, connect.NewStruct(blob).MustPut("text", strconv.Itoa(i)+text)))
		}
		assert.GreaterOrEqual(t, out.Len(), tc.atLeast, "%T", tc.f)
		require.NoError(t, w.close())
	}
}
