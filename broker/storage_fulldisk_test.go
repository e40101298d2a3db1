package broker_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// A full disk (a small tmpfs): produce fails fast with KAFKA_STORAGE_ERROR
// naming the cause without the data path; once a filler file is deleted,
// produce works again without a restart, and every record answered acks=all
// is readable, also after a restart.
func TestFullDiskRecoversWithoutRestart(t *testing.T) {
	mnt := testenv.MountTmpfs(t, 8<<20)
	dataDir := filepath.Join(mnt, "data")
	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, bytes.Repeat([]byte{1}, 6<<20), 0o644))

	b := testenv.StartBrokerIn(t, dataDir, nil)
	createTopic(t, b.Addr, "full", 1, nil)
	cl := newClient(t, b.Addr)

	big := strings.Repeat("x", 32<<10)
	var acked []string
	var code int16
	var msg string
	for i := 0; i < 200; i++ {
		v := seqValues("r", i, i+1)[0] + big
		if code, msg = produceRaw(t, cl, "full", 0, -1, v); code != 0 {
			break
		}
		acked = append(acked, v)
	}
	require.Equal(t, kerr.KafkaStorageError.Code, code, "the disk filled up: %s", msg)
	require.NotEmpty(t, acked)
	assert.Contains(t, msg, "no space left on device")
	assert.NotContains(t, msg, mnt, "no server path reaches a client")

	start := time.Now()
	code, msg = produceRaw(t, cl, "full", 0, -1, "refused")
	assert.Equal(t, kerr.KafkaStorageError.Code, code)
	assert.Less(t, time.Since(start), time.Second, "refused at once while the disk is full")
	assert.Contains(t, msg, "no space left on device")

	require.NoError(t, os.Remove(filler))
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := "after-" + big
		code, msg = produceRaw(t, cl, "full", 0, -1, v)
		if code == 0 {
			acked = append(acked, v)
			break
		}
		require.Equal(t, kerr.KafkaStorageError.Code, code, msg)
		require.True(t, time.Now().Before(deadline), "produce did not recover: %s", msg)
		time.Sleep(100 * time.Millisecond)
	}
	code, msg = produceRaw(t, cl, "full", 0, -1, "one-more")
	require.Zero(t, code, msg)
	acked = append(acked, "one-more")

	assertContainsInOrder(t, acked, storedValues(consumeAll(t, b.Addr, "full", len(acked))))
	b.Stop(t)
	b = testenv.StartBrokerIn(t, dataDir, nil)
	assertContainsInOrder(t, acked, storedValues(consumeAll(t, b.Addr, "full", len(acked))))
}

// assertContainsInOrder checks that every value of want is in got, in order
// (got may hold more: records answered acks=1 or left unanswered).
func assertContainsInOrder(t *testing.T, want, got []string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	require.Equal(t, len(want), i, "acknowledged record %d of %d is missing", i, len(want))
}
