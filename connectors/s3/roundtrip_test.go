package s3

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/worker"
)

// The round trip: topic → S3 sink → S3 source into a new topic →
// the same records, in the same order per partition, with the same keys,
// headers and (with store.kafka.timestamps) timestamps, for each format.

const (
	rtPartitions = 3
	rtPerPart    = 6 // two flushes of flush.size=3 per partition
)

// rtBase is the first record's timestamp; record i is 15 minutes after
// record i-1, so the hourly path of the time-based case changes inside a
// file (records 0-3 are in hour 10, 4-5 in hour 11).
var rtBase = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func rtTimestamp(p, i int) time.Time {
	return rtBase.Add(time.Duration(i)*15*time.Minute + time.Duration(p)*time.Millisecond)
}

// rtCase is one format's round trip.
type rtCase struct {
	name string
	// config holds the format's sink keys and the converters of both
	// connectors.
	config     map[string]string
	key, value func(p, i int) []byte
	// decode turns a key or value as produced into what must come back
	// equal: the bytes themselves, or a JSON envelope's payload.
	decode func(t *testing.T, b []byte) any
	// decodeValue, when set, decodes values instead of decode.
	decodeValue func(t *testing.T, b []byte) any
	// timestamps: store.kafka.timestamps=true, the headerless record too.
	timestamps bool
}

func rtRaw(_ *testing.T, b []byte) any { return string(b) }

// rtJSON decodes schemaless JSON: an object's members come back in the
// order the sink's JsonConverter gave them (java.util.HashMap's, as in
// Kafka, whose converter reads a schemaless object into a HashMap), so
// JSON values are equal as JSON, not as bytes.
func rtJSON(t *testing.T, b []byte) any {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	require.NoError(t, d.Decode(&v), "JSON %s", b)
	return v
}

