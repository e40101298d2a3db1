package s3

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBackupKey(t *testing.T) {
	cfg := map[string]string{"s3.bucket.name": "b", "format.class": JSONFormatClass, "keys.format.class": JSONFormatClass}
	s, err := parseSourceSettings(cfg)
	require.NoError(t, err)
	for key, want := range map[string]struct {
		ok   bool
		f    backupFile
		fail string
	}{
		"topics/orders/partition=0/orders+0+0000000042.json": {ok: true, f: backupFile{kind: valueFile, topic: "orders", partition: 0, start: 42, base: "topics/orders/partition=0/orders+0+0000000042"}},
		// The topic may hold the delimiter: the name splits from the right.
		"topics/a+b/x=1/y=2/a+b+7+0000000001.json":                {ok: true, f: backupFile{kind: valueFile, topic: "a+b", partition: 7, start: 1, base: "topics/a+b/x=1/y=2/a+b+7+0000000001"}},
		"topics/orders/partition=0/orders+0+0000000042.keys.json": {ok: true, f: backupFile{kind: keysFile, topic: "orders", start: 42, base: "topics/orders/partition=0/orders+0+0000000042"}},
		"topics/orders/partition=0/orders+0+0000000042.avro":      {}, // another format: ignored
		"other/orders/partition=0/orders+0+0000000042.json":       {}, // outside topics.dir
		"topics/orders/partition=0/orders+0+x.json":               {fail: "start offset"},
		"topics/orders/partition=0/orders+-1+0000000042.json":     {fail: "partition"},
		"topics/orders/partition=0/orders.json":                   {fail: "topics/orders/partition=0/orders.json"},
	} {
		t.Run(key, func(t *testing.T) {
			f, ok, err := s.parseBackupKey(key)
			if want.fail != "" {
				assert.ErrorContains(t, err, want.fail)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want.ok, ok)
			if ok {
				want.f.key = key
				assert.Equal(t, want.f, f)
			}
		})
	}
}

func TestParseBackupKeyParquetAndDelims(t *testing.T) {
	cfg := map[string]string{"s3.bucket.name": "b", "format.class": ParquetFormatClass, "keys.format.class": ParquetFormatClass,
		"topics.dir": "a/b", "directory.delim": "#", "file.delim": "_", "parquet.codec": "zstd"}
	s, err := parseSourceSettings(cfg)
	require.NoError(t, err)
	f, ok, err := s.parseBackupKey("a/b#t#partition=1#t_1_05.gz.parquet")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, backupFile{key: "a/b#t#partition=1#t_1_05.gz.parquet", kind: valueFile, topic: "t", partition: 1, start: 5, base: "a/b#t#partition=1#t_1_05"}, f)
	assert.Equal(t, "a/b#t#partition=1#t_1_05.keys.gz.parquet", s.sidecarKey(f, keysFile), "beside Parquet values, sidecars take their codec")
	cfg["format.class"] = JSONFormatClass
	js, err := parseSourceSettings(cfg)
	require.NoError(t, err)
	jf, ok, err := js.parseBackupKey("a/b#t#partition=1#t_1_05.json")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "a/b#t#partition=1#t_1_05.keys.zstd.parquet", js.sidecarKey(jf, keysFile), "beside other values, sidecars are named by parquet.codec")
	f, ok, err = s.parseBackupKey("a/b#t#partition=1#t_1_05.keys.zstd.parquet")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, keysFile, f.kind)
}
