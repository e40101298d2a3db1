package s3

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// waitCommits waits until the background commits of task's writers have
// ended, so that their objects are in the bucket (or have failed); their
// results are taken by the next Put or Flush, as without the wait.
func waitCommits(tb testing.TB, task *sinkTask) {
	tb.Helper()
	task.mu.Lock()
	var jobs []*commitJob
	for _, w := range task.writers {
		if w.bg != nil {
			jobs = append(jobs, w.bg)
		}
	}
	task.mu.Unlock()
	for _, j := range jobs {
		<-j.done
	}
}

// putSettled is Put, then, when it succeeded, the Put of no records that
// takes the result of the background commits it started: an upload that
// fails after its Put returned is reported (and rewinds) there.
func putSettled(ctx context.Context, tb testing.TB, task *sinkTask, recs []*connect.Record) error {
	if err := task.Put(ctx, recs); err != nil {
		return err
	}
	waitCommits(tb, task)
	return task.Put(ctx, nil)
}

// gateUploader holds every commit until its gate opens, counting the
// commits waiting at once.
type gateUploader struct {
	next uploader
	gate chan struct{}

	mu            sync.Mutex
	waiting, most int
}

func (u *gateUploader) open(ctx context.Context, key string) (objectStream, error) {
	s, err := u.next.open(ctx, key)
	return &gateObject{s, u}, err
}

type gateObject struct {
	objectStream
	u *gateUploader
}

func (o *gateObject) commit(ctx context.Context) error {
	o.u.mu.Lock()
	o.u.waiting++
	o.u.most = max(o.u.most, o.u.waiting)
	o.u.mu.Unlock()
	defer func() { o.u.mu.Lock(); o.u.waiting--; o.u.mu.Unlock() }()
	select {
	case <-o.u.gate:
	case <-ctx.Done():
		return &uploadError{testBucket, "", ctx.Err()}
	}
	return o.objectStream.commit(ctx)
}

// gatedTask starts a task whose commits wait for the returned gate.
func gatedTask(t *testing.T, cfg map[string]string, sc connect.SinkTaskContext, tps ...connect.TopicPartition) (*sinkTask, *gateUploader) {
	task := newSinkTask()
	real := task.newUploader
	gu := &gateUploader{gate: make(chan struct{})}
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		up, err := real(ctx, s)
		gu.next = up
		return gu, err
	}
	require.NoError(t, task.Start(sc, cfg))
	require.NoError(t, task.Open(tps))
	return task, gu
}

// TestPutGoesOnWhileFilesCommit: a flush.size rotation commits its files
// in the background: Put returns, and the next records are written, while
// the upload has not completed; the offset is committed (Flush) only once
// it has, and the objects are those of a synchronous upload.
func TestPutGoesOnWhileFilesCommit(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "2"
	task, gu := gatedTask(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	defer func() { _ = task.Stop() }()
	done := make(chan error, 1)
	go func() {
		done <- task.Put(context.Background(), []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu"), order(0, 2, 2, "eu")})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Put waited for the upload of the rotated file")
	}
	assert.Empty(t, objects(t, cfg), "nothing is committed while the gate is shut")
	flushed := make(chan map[connect.TopicPartition]int64, 1)
	go func() {
		off, err := task.Flush(context.Background(), nil)
		assert.NoError(t, err)
		flushed <- off
	}()
	select {
	case off := <-flushed:
		t.Fatalf("Flush returned %v before the upload completed", off)
	case <-time.After(100 * time.Millisecond):
	}
	close(gu.gate)
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 2}, <-flushed)
	assert.Equal(t, map[string][]byte{"topics/orders/partition=0/orders+0+0000000000.json": []byte(line(0, 1))}, objects(t, cfg))
}

