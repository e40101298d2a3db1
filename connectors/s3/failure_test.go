package s3

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// rewindContext is a sink context whose rewinds a simulated worker takes
// and applies, as runtime/worker does after a Put returns nil.
type rewindContext struct {
	*connecttest.SinkContext
	mu   sync.Mutex
	asks map[connect.TopicPartition]int64
}

func newRewindContext(t *testing.T, cfg map[string]string) *rewindContext {
	return &rewindContext{SinkContext: connecttest.NewSinkContext(t, cfg)}
}

func (c *rewindContext) Rewind(tp connect.TopicPartition, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.asks == nil {
		c.asks = map[connect.TopicPartition]int64{}
	}
	c.asks[tp] = offset
	c.SinkContext.Rewind(tp, offset)
}

func (c *rewindContext) take() map[connect.TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.asks
	c.asks = nil
	return out
}

// simulateWorker delivers logs (each partition's records in offset order)
// to task as runtime/worker does: batches of up to n records per
// partition from each partition's position; a retriable error redelivers
// the same batch; after a Put returning nil the positions move past the
// batch and the rewinds asked for are applied. It returns the number of
// failed Puts.
func simulateWorker(t *testing.T, task *sinkTask, sc *rewindContext, logs map[connect.TopicPartition][]*connect.Record, n int) int {
	t.Helper()
	tps := make([]connect.TopicPartition, 0, len(logs))
	for tp := range logs {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool { return tps[i].String() < tps[j].String() })
	pos := map[connect.TopicPartition]int{}
	failures := 0
	for round := 0; ; round++ {
		require.Less(t, round, 10000, "the task never took every record")
		var batch []*connect.Record
		took := map[connect.TopicPartition]int{}
		for _, tp := range tps {
			end := min(pos[tp]+n, len(logs[tp]))
			batch = append(batch, logs[tp][pos[tp]:end]...)
			took[tp] = end - pos[tp]
		}
		if len(batch) == 0 {
			// Every record was put; an upload still committing in the
			// background may yet fail and rewind, as the worker's next
			// poll (an empty Put) would learn.
			waitCommits(t, task)
			for attempt := 0; ; attempt++ {
				require.Less(t, attempt, 100, "Put kept failing")
				err := task.Put(context.Background(), nil)
				if err == nil {
					break
				}
				require.ErrorIs(t, err, connect.ErrRetriable)
				failures++
			}
			rewound := sc.take()
			if len(rewound) == 0 {
				return failures
			}
			for tp, off := range rewound {
				log := logs[tp]
				pos[tp] = sort.Search(len(log), func(i int) bool { return log[i].Offset >= off })
			}
			continue
		}
		for attempt := 0; ; attempt++ {
			require.Less(t, attempt, 100, "Put kept failing")
			err := task.Put(context.Background(), batch)
			if err == nil {
				break
			}
			require.ErrorIs(t, err, connect.ErrRetriable)
			failures++
		}
		for tp, k := range took {
			pos[tp] += k
		}
		for tp, off := range sc.take() {
			log := logs[tp]
			pos[tp] = sort.Search(len(log), func(i int) bool { return log[i].Offset >= off })
		}
	}
}

// partFailures makes the UploadPart requests whose numbers (from 1,
// across the client) are in fail return an error, through the SDK's
// middleware: the real stream sees a real failed request.
type partFailures struct {
	n    atomic.Int32
	fail map[int32]bool
}

