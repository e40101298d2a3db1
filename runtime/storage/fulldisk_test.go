package storage

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestFullDiskConfigWriteFailsFast drives the real broker into the state
// a full disk leaves it in: the config topic's partition refuses writes
// with KAFKA_STORAGE_ERROR. A connector config write then fails within
// seconds with the topic and the broker's error, where it used to wait for
// the caller's deadline (90 s for POST /connectors).
func TestFullDiskConfigWriteFailsFast(t *testing.T) {
	dir := testenv.MountTmpfs(t, 32<<20)
	addr := testenv.StartBrokerIn(t, dir, nil).Addr
	s := newConfigStore(t, addr, true, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, s.PutConnectorConfig(ctx, "c", map[string]string{"a": "1"}, nil))

	testenv.FillDisk(t, dir)
	big := map[string]string{"a": strings.Repeat("x", 256<<10)} // more than the last page's slack
	start := time.Now()
	err := s.PutConnectorConfig(ctx, "c", big, nil)
	took := time.Since(start)
	t.Logf("write on a full disk failed after %s: %v", took, err)
	require.Error(t, err)
	assert.ErrorIs(t, err, kerr.KafkaStorageError)
	assert.Contains(t, err.Error(), "write to config topic connect-configs: KAFKA_STORAGE_ERROR")
	assert.NotContains(t, err.Error(), dir, "no server path reaches the client")
	assert.Less(t, took, 15*time.Second)
	assert.Error(t, s.WriteError())

	// The partition stays fenced, and a small write fails as fast.
	start = time.Now()
	require.ErrorIs(t, s.PutConnectorConfig(ctx, "c", map[string]string{"a": "2"}, nil), kerr.KafkaStorageError)
	assert.Less(t, time.Since(start), 15*time.Second)
}