// TestBackgroundCommitsAreBounded: with every upload held, at most
// maxBackgroundCommits rotations commit at once across the partitions;
// Put waits for one to end before it starts another.
func TestBackgroundCommitsAreBounded(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "1"
	tps := []connect.TopicPartition{{Topic: "orders", Partition: 0}, {Topic: "orders", Partition: 1}, {Topic: "orders", Partition: 2}, {Topic: "orders", Partition: 3}}
	task, gu := gatedTask(t, cfg, connecttest.NewSinkContext(t, cfg), tps...)
	defer func() { _ = task.Stop() }()
	done := make(chan error, 1)
	go func() {
		done <- task.Put(context.Background(), []*connect.Record{order(0, 0, 0, "eu"), order(1, 0, 1, "eu"), order(2, 0, 2, "eu"), order(3, 0, 3, "eu")})
	}()
	require.Eventually(t, func() bool { gu.mu.Lock(); defer gu.mu.Unlock(); return gu.waiting == maxBackgroundCommits }, 5*time.Second, 5*time.Millisecond)
	select {
	case <-done:
		t.Fatal("Put started more background commits than the bound")
	case <-time.After(100 * time.Millisecond):
	}
	close(gu.gate)
	require.NoError(t, <-done)
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Len(t, off, 4)
	assert.Len(t, objects(t, cfg), 4)
	assert.Equal(t, maxBackgroundCommits, gu.most)
}

// TestFailedBackgroundCommitRewindsInFlush: an upload that fails after
// its Put returned is reported by Flush: the partition is rewound to the
// first record not committed, nothing is committed, and the records
// written since are dropped (they are read again into the same files).
func TestFailedBackgroundCommitRewindsInFlush(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "2"
	cfg["retry.backoff.ms"] = "0"
	sc := newRewindContext(t, cfg)
	task := newSinkTask()
	real := task.newUploader
	gu := &gateUploader{gate: make(chan struct{})}
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		up, err := real(ctx, s)
		gu.next = &flakyUploader{next: up, fail: map[int]bool{1: true}}
		return gu, err
	}
	require.NoError(t, task.Start(sc, cfg))
	require.NoError(t, task.Open([]connect.TopicPartition{tp0}))
	defer func() { _ = task.Stop() }()
	recs := []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu"), order(0, 2, 2, "eu")}
	require.NoError(t, task.Put(context.Background(), recs), "the upload is held: Put cannot know it fails")
	close(gu.gate)
	waitCommits(t, task)
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, off, "nothing is committed")
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 0}, sc.take())
	assert.Empty(t, objects(t, cfg))
	// Read again from 0, the same file is written.
	require.NoError(t, task.Put(context.Background(), recs))
	off, err = task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, map[connect.TopicPartition]int64{tp0: 2}, off)
	assert.Equal(t, map[string][]byte{"topics/orders/partition=0/orders+0+0000000000.json": []byte(line(0, 1))}, objects(t, cfg))
}

// TestCloseAbortsBackgroundCommits: a partition revoked (or a task
// stopped) while its files commit waits for the commit to stop and
// leaves nothing in the bucket; nothing of it is committed.
func TestCloseAbortsBackgroundCommits(t *testing.T) {
	for _, how := range []string{"close", "stop"} {
		t.Run(how, func(t *testing.T) {
			cfg := baseConfig(fakeS3(t))
			cfg["flush.size"] = "2"
			task, gu := gatedTask(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
			require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu")}))
			require.Eventually(t, func() bool { gu.mu.Lock(); defer gu.mu.Unlock(); return gu.waiting == 1 }, 5*time.Second, 5*time.Millisecond)
			if how == "close" {
				require.NoError(t, task.Close([]connect.TopicPartition{tp0}))
				off, err := task.Flush(context.Background(), nil)
				require.NoError(t, err)
				assert.Empty(t, off)
			} else {
				require.NoError(t, task.Stop())
			}
			close(gu.gate)
			gu.mu.Lock()
			assert.Zero(t, gu.waiting, "the commit ended before %s returned", how)
			gu.mu.Unlock()
			assert.Empty(t, objects(t, cfg))
		})
	}
}
