package s3

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

var (
	addrSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("shop.Address").Optional().
			Field("city", connect.StringSchema).Build()
	priceSchema = connect.DecimalSchema(2).Build()
	// richSchema has a field of every kind the formats map.
	richSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("shop.Order").Version(3).
			Field("id", connect.Int64Schema).
			Field("small", connect.Int8Schema).
			Field("region", connect.StringSchema).
			Field("note", connect.OptionalStringSchema).
			Field("price", priceSchema).
			Field("day", connect.DateSchema().Build()).
			Field("at", connect.TimestampSchema().Build()).
			Field("tod", connect.TimeSchema().Build()).
			Field("tags", connect.ArrayOf(connect.StringSchema)).
			Field("attrs", connect.MapOf(connect.StringSchema, connect.Int32Schema)).
			Field("flag", connect.BooleanSchema).
			Field("ratio", connect.Float64Schema).
			Field("raw", connect.BytesSchema).
			Field("addr", addrSchema).
			Build()
	day0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
)

// rich is a record of richSchema at offset off; even offsets have no note
// and no address.
func rich(off int64) *connect.Record {
	v := connect.NewStruct(richSchema).
		MustPut("id", off*10).MustPut("small", int8(off)).MustPut("region", []string{"eu", "us"}[off%2]).
		MustPut("price", big.NewRat(12345+off, 100)).
		MustPut("day", day0.AddDate(0, 0, int(off))).
		MustPut("at", day0.Add(time.Duration(off)*time.Hour+1500*time.Millisecond)).
		MustPut("tod", time.UnixMilli(int64(off)*60000+250).UTC()).
		MustPut("tags", []any{"a", "b"}[:off%3]).
		MustPut("attrs", map[string]any{"n": int32(off), "m": int32(2), "zz": int32(-1), "a": int32(9)}).
		MustPut("flag", off%2 == 0).MustPut("ratio", float64(off)/4).
		MustPut("raw", []byte{byte(off), 0xff})
	if off%2 == 1 {
		v.MustPut("note", "odd").MustPut("addr", connect.NewStruct(addrSchema).MustPut("city", "Lyon"))
	}
	return &connect.Record{Topic: "orders", Partition: 0, Offset: off, ValueSchema: richSchema, Value: v,
		KeySchema: connect.StringSchema, Key: "k" + string(rune('0'+off)),
		Headers: connect.Headers{{Key: "trace", Schema: connect.StringSchema, Value: "t" + string(rune('0'+off))}, {Key: "n", Schema: connect.Int32Schema, Value: int32(off)}}}
}

// normal round-trips v through JSON, as the readers' output is compared.
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// richAvro is rich(off)'s value as Apache Avro's Python reader returns it
// (through read_avro.py): logical types as Python dates, times and
// decimals.
func richAvro(t *testing.T, off int64) any {
	r := rich(off)
	v := r.Value.(*connect.Struct)
	get := func(n string) any { x, _ := v.Get(n); return x }
	m := map[string]any{
		"id": get("id"), "small": get("small"), "region": get("region"), "note": get("note"),
		"price": get("price").(*big.Rat).FloatString(2),
		"day":   get("day").(time.Time).Format("2006-01-02"),
		"at":    get("at").(time.Time).Format("2006-01-02T15:04:05.000000+00:00"),
		"tod":   get("tod").(time.Time).Format("15:04:05.000000"),
		"tags":  get("tags"), "attrs": get("attrs"), "flag": get("flag"), "ratio": get("ratio"),
		"raw": base64.StdEncoding.EncodeToString(get("raw").([]byte)), "addr": nil,
	}
	if a := get("addr"); a != nil {
		city, _ := a.(*connect.Struct).Get("city")
		m["addr"] = map[string]any{"city": city}
	}
	return normal(t, m)
}

// richParquet is rich(off)'s value as hyparquet returns it (through
// read.mjs): INT64 as strings, DATE and TIMESTAMP as ISO instants,
// TIME_MILLIS as milliseconds, DECIMAL as a number.
func richParquet(t *testing.T, off int64) any {
	m := richAvro(t, off).(map[string]any)
	v := rich(off).Value.(*connect.Struct)
	get := func(n string) any { x, _ := v.Get(n); return x }
	m["id"] = strconv.FormatInt(get("id").(int64), 10)
	m["price"], _ = get("price").(*big.Rat).Float64()
	m["day"] = get("day").(time.Time).Format("2006-01-02T15:04:05.000Z")
	m["at"] = get("at").(time.Time).Format("2006-01-02T15:04:05.000Z")
	ms, err := connect.TimeToMillis(get("tod").(time.Time))
	require.NoError(t, err)
	m["tod"] = ms
	return normal(t, m)
}