func (p *partFailures) option(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("injectPartFailure",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if _, ok := in.Parameters.(*s3.UploadPartInput); ok {
					if p.fail[p.n.Add(1)] {
						return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("injected part failure")
					}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// withPartFailures makes task's client fail the parts in fail.
func withPartFailures(task *sinkTask, fail map[int32]bool) {
	pf := &partFailures{fail: fail}
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		c, err := newClient(ctx, s)
		if err != nil {
			return nil, err
		}
		return newStreamUploader(s3.New(c.Options(), pf.option), s), nil
	}
}

// bigRecords are n JSON records of about size bytes each on partition p.
func bigRecords(p int32, n int, size int) []*connect.Record {
	pad := make([]byte, size)
	for i := range pad {
		pad[i] = 'a' + byte(i%26)
	}
	out := make([]*connect.Record, n)
	for i := range out {
		out[i] = &connect.Record{Topic: "big", Partition: p, Offset: int64(i),
			Value: map[string]any{"i": int64(i), "p": int64(p), "pad": string(pad)}}
	}
	return out
}

// TestPartFailureRewindsAndRebuildsTheSameObjects: files of several parts
// are streamed while records come; a failed part (at several points:
// the first part of a file, a middle one, one of the second Kafka
// partition) drops the partition's files and rewinds it, and the objects
// come out as a clean run's, each record once, with no multipart upload
// left open.
func TestPartFailureRewindsAndRebuildsTheSameObjects(t *testing.T) {
	logs := func() map[connect.TopicPartition][]*connect.Record {
		return map[connect.TopicPartition][]*connect.Record{
			{Topic: "big", Partition: 0}: bigRecords(0, 60, 300<<10),
			{Topic: "big", Partition: 1}: bigRecords(1, 45, 300<<10),
		}
	}
	run := func(t *testing.T, fail map[int32]bool) (map[string][]byte, int) {
		srv := fakeS3(t)
		cfg := baseConfig(srv)
		cfg["flush.size"] = "25" // ≈7.5 MB files: two parts of 5 MiB
		cfg["s3.part.size"] = "5242880"
		cfg["retry.backoff.ms"] = "0"
		task := newSinkTask()
		withPartFailures(task, fail)
		sc := newRewindContext(t, cfg)
		require.NoError(t, task.Start(sc, cfg))
		l := logs()
		tps := []connect.TopicPartition{{Topic: "big", Partition: 0}, {Topic: "big", Partition: 1}}
		require.NoError(t, task.Open(tps))
		failures := simulateWorker(t, task, sc, l, 7)
		off, err := task.Flush(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, map[connect.TopicPartition]int64{tps[0]: 50, tps[1]: 25}, map[connect.TopicPartition]int64{
			tps[0]: off[tps[0]], tps[1]: off[tps[1]]})
		require.NoError(t, task.Stop())
		s, err := parseSettings(cfg)
		require.NoError(t, err)
		c, err := newClient(context.Background(), s)
		require.NoError(t, err)
		ups, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &s.bucket})
		require.NoError(t, err)
		assert.Empty(t, ups.Uploads, "multipart uploads left open")
		return objects(t, cfg), failures
	}
	clean, failures := run(t, nil)
	require.Zero(t, failures)
	require.Len(t, clean, 3) // 0+0, 0+25, 1+0; the rest is in open files
	for _, fail := range []map[int32]bool{{1: true}, {2: true}, {3: true, 4: true}, {5: true}, {2: true, 6: true}} {
		t.Run(fmt.Sprint(fail), func(t *testing.T) {
			got, failures := run(t, fail)
			assert.NotZero(t, failures)
			assert.Equal(t, keys(clean), keys(got))
			for k, v := range clean {
				assert.True(t, string(v) == string(got[k]), "%s differs from a clean run's", k)
			}
		})
	}
}

// TestBackoffBeforeWritingAgain: after a failure the partition's records
// are not written again before retry.backoff.ms has passed.
func TestBackoffBeforeWritingAgain(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "2"
	cfg["retry.backoff.ms"] = "300"
	task := newSinkTask()
	real := task.newUploader
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		up, err := real(ctx, s)
		return &flakyUploader{next: up, fail: map[int]bool{1: true}}, err
	}
	tp := connect.TopicPartition{Topic: "orders"}
	sc := newRewindContext(t, cfg)
	require.NoError(t, task.Start(sc, cfg))
	require.NoError(t, task.Open([]connect.TopicPartition{tp}))
	recs := []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu"), order(0, 2, 2, "eu")}
	err := putSettled(context.Background(), t, task, recs)
	failedAt := time.Now()
	require.ErrorIs(t, err, connect.ErrRetriable)
	assert.ErrorContains(t, err, "injected upload failure")
	assert.ErrorContains(t, err, "read again from offset 0")
	// The redelivered batch is dropped: the rewind reads it again.
	require.NoError(t, task.Put(context.Background(), recs))
	waitCommits(t, task)
	assert.Equal(t, map[connect.TopicPartition]int64{tp: 0}, sc.take())
	// Read again before the backoff: refused, retriably, saying why.
	for time.Since(failedAt) < 250*time.Millisecond {
		err = task.Put(context.Background(), recs)
		require.ErrorIs(t, err, connect.ErrRetriable)
		require.ErrorContains(t, err, "retry.backoff.ms")
		time.Sleep(20 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return task.Put(context.Background(), recs) == nil }, 2*time.Second, 20*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(failedAt), 300*time.Millisecond)
	waitCommits(t, task)
	assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000000.json"}, keys(objects(t, cfg)))
}

// TestFailureInFlushRewindsWithoutDropping: files a rotation outside Put
// queued (scheduled rotation from Flush) that fail to upload rewind the
// partition; the worker applies that rewind before the next Put, whose
// records are then written, not dropped.
func TestFailureInFlushRewindsWithoutDropping(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["retry.backoff.ms"] = "0"
	task := newSinkTask()
	real := task.newUploader
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		up, err := real(ctx, s)
		return &flakyUploader{next: up, fail: map[int]bool{1: true}}, err
	}
	tp := connect.TopicPartition{Topic: "orders"}
	sc := newRewindContext(t, cfg)
	require.NoError(t, task.Start(sc, cfg))
	require.NoError(t, task.Open([]connect.TopicPartition{tp}))
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu")}))
	waitCommits(t, task)
	task.mu.Lock()
	require.NoError(t, task.writers[tp].rotate())
	task.mu.Unlock()
	off, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Empty(t, off)
	assert.Equal(t, map[connect.TopicPartition]int64{tp: 0}, sc.take())
	// Read again from 0 (the rewind applied after Flush).
	require.NoError(t, task.Put(context.Background(), []*connect.Record{order(0, 0, 0, "eu"), order(0, 1, 1, "eu"), order(0, 2, 2, "eu")}))
	waitCommits(t, task)
	off, err = task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, map[connect.TopicPartition]int64{tp: 3}, off)
	assert.Equal(t, []string{"topics/orders/partition=0/orders+0+0000000000.json"}, keys(objects(t, cfg)))
}
