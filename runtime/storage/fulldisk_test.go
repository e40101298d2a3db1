package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/broker"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory, unmounted
// when the test ends; without the right to mount (not root) the test is
// skipped.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// startBrokerIn runs a Sluice broker with its data in dir until the test
// ends, and returns its address.
func startBrokerIn(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := broker.NewConfig(map[string]string{"listeners": "PLAINTEXT://127.0.0.1:0", "log.dirs": dir})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- broker.Serve(ctx, cfg, nil, func(a net.Addr) { listening <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-listening:
		return a.String()
	case err := <-done:
		t.Fatalf("start broker: %v", err)
		return ""
	}
}

// fillDisk writes a file in dir until the filesystem is full.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				require.True(t, errors.Is(err, syscall.ENOSPC), "fill the disk: %v", err)
				break
			}
		}
	}
}

// TestFullDiskConfigWriteFailsFast drives the real broker into the state
// a full disk leaves it in: the config topic's partition refuses writes
// with KAFKA_STORAGE_ERROR. A connector config write then fails within
// seconds with the topic and the broker's error, where it used to wait for
// the caller's deadline (90 s for POST /connectors).
func TestFullDiskConfigWriteFailsFast(t *testing.T) {
	dir := mountTmpfs(t, 32<<20)
	addr := startBrokerIn(t, dir)
	s := newConfigStore(t, addr, true, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, s.PutConnectorConfig(ctx, "c", map[string]string{"a": "1"}, nil))

	fillDisk(t, dir)
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
