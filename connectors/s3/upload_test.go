package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// twoPartFile writes a ByteArray file of two 3 MiB records (two parts
// of 5 MiB) with set, and returns what is in the bucket and the bytes
// written.
func twoPartFile(t *testing.T, set map[string]string) ([]byte, []byte) {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ByteArrayFormatClass
	cfg["flush.size"] = "2"
	cfg["s3.part.size"] = "5242880"
	for k, v := range set {
		cfg[k] = v
	}
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), connect.TopicPartition{Topic: "raw"})
	a, b := bytes.Repeat([]byte("0123456789abcdef"), 3<<16), bytes.Repeat([]byte("fedcba9876543210"), 3<<16)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{{Topic: "raw", Offset: 0, Value: a}, {Topic: "raw", Offset: 1, Value: b}}))
	waitCommits(t, task)
	got := objects(t, cfg)
	require.Len(t, got, 1)
	for _, v := range got {
		return v, bytes.Join([][]byte{a, b, nil}, []byte("\n"))
	}
	return nil, nil
}

// TestElasticBuffer: with s3.elastic.buffer.enable the buffer starts at
// the initial capacity and grows; the object is the same.
func TestElasticBuffer(t *testing.T) {
	got, want := twoPartFile(t, map[string]string{"s3.elastic.buffer.enable": "true", "s3.elastic.buffer.init.capacity": "4096"})
	assert.True(t, bytes.Equal(want, got))
	u := newStreamUploader(nil, &settings{partSize: 5 << 20, uploadSettings: uploadSettings{elastic: true, elasticInit: 4096}})
	assert.Equal(t, 4096, cap(u.buffer()))
	u = newStreamUploader(nil, &settings{partSize: 5 << 20})
	assert.Equal(t, 5<<20, cap(u.buffer()))
}

// TestCompressionLevel: s3.compression.level sets the gzip level; both
// levels decompress to the same bytes.
func TestCompressionLevel(t *testing.T) {
	var sizes []int
	for _, level := range []string{"1", "9"} {
		got, want := twoPartFile(t, map[string]string{"s3.compression.type": "gzip", "s3.compression.level": level})
		zr, err := gzip.NewReader(bytes.NewReader(got))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, plain), "level %s", level)
		sizes = append(sizes, len(got))
	}
	assert.Greater(t, sizes[0], sizes[1], "level 1 compresses less than level 9")
}