// headerLines is what the headers sidecar holds for rich(off).
func headerList(off int64) []any {
	return []any{map[string]any{"key": "trace", "value": "t" + strconv.Itoa(int(off))}, map[string]any{"key": "n", "value": strconv.Itoa(int(off))}}
}

func richRecords(from, n int64) []*connect.Record {
	var out []*connect.Record
	for off := from; off < from+n; off++ {
		out = append(out, rich(off))
	}
	return out
}

// sidecarConfig is a config of format.class f storing keys and headers.
func sidecarConfig(url, f, keysFormat, headersFormat string) map[string]string {
	cfg := baseConfig(url)
	cfg["format.class"] = f
	cfg["store.kafka.keys"] = "true"
	cfg["store.kafka.headers"] = "true"
	cfg["keys.format.class"] = keysFormat
	cfg["headers.format.class"] = headersFormat
	cfg["flush.size"] = "4"
	return cfg
}

// TestAvroFilesReadByApacheAvro: each file is an Avro object container
// file with AvroData's schema, codec avro.codec, and every record with its
// values; the key and header sidecars hold record i's key and headers at
// position i.
func TestAvroFilesReadByApacheAvro(t *testing.T) {
	for _, codec := range []string{"null", "deflate", "snappy"} {
		t.Run(codec, func(t *testing.T) {
			cfg := sidecarConfig(fakeS3(t), AvroFormatClass, AvroFormatClass, AvroFormatClass)
			cfg["avro.codec"] = codec
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
			require.NoError(t, task.Put(context.Background(), richRecords(0, 9)))
			waitCommits(t, task)
			got := objects(t, cfg)
			dir := "topics/orders/partition=0/"
			require.Equal(t, []string{
				dir + "orders+0+0000000000.avro", dir + "orders+0+0000000000.headers.avro", dir + "orders+0+0000000000.keys.avro",
				dir + "orders+0+0000000004.avro", dir + "orders+0+0000000004.headers.avro", dir + "orders+0+0000000004.keys.avro",
			}, keys(got))
			files := readAvro(t, got, keys(got)...)
			for _, start := range []int64{0, 4} {
				name := dir + fmt.Sprintf("orders+0+%010d", start)
				values, keyFile, headerFile := files[name+".avro"], files[name+".keys.avro"], files[name+".headers.avro"]
				for _, f := range []avroFile{values, keyFile, headerFile} {
					assert.Equal(t, codec, f.Codec)
				}
				require.Len(t, values.Records, 4)
				require.Len(t, keyFile.Records, 4)
				require.Len(t, headerFile.Records, 4)
				for i, rec := range values.Records {
					off := start + int64(i)
					assert.Equal(t, richAvro(t, off), rec, "record %d", off)
					assert.Equal(t, "k"+strconv.Itoa(int(off)), keyFile.Records[i])
					assert.Equal(t, normal(t, headerList(off)), headerFile.Records[i])
				}
				// The writer schema is AvroData's, connect.* properties
				// included.
				schema := values.Schema.(map[string]any)
				assert.Equal(t, "shop.Order", schema["connect.name"])
				assert.EqualValues(t, 3, schema["connect.version"])
				price := schema["fields"].([]any)[4].(map[string]any)["type"].(map[string]any)
				assert.Equal(t, map[string]any{"type": "bytes", "logicalType": "decimal", "precision": 64.0, "scale": 2.0,
					"connect.version": 1.0, "connect.parameters": map[string]any{"scale": "2"}, "connect.name": connect.DecimalName}, price)
				assert.Equal(t, "string", keyFile.Schema)
				assert.Equal(t, "io.confluent.connect.avro", headerFile.Schema.(map[string]any)["items"].(map[string]any)["namespace"])
			}
		})
	}
}

