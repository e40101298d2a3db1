package worker_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
)

// TestProtobufConverterThroughWorker: Confluent's ProtobufConverter class
// is a built-in: a file source writes its lines through it (each a
// google.protobuf.StringValue, message index [7]) and a file sink reads
// them back through it.
func TestProtobufConverterThroughWorker(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	url := registrytest.Start(t, b.Addr)
	w := startWorker(t, b, nil, nil)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	writeLines(t, in, 0, 3)
	conv := map[string]string{
		"value.converter":                     "io.confluent.connect.protobuf.ProtobufConverter",
		"value.converter.schema.registry.url": url,
	}
	src := map[string]string{"connector.class": "FileStreamSource", "file": in, "topic": "proto"}
	sink := map[string]string{"connector.class": "FileStreamSink", "file": out, "topics": "proto"}
	for k, v := range conv {
		src[k], sink[k] = v, v
	}
	_, err := w.CreateConnector(context.Background(), "src", src, "")
	require.NoError(t, err)
	recs := collect(t, b.Addr, "proto", 3)
	assert.Equal(t, []byte{0, 0, 0, 0}, recs[0].Value[:4], "magic and the high bytes of the schema id")
	assert.Equal(t, []byte{2, 14}, recs[0].Value[5:7], "message indexes [7]: StringValue")

	_, err = w.CreateConnector(context.Background(), "sink", sink, "")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(readLines(out)) == 3 }, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, []string{"line-000000", "line-000001", "line-000002"}, readLines(out))
}