// rtPayload decodes a JsonConverter envelope and keeps its payload and
// its schema's field names and types: Avro and Parquet files give back
// the same data under the same fields, not the same JSON bytes (a schema
// may come back named or with different parameters).
func rtPayload(t *testing.T, b []byte) any {
	var env struct {
		Schema struct {
			Type   string `json:"type"`
			Fields []struct {
				Field string `json:"field"`
				Type  string `json:"type"`
			} `json:"fields"`
		} `json:"schema"`
		Payload any `json:"payload"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	require.NoError(t, d.Decode(&env), "envelope %s", b)
	var fields []string
	for _, f := range env.Schema.Fields {
		fields = append(fields, f.Field+":"+f.Type)
	}
	return []any{env.Schema.Type, fields, env.Payload}
}

const rtValueSchema = `{"type":"struct","name":"Order","optional":false,"fields":[` +
	`{"field":"id","type":"int64","optional":false},` +
	`{"field":"name","type":"string","optional":false},` +
	`{"field":"price","type":"double","optional":false},` +
	`{"field":"tags","type":"array","items":{"type":"string","optional":false},"optional":false},` +
	`{"field":"note","type":"string","optional":true}]}`

func rtEnvelopeValue(p, i int) []byte {
	note := `null`
	if i%2 == 0 {
		note = fmt.Sprintf(`"note %d/%d"`, p, i)
	}
	return fmt.Appendf(nil, `{"schema":%s,"payload":{"id":%d,"name":"order-%d-%d","price":%d.25,"tags":["a","b%d"],"note":%s}}`,
		rtValueSchema, p*100+i, p, i, i, i, note)
}

func rtEnvelopeKey(p, i int) []byte {
	return fmt.Appendf(nil, `{"schema":{"type":"string","optional":false},"payload":"key-%d-%d"}`, p, i)
}

const (
	jsonConverter      = "org.apache.kafka.connect.json.JsonConverter"
	byteArrayConverter = "org.apache.kafka.connect.converters.ByteArrayConverter"
)

func rtCases() []rtCase {
	schemaless := map[string]string{
		"key.converter": jsonConverter, "key.converter.schemas.enable": "false",
		"value.converter": jsonConverter, "value.converter.schemas.enable": "false",
	}
	withSchemas := map[string]string{
		"key.converter": jsonConverter, "key.converter.schemas.enable": "true",
		"value.converter": jsonConverter, "value.converter.schemas.enable": "true",
	}
	jsonValue := func(p, i int) []byte {
		return fmt.Appendf(nil, `{"p":%d,"i":%d,"name":"n-%d-%d","price":%d.5,"tags":["x","y"],"nested":{"b":true,"z":null}}`, p, i, p, i, i)
	}
	jsonKey := func(p, i int) []byte { return fmt.Appendf(nil, `"k-%d-%d"`, p, i) }
	return []rtCase{
		{name: "json", timestamps: true, key: jsonKey, value: jsonValue, decode: rtRaw, decodeValue: rtJSON,
			config: with(schemaless, map[string]string{
				"format.class": JSONFormatClass, "keys.format.class": JSONFormatClass, "headers.format.class": JSONFormatClass,
			})},
		{name: "bytearray", timestamps: true, decode: rtRaw,
			key:   func(p, i int) []byte { return fmt.Appendf(nil, "key\x00%d\xff%d", p, i) },
			value: func(p, i int) []byte { return fmt.Appendf(nil, "\x00\x01bin %d %d\xfe\t\r", p, i) },
			config: map[string]string{
				"key.converter": byteArrayConverter, "value.converter": byteArrayConverter,
				"format.class": ByteArrayFormatClass, "keys.format.class": ByteArrayFormatClass, "headers.format.class": AvroFormatClass,
			}},
		{name: "avro", timestamps: true, key: rtEnvelopeKey, value: rtEnvelopeValue, decode: rtPayload,
			config: with(withSchemas, map[string]string{
				"format.class": AvroFormatClass, "avro.codec": "deflate",
			})},
		// Parquet values, keys and headers, gzip-compressed (.gz.parquet),
		// spread over hourly folders by the record time.
		{name: "parquet", timestamps: true, key: rtEnvelopeKey, value: rtEnvelopeValue, decode: rtPayload,
			config: with(withSchemas, map[string]string{
				"format.class": ParquetFormatClass, "keys.format.class": ParquetFormatClass, "headers.format.class": ParquetFormatClass,
				"parquet.codec": "gzip", "partitioner.class": TimeBasedPartitionerClass, "timestamp.extractor": "Record",
				"path.format": "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", "partition.duration.ms": "3600000",
				"locale": "en", "timezone": "UTC",
			})},
		// The sidecars in their default format, Avro (whose keys need a
		// schema: string keys of the StringConverter); three tasks.
		{name: "json-avro-sidecars", timestamps: true, decode: rtRaw, decodeValue: rtJSON, value: jsonValue,
			key: func(p, i int) []byte { return fmt.Appendf(nil, "key %d/%d", p, i) },
			config: with(schemaless, map[string]string{
				"format.class": JSONFormatClass, "tasks.max": "3", "key.converter": "org.apache.kafka.connect.storage.StringConverter",
			})},
		// As Confluent's sink writes: no timestamps in the files, so the
		// copy's records have new ones.
		{name: "json-no-timestamps", key: jsonKey, value: jsonValue, decode: rtRaw, decodeValue: rtJSON,
			config: with(schemaless, map[string]string{
				"format.class": JSONFormatClass, "keys.format.class": JSONFormatClass, "headers.format.class": JSONFormatClass,
			})},
	}
}

func with(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// rtHeaders are the headers of record i of partition p: a string, a
// number (which the SimpleHeaderConverter reads as an int), a repeated
// key and an empty value; with timestamps one record has none.
func rtHeaders(p, i int, timestamps bool) []kgo.RecordHeader {
	if timestamps && p == 1 && i == 2 {
		return nil
	}
	return []kgo.RecordHeader{
		{Key: "trace", Value: fmt.Appendf(nil, "t-%d-%d", p, i)},
		{Key: "n", Value: fmt.Appendf(nil, "%d", 40+i)},
		{Key: "trace", Value: []byte("again")},
		{Key: "empty", Value: []byte{}},
	}
}

func TestRoundTrip(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, testBucket)
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin, SourcePlugin}, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.Broker.Addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	for _, c := range rtCases() {
		t.Run(c.name, func(t *testing.T) {
			topic := "rt-" + c.name
			ctx := context.Background()
			_, err := kadm.NewClient(cl).CreateTopics(ctx, rtPartitions, 1, nil, topic, "copy_of_"+topic)
			require.NoError(t, err)
			var produced []*kgo.Record
			for p := range rtPartitions {
				for i := range rtPerPart {
					produced = append(produced, &kgo.Record{Topic: topic, Partition: int32(p), Key: c.key(p, i), Value: c.value(p, i),
						Headers: rtHeaders(p, i, c.timestamps), Timestamp: rtTimestamp(p, i)})
				}
			}
			require.NoError(t, cl.ProduceSync(ctx, produced...).FirstErr())

			sink := with(baseConfig(srv.Endpoint), c.config)
			sink["s3.region"], sink["aws.access.key.id"], sink["aws.secret.access.key"] = srv.Region, srv.AccessKey, srv.SecretKey
			sink["topics"], sink["topics.dir"] = topic, "backup-"+c.name
			sink["store.kafka.keys"], sink["store.kafka.headers"] = "true", "true"
			sink["store.kafka.timestamps"] = fmt.Sprint(c.timestamps)
			delete(sink, "connector.class")
			w.Create("sink-"+c.name, Plugin.Class, sink)

			// The source is the sink's config pasted, with a mode and a
			// router; it starts once every record is in the bucket.
			source := maps.Clone(sink)
			delete(source, "topics")
			source["mode"], source["s3.poll.interval.ms"] = ModeRestoreBackup, "100"
			source["transforms"] = "copy"
			source["transforms.copy.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
			source["transforms.copy.regex"] = ".*"
			source["transforms.copy.replacement"] = "copy_of_$0"
			files := waitBackedUp(t, w, "sink-"+c.name, sink, source, len(produced))
			if c.name == "parquet" {
				assert.Contains(t, strings.Join(files, " "), "/hour=11/", "the time-based partitioner's folders")
				for _, f := range files {
					assert.True(t, strings.HasSuffix(f, ".gz.parquet"), "%s is named as parquet-mr names gzip files", f)
				}
			}
			assert.Greater(t, len(files), rtPartitions, "several files per partition")
			w.Create("restore-"+c.name, SourcePlugin.Class, source)

			got := connecttest.Consume(t, w.Broker, "copy_of_"+topic, len(produced), 60*time.Second)
			assert.Len(t, got, len(produced))
			want, have := rtByPartition(t, c, produced, c.timestamps), rtByPartition(t, c, got, c.timestamps)
			for p := range int32(rtPartitions) {
				assert.Equal(t, want[p], have[p], "partition %d", p)
			}
			if !c.timestamps {
				for _, r := range got {
					assert.True(t, r.Timestamp.After(rtBase.Add(24*time.Hour)), "a record restored from files without timestamps is stamped anew, not %s", r.Timestamp)
				}
			}
		})
	}
}

// rtRecord is what must come back of one record.
type rtRecord struct {
	Key, Value any
	Headers    []string
	Timestamp  int64 // epoch ms; 0 when not compared
}

func rtByPartition(t *testing.T, c rtCase, recs []*kgo.Record, timestamps bool) map[int32][]rtRecord {
	out := map[int32][]rtRecord{}
	for _, r := range recs {
		value := c.decode
		if c.decodeValue != nil {
			value = c.decodeValue
		}
		rr := rtRecord{Key: c.decode(t, r.Key), Value: value(t, r.Value)}
		for _, h := range r.Headers {
			rr.Headers = append(rr.Headers, h.Key+"="+string(h.Value))
		}
		if timestamps {
			rr.Timestamp = r.Timestamp.UnixMilli()
		}
		out[r.Partition] = append(out[r.Partition], rr)
	}
	return out
}

// waitBackedUp waits until the value objects under the source config's
// topics.dir hold n records, read as the source reads them, and returns
// the keys of every object of the backup.
func waitBackedUp(t *testing.T, w *connecttest.Worker, name string, sink, source map[string]string, n int) []string {
	t.Helper()
	s, err := parseSourceSettings(source)
	require.NoError(t, err)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var files []string
		count := 0
		for _, key := range keys(objects(t, sink)) {
			f, ok, err := s.parseBackupKey(key)
			require.NoError(t, err)
			if !ok {
				continue
			}
			files = append(files, key)
			if f.kind == valueFile {
				count += countRecords(t, source, key)
			}
		}
		if count >= n {
			require.Equal(t, n, count, "records in the backup")
			return files
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d records in the backup after 60s: %v", count, n, files)
		}
		st, err := w.ConnectorStatus(context.Background(), name)
		require.NoError(t, err)
		for _, ts := range st.Tasks {
			require.NotEqual(t, worker.StateFailed, ts.State, "sink task %d: %s", ts.ID, ts.Trace)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func countRecords(t *testing.T, config map[string]string, key string) int {
	rr, done, err := readBackup(context.Background(), config, key)
	require.NoError(t, err, key)
	defer done()
	n := 0
	for {
		_, _, err := rr.next()
		if errors.Is(err, io.EOF) {
			return n
		}
		require.NoError(t, err, key)
		n++
	}
}

// TestStoreTimestampsNeedsHeaders: store.kafka.timestamps without the
// headers sidecar is refused, naming both keys.
func TestStoreTimestampsNeedsHeaders(t *testing.T) {
	cfg := baseConfig("http://127.0.0.1:1")
	cfg[StoreTimestampsConfig] = "true"
	_, err := parseSettings(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), StoreTimestampsConfig+"=true")
	assert.Contains(t, err.Error(), StoreHeadersConfig+"=true")
	cfg[StoreHeadersConfig] = "true"
	s, err := parseSettings(cfg)
	require.NoError(t, err)
	assert.True(t, s.storeTimestamps)
}

// TestStoreTimestampsSidecarLines: each line ends with the record
// timestamp as a last header; a record without headers gets a line with
// the timestamp alone, one without headers or timestamp is reported as
// before, and one already carrying the header is reported; Kafka's "no
// timestamp" (-1) is not stored.
func TestStoreTimestampsSidecarLines(t *testing.T) {
	cfg := sidecarConfig(fakeS3(t), JSONFormatClass, JSONFormatClass, JSONFormatClass)
	cfg[StoreTimestampsConfig] = "true"
	cfg["flush.size"] = "3"
	sc := connecttest.NewSinkContext(t, cfg)
	sc.Tolerate = true
	task := start(t, cfg, sc, connect.TopicPartition{Topic: "orders"})
	recs := richRecords(0, 5)
	for i, r := range recs {
		r.Timestamp = rtBase.Add(time.Duration(i) * time.Second)
	}
	recs[1].Headers = nil
	recs[2].Headers, recs[2].Timestamp = nil, time.Time{}
	recs[3].Headers = append(recs[3].Headers, connect.Header{Key: TimestampHeader, Schema: connect.StringSchema, Value: "1"})
	recs[4].Timestamp = time.UnixMilli(-1) // Kafka's NoTimestampType
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	rep := sc.ReportedRecords()
	require.Len(t, rep, 2)
	assert.ErrorContains(t, rep[0].Err, "Headers cannot be null for SinkRecord orders-0@2")
	assert.ErrorContains(t, rep[1].Err, "record orders-0@3 already has a header "+TimestampHeader)
	got := objects(t, cfg)
	base := "topics/orders/partition=0/orders+0+0000000000"
	ms := rtBase.UnixMilli()
	assert.Equal(t, fmt.Sprintf(`{"headers":[{"key":"trace","value":"t0"},{"key":"n","value":"0"},{"key":"__sluice.timestamp","value":"%d"}]}`+"\n"+
		`{"headers":[{"key":"__sluice.timestamp","value":"%d"}]}`+"\n"+
		`{"headers":[{"key":"trace","value":"t4"},{"key":"n","value":"4"}]}`+"\n",
		ms, ms+1000), string(got[base+".headers.json"]))
}

// TestRestoreTimestamps: a last __sluice.timestamp header of epoch
// milliseconds becomes the record timestamp and is dropped; files as
// Confluent's sink writes them (no such header) leave the timestamp
// unset; a header of that name elsewhere or not a number stays a header.
func TestRestoreTimestamps(t *testing.T) {
	srv := srcFake(t)
	dir := "topics/orders/partition=0/"
	srv.put(t, dir+"orders+0+0000000000.json", jsonLines(`{"id":1}`, `{"id":2}`, `{"id":3}`, `{"id":4}`, `{"id":5}`, `{"id":6}`))
	srv.put(t, dir+"orders+0+0000000000.headers.json", jsonLines(
		`{"headers":[{"key":"a","value":"1"},{"key":"__sluice.timestamp","value":"1709287200123"}]}`,
		`{"headers":[{"key":"__sluice.timestamp","value":"0"}]}`,
		`{"headers":[{"key":"a","value":"confluent"}]}`,
		`{"headers":[{"key":"__sluice.timestamp","value":"7"},{"key":"a","value":"2"}]}`,
		`{"headers":[{"key":"__sluice.timestamp","value":"soon"}]}`,
		`{"headers":[{"key":"__sluice.timestamp","value":"-1"}]}`))
	cfg := srv.config(JSONFormatClass)
	cfg["headers.format.class"] = JSONFormatClass
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 6)
	str := func(k, v string) connect.Header {
		return connect.Header{Key: k, Schema: connect.OptionalStringSchema, Value: v}
	}
	assert.Equal(t, time.UnixMilli(1709287200123), recs[0].Timestamp)
	assert.Equal(t, connect.Headers{str("a", "1")}, recs[0].Headers)
	assert.Equal(t, time.UnixMilli(0), recs[1].Timestamp)
	assert.Empty(t, recs[1].Headers)
	for _, r := range recs[2:] {
		assert.True(t, r.Timestamp.IsZero(), "record %v has timestamp %s", r.Value, r.Timestamp)
	}
	assert.Equal(t, connect.Headers{str("a", "confluent")}, recs[2].Headers)
	assert.Equal(t, connect.Headers{str(TimestampHeader, "7"), str("a", "2")}, recs[3].Headers)
	assert.Equal(t, connect.Headers{str(TimestampHeader, "soon")}, recs[4].Headers)
	assert.Equal(t, connect.Headers{str(TimestampHeader, "-1")}, recs[5].Headers)
}

// TestRoundTripCodecs: for every avro.codec and parquet.codec, Struct
// values of every Connect type (Decimals, dates, times, maps, nested
// structs, bytes, optional fields), keys and headers written by the sink
// come back equal through a source whose config does not name the codec
// (Parquet sidecars take the values' codec).
func TestRoundTripCodecs(t *testing.T) {
	type codecCase struct{ format, key, codec, ext string }
	var cases []codecCase
	for codec, c := range parquetCodecs {
		cases = append(cases, codecCase{ParquetFormatClass, ParquetCodecConfig, codec, c.ext + ".parquet"})
	}
	for _, codec := range []string{"null", "deflate", "snappy"} {
		cases = append(cases, codecCase{AvroFormatClass, AvroCodecConfig, codec, ".avro"})
	}
	for _, c := range cases {
		t.Run(c.format[strings.LastIndex(c.format, ".")+1:]+"/"+c.codec, func(t *testing.T) {
			cfg := sidecarConfig(fakeS3(t), c.format, c.format, c.format)
			cfg[c.key], cfg[StoreTimestampsConfig] = c.codec, "true"
			task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
			recs := richRecords(0, 4)
			for i, r := range recs {
				r.Timestamp = rtBase.Add(time.Duration(i) * time.Minute)
			}
			require.NoError(t, task.Put(context.Background(), recs))
			waitCommits(t, task)
			base := "topics/orders/partition=0/orders+0+0000000000"
			require.ElementsMatch(t, []string{base + ".headers" + c.ext, base + ".keys" + c.ext, base + c.ext}, keys(objects(t, cfg)))

			src := maps.Clone(cfg)
			delete(src, c.key)
			st := srcStart(t, src, connecttest.NewSourceContext(t, src))
			got := pollN(t, st, nil, len(recs))
			for i, r := range got {
				assert.Equal(t, recs[i].Key, r.Key, "key %d", i)
				assert.Equal(t, recs[i].Timestamp.UnixMilli(), r.Timestamp.UnixMilli(), "timestamp %d", i)
				require.Len(t, r.Headers, len(recs[i].Headers), "headers %d", i)
				for j, h := range r.Headers {
					o := recs[i].Headers[j]
					rendered, err := convert.NewSimpleHeaderConverter().FromConnectHeader("orders", o.Key, o.Schema, o.Value)
					require.NoError(t, err)
					assert.Equal(t, connect.Header{Key: o.Key, Schema: connect.OptionalStringSchema, Value: string(rendered)}, h, "header %d of record %d", j, i)
				}
				for _, f := range recs[i].ValueSchema.Fields {
					want, _ := recs[i].Value.(*connect.Struct).Get(f.Name)
					have, err := r.Value.(*connect.Struct).Get(f.Name)
					require.NoError(t, err, f.Name)
					assert.Equal(t, rtComparable(want), rtComparable(have), "field %s of record %d", f.Name, i)
				}
			}
		})
	}
}

// rtComparable makes restored Connect values comparable with the
// originals: Decimals as exact fractions, Structs as their field values.
func rtComparable(v any) any {
	switch x := v.(type) {
	case *big.Rat:
		return x.RatString()
	case *connect.Struct:
		out := map[string]any{}
		for _, f := range x.Schema().Fields {
			fv, _ := x.Get(f.Name)
			out[f.Name] = rtComparable(fv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rtComparable(e)
		}
		return out
	case time.Time:
		return x.UTC()
	}
	return v
}

// TestParquetDecimalFromBigFloat: the unscaled value comes back exactly
// from the *big.Float parquet-go gives for a BINARY decimal (unscaled /
// 10^scale at its precision's bits), negative and 38 digits long too.
func TestParquetDecimalFromBigFloat(t *testing.T) {
	for _, c := range []struct {
		unscaled  string
		scale     int
		precision uint
	}{
		{"12345", 2, 10}, {"-1234567", 2, 10}, {"1", 3, 4}, {"-1", 0, 1}, {"0", 5, 10},
		{"99999999999999999999999999999999999999", 10, 38}, {"-12345678901234567890123456789012345678", 37, 38},
	} {
		u, ok := new(big.Int).SetString(c.unscaled, 10)
		require.True(t, ok)
		prec := max(c.precision*4+64, 192)
		f := new(big.Float).SetPrec(prec).SetInt(u)
		f.Quo(f, new(big.Float).SetPrec(prec).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.scale)), nil)))
		assert.Equal(t, c.unscaled, unscaledOf(f, c.scale).String(), "%s scale %d", c.unscaled, c.scale)
	}
}