// TestParquetFilesReadByHyparquet: each file is a Parquet file with
// parquet-avro's schema of the values, codec and extension of
// parquet.codec, every row with its values, and the Avro schema in the
// footer.
func TestParquetFilesReadByHyparquet(t *testing.T) {
	for codec, want := range map[string]struct{ ext, name string }{
		"none": {".parquet", "UNCOMPRESSED"}, "snappy": {".snappy.parquet", "SNAPPY"}, "gzip": {".gz.parquet", "GZIP"},
		"zstd": {".zstd.parquet", "ZSTD"}, "brotli": {".br.parquet", "BROTLI"}, "lz4_raw": {".lz4raw.parquet", "LZ4_RAW"},
	} {
		t.Run(codec, func(t *testing.T) {
			cfg := sidecarConfig(fakeS3(t), ParquetFormatClass, ParquetFormatClass, ParquetFormatClass)
			cfg["parquet.codec"] = codec
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
			require.NoError(t, task.Put(context.Background(), richRecords(0, 4)))
			waitCommits(t, task)
			got := objects(t, cfg)
			base := "topics/orders/partition=0/orders+0+0000000000"
			names := []string{base + want.ext, base + ".keys" + want.ext, base + ".headers" + want.ext}
			require.ElementsMatch(t, names, keys(got))
			files := readParquet(t, got, names...)
			values, keyFile, headerFile := files[names[0]], files[names[1]], files[names[2]]
			for _, f := range []parquetFile{values, keyFile, headerFile} {
				assert.Equal(t, []string{want.name}, f.Codecs)
				assert.Equal(t, "avro", f.KV["writer.model.name"])
				require.Len(t, f.Rows, 4)
			}
			for i, row := range values.Rows {
				off := int64(i)
				assert.Equal(t, richParquet(t, off), normal(t, row), "row %d", off)
				assert.Equal(t, map[string]any{"key": "k" + strconv.Itoa(i)}, keyFile.Rows[i]) // RecordKey{key}
				assert.Equal(t, normal(t, map[string]any{"headers": map[string]any{"array": headerList(off)}}), normal(t, headerFile.Rows[i]))
			}
			s := values.Schema
			assert.Equal(t, "shop.Order", s.Name)
			var names2 []string
			for _, c := range s.Children {
				names2 = append(names2, c.Name)
			}
			assert.Equal(t, []string{"id", "small", "region", "note", "price", "day", "at", "tod", "tags", "attrs", "flag", "ratio", "raw", "addr"}, names2)
			assert.Equal(t, pqSchema{Name: "id", Repetition: "REQUIRED", Type: "INT64"}, s.child(t, "id"))
			assert.Equal(t, "OPTIONAL", s.child(t, "note").Repetition)
			assert.Equal(t, "UTF8", s.child(t, "note").Converted)
			assert.Equal(t, map[string]any{"type": "DECIMAL", "precision": 64.0, "scale": 2.0}, s.child(t, "price").Logical)
			assert.Equal(t, "DATE", s.child(t, "day").Converted)
			assert.Equal(t, "TIMESTAMP_MILLIS", s.child(t, "at").Converted)
			assert.Equal(t, "TIME_MILLIS", s.child(t, "tod").Converted)
			// Lists are parquet-avro's default 2-level lists.
			tags := s.child(t, "tags")
			assert.Equal(t, "LIST", tags.Converted)
			assert.Equal(t, pqSchema{Name: "array", Repetition: "REPEATED", Type: "BYTE_ARRAY", Converted: "UTF8", Logical: map[string]any{"type": "STRING"}}, tags.child(t, "array"))
			attrs := s.child(t, "attrs")
			assert.Equal(t, "MAP", attrs.Converted)
			assert.Equal(t, "REPEATED", attrs.child(t, "key_value").Repetition)
			assert.Equal(t, "OPTIONAL", s.child(t, "addr").Repetition)
			assert.Contains(t, values.KV["parquet.avro.schema"], `"connect.name":"shop.Order"`)
			assert.Equal(t, "RecordKey", keyFile.Schema.Name)
			assert.Equal(t, "RecordHeaders", headerFile.Schema.Name)
		})
	}
}

