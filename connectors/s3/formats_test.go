package s3

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
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
		MustPut("attrs", map[string]any{"n": int32(off)}).
		MustPut("flag", off%2 == 0).MustPut("ratio", float64(off)/4).
		MustPut("raw", []byte{byte(off), 0xff})
	if off%2 == 1 {
		v.MustPut("note", "odd").MustPut("addr", connect.NewStruct(addrSchema).MustPut("city", "Lyon"))
	}
	return &connect.Record{Topic: "orders", Partition: 0, Offset: off, ValueSchema: richSchema, Value: v,
		KeySchema: connect.StringSchema, Key: "k" + string(rune('0'+off)),
		Headers: connect.Headers{{Key: "trace", Schema: connect.StringSchema, Value: "t" + string(rune('0'+off))}, {Key: "n", Schema: connect.Int32Schema, Value: int32(off)}}}
}

func TestExploreFormats(t *testing.T) {
	for _, f := range []string{AvroFormatClass, ParquetFormatClass} {
		cfg := baseConfig(fakeS3(t))
		cfg["format.class"] = f
		cfg["store.kafka.keys"] = "true"
		cfg["store.kafka.headers"] = "true"
		cfg["keys.format.class"] = f
		cfg["headers.format.class"] = f
		task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "orders"})
		require.NoError(t, task.Put(context.Background(), []*connect.Record{rich(0), rich(1), rich(2)}))
		got := objects(t, cfg)
		t.Log(keys(got))
		if f == AvroFormatClass {
			for k, v := range readAvro(t, got, keys(got)...) {
				t.Logf("%s %+v", k, v)
			}
		} else {
			for k, v := range readParquet(t, got, keys(got)...) {
				t.Logf("%s %+v", k, v)
			}
		}
	}
	assert.True(t, true)
}
