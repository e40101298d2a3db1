package s3

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/convert"
)

// benchFormat writes rich records with f, a new file every 10,000
// records, to io.Discard: the format's own cost. MB/s is of the records'
// JSON (schemas.enable=false), the size they have as JSON input.
func benchFormat(b *testing.B, f recordFormat) {
	recs := richRecords(0, 1000)
	c := convert.NewJSONConverter()
	require.NoError(b, c.Configure(map[string]string{"schemas.enable": "false"}, false))
	var jsonBytes int64
	for _, r := range recs {
		j, err := c.FromConnect("", nil, r.ValueSchema, r.Value)
		require.NoError(b, err)
		jsonBytes += int64(len(j))
	}
	b.SetBytes(jsonBytes / int64(len(recs)))
	b.ReportAllocs()
	b.ResetTimer()
	var w recordWriter
	for i := range b.N {
		if i%10000 == 0 {
			if w != nil {
				require.NoError(b, w.close())
			}
			var err error
			w, err = f.newWriter(io.Discard, richSchema)
			require.NoError(b, err)
		}
		r := recs[i%len(recs)]
		if err := w.write(r.ValueSchema, r.Value); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, w.close())
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkAvroWrite(b *testing.B) {
	for _, codec := range []string{"null", "snappy", "deflate"} {
		b.Run(codec, func(b *testing.B) {
			benchFormat(b, newAvroFormat(&settings{formatSettings: formatSettings{avroCodec: codec, schemaCacheSize: 10, connectMetaData: true}}))
		})
	}
}

func BenchmarkParquetWrite(b *testing.B) {
	for _, codec := range []string{"none", "snappy", "zstd"} {
		b.Run(codec, func(b *testing.B) {
			benchFormat(b, newParquetFormat(&settings{partSize: defaultPartSize, formatSettings: formatSettings{parquetCodec: codec, schemaCacheSize: 10, connectMetaData: true}}))
		})
	}
}