// TestFormatsAgainstVersityGW: Avro and Parquet files with their key and
// header sidecars, written to a real S3 server and read back by the
// independent readers.
func TestFormatsAgainstVersityGW(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, testBucket)
	for _, f := range []string{AvroFormatClass, ParquetFormatClass} {
		cfg := sidecarConfig(srv.Endpoint, f, f, f)
		cfg["s3.region"], cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = srv.Region, srv.AccessKey, srv.SecretKey
		cfg["topics.dir"] = "vgw-" + map[string]string{AvroFormatClass: "avro", ParquetFormatClass: "parquet"}[f]
		cfg["avro.codec"] = "deflate"
		cfg["parquet.codec"] = "zstd"
		task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
		require.NoError(t, task.Put(context.Background(), richRecords(0, 8)))
		waitCommits(t, task)
		off, err := task.Flush(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, int64(8), off[connect.TopicPartition{Topic: "orders"}])
		all := objects(t, cfg)
		got := map[string][]byte{}
		for k, v := range all {
			if strings.HasPrefix(k, cfg["topics.dir"]+"/") {
				got[k] = v
			}
		}
		require.Len(t, got, 6, f)
		dir := cfg["topics.dir"] + "/orders/partition=0/"
		for _, start := range []int64{0, 4} {
			base := dir + fmt.Sprintf("orders+0+%010d", start)
			if f == AvroFormatClass {
				files := readAvro(t, got, base+".avro", base+".keys.avro", base+".headers.avro")
				for i := range int64(4) {
					assert.Equal(t, richAvro(t, start+i), files[base+".avro"].Records[i])
					assert.Equal(t, "k"+strconv.Itoa(int(start+i)), files[base+".keys.avro"].Records[i])
					assert.Equal(t, normal(t, headerList(start+i)), files[base+".headers.avro"].Records[i])
				}
				continue
			}
			ext := ".zstd.parquet"
			files := readParquet(t, got, base+ext, base+".keys"+ext, base+".headers"+ext)
			for i := range int64(4) {
				assert.Equal(t, richParquet(t, start+i), normal(t, files[base+ext].Rows[i]))
				assert.Equal(t, "k"+strconv.Itoa(int(start+i)), files[base+".keys"+ext].Rows[i]["key"])
			}
		}
	}
}

// TestAcceptanceAvroAndParquet runs the connector suite through the real
// worker with Avro and Parquet files: the records (JSON with schemas,
// Structs {id}) read back by the independent readers are those
// produced, each exactly once, across a worker restart.
func TestAcceptanceAvroAndParquet(t *testing.T) {
	for _, f := range []string{AvroFormatClass, ParquetFormatClass} {
		t.Run(f[strings.LastIndexByte(f, '.')+1:], func(t *testing.T) {
			var n atomic.Int32
			connecttest.Acceptance(t, connecttest.Spec{
				Plugin: Plugin,
				Config: func(t *testing.T) map[string]string {
					cfg := baseConfig(fakeS3(t))
					delete(cfg, "connector.class")
					cfg["format.class"] = f
					cfg["topics"] = "acc-" + strconv.Itoa(int(n.Add(1)))
					cfg["flush.size"] = "5"
					cfg["value.converter"] = "org.apache.kafka.connect.json.JsonConverter"
					cfg["value.converter.schemas.enable"] = "true"
					return cfg
				},
				Topic: func(config map[string]string) string { return config["topics"] },
				Skip:  map[string]string{"StopIsIdempotentAndLeaksNothing": "the check puts schemaless values, which Avro and Parquet files cannot hold (reported, as Confluent fails them)"},
				Value: func(i int) []byte {
					return fmt.Appendf(nil, `{"schema":{"type":"struct","name":"Item","fields":[{"field":"id","type":"int64"}]},"payload":{"id":%d}}`, i)
				},
				ID: func(v any) (int, error) {
					m, _ := v.(map[string]any)
					s := fmt.Sprint(m["id"])
					return strconv.Atoi(s)
				},
				Written: func(t *testing.T, config map[string]string) []any {
					got := objects(t, config)
					var out []any
					if len(got) == 0 {
						return nil
					}
					names := keys(got) // zero-padded start offsets sort in offset order
					if f == AvroFormatClass {
						files := readAvro(t, got, names...)
						for _, k := range names {
							out = append(out, files[k].Records...)
						}
						return out
					}
					files := readParquet(t, got, names...)
					for _, k := range names {
						for _, r := range files[k].Rows {
							out = append(out, any(r))
						}
					}
					return out
				},
			})
		})
	}
}
