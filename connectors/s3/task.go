package s3

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// sinkTask writes the records of its Kafka partitions to S3 objects.
type sinkTask struct {
	// mu guards writers: the worker may call Open and Close from its
	// consumer's rebalance goroutine, even while Start runs.
	mu      sync.Mutex
	ctx     connect.SinkTaskContext
	s       *settings
	views   []fileView // the value view, then any sidecars
	part    partitioner
	up      uploader
	writers map[connect.TopicPartition]*partitionWriter
	got     []viewValue // reused: one record's value per view

	// rot is the rotation triggers' state per partition (rotation.go).
	rot map[connect.TopicPartition]*rotationState

	// newUploader builds the uploader at Start; tests replace it.
	newUploader func(context.Context, *settings) (uploader, error)
}

func newSinkTask() *sinkTask {
	return &sinkTask{newUploader: func(ctx context.Context, s *settings) (uploader, error) {
		c, err := newClient(ctx, s)
		if err != nil {
			return nil, err
		}
		// A missing bucket, wrong keys or region, or an unreachable
		// endpoint fails the start saying what to fix, as Confluent's
		// sink checks its bucket at start.
		check, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := kit.CheckBucket(check, c, s.bucket); err != nil {
			return nil, err
		}
		if !s.expectContinue {
			c = s3.New(c.Options(), func(o *s3.Options) { o.ContinueHeaderThresholdBytes = -1 })
		}
		return newStreamUploader(c, s), nil
	}}
}

// Start implements connect.SinkTask.
func (t *sinkTask) Start(ctx connect.SinkTaskContext, config map[string]string) error {
	s, err := parseSettings(config)
	if err != nil {
		return fmt.Errorf("start S3SinkTask: %w", err)
	}
	views, err := newViews(s)
	if err != nil {
		return fmt.Errorf("start S3SinkTask: %w", err)
	}
	part, err := newPartitioner(s)
	if err != nil {
		return fmt.Errorf("start S3SinkTask: %w", err)
	}
	up, err := t.newUploader(context.Background(), s)
	if err != nil {
		return fmt.Errorf("start S3SinkTask: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ctx, t.s, t.views, t.part, t.up = ctx, s, views, part, up
	if t.writers == nil {
		t.writers = map[connect.TopicPartition]*partitionWriter{}
	}
	t.abortStaleOpened()
	return nil
}

// Open implements connect.SinkPartitionHandler: assigned partitions start
// with no buffered records.
func (t *sinkTask) Open(partitions []connect.TopicPartition) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.writers == nil { // Open before Start or after Stop
		t.writers = map[connect.TopicPartition]*partitionWriter{}
	}
	for _, tp := range partitions {
		t.writers[tp] = newPartitionWriter(tp)
	}
	t.abortStale(partitions)
	return nil
}

// Close implements connect.SinkPartitionHandler: the buffers of revoked
// partitions are dropped; their records come again to whoever gets the
// partition, from the last committed offset.
func (t *sinkTask) Close(partitions []connect.TopicPartition) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range partitions {
		if w := t.writers[tp]; w != nil {
			w.discard()
		}
		delete(t.writers, tp)
	}
	return nil
}

// writer returns tp's writer, creating it for a worker that calls Put
// without Open. t.mu is held.
func (t *sinkTask) writer(tp connect.TopicPartition) *partitionWriter {
	w := t.writers[tp]
	if w == nil {
		if t.writers == nil {
			t.writers = map[connect.TopicPartition]*partitionWriter{}
		}
		w = newPartitionWriter(tp)
		t.writers[tp] = w
	}
	return w
}

// Put implements connect.SinkTask: each record goes into the file of its
// encoded partition; when flush.size records of a Kafka partition have been
// written, all its open files are uploaded. A failed upload drops the
// partition's files and rewinds it to its last committed offset (see
// fail); Put then returns a retriable error, and the worker's redelivery
// of the batch skips what is already in a file or will be read again.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := t.newDeadline() // max.write.duration.ms
	now := time.Now()
	var failed, waiting []error
	var held []connect.TopicPartition
	for _, r := range records {
		if deadline.skip(r) {
			continue
		}
		tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		w := t.writer(tp)
		if w.bg != nil && !w.bg.running() {
			// A background commit ended: a failure rewinds now.
			if err := w.settle(ctx, t.s.bucket); err != nil {
				if err = t.fail(ctx, w, err); !errors.Is(err, connect.ErrRetriable) {
					return err
				}
				failed = append(failed, err)
			}
		}
		if w.awaitRewind {
			continue // read again once the worker applies the rewind
		}
		if now.Before(w.retryAt) {
			if !slices.Contains(held, tp) {
				held = append(held, tp)
				waiting = append(waiting, fmt.Errorf("%s: waiting %s (%s) after a failed upload before writing again", tp, t.s.retryBackoff, RetryBackoffConfig))
			}
			continue // not handled: redelivered with the batch
		}
		if w.next >= 0 && r.Offset < w.next {
			continue // already in a file: a redelivery after a retriable error
		}
		if w.first < 0 {
			w.first = r.Offset
		}
		err := t.put(ctx, w, r)
		if err == nil && w.count >= t.s.flushSize {
			err = t.rotateAndCommit(ctx, w)
		}
		if err != nil {
			if err = t.fail(ctx, w, err); !errors.Is(err, connect.ErrRetriable) {
				return err
			}
			failed = append(failed, err)
		}
	}
	// Background commits that ended: their offsets become committable,
	// a failure rewinds its partition.
	for _, w := range t.writers {
		if w.bg == nil || w.bg.running() {
			continue
		}
		if err := w.settle(ctx, t.s.bucket); err != nil {
			if err = t.fail(ctx, w, err); !errors.Is(err, connect.ErrRetriable) {
				return err
			}
			failed = append(failed, err)
		}
	}
	// Scheduled rotation of quiet partitions (Confluent's
	// commitOnTimeIfNoData after each put).
	if err := t.rotateDue(ctx); err != nil {
		if !errors.Is(err, connect.ErrRetriable) {
			return err
		}
		failed = append(failed, err)
	}
	if len(failed) > 0 || len(waiting) > 0 {
		return connect.Retriable(errors.Join(append(failed, waiting...)...))
	}
	// The worker applies the rewinds asked for once this Put returns nil:
	// the next records of a failed partition are those read again.
	for _, w := range t.writers {
		w.awaitRewind = false
	}
	return nil
}

// rotateAndUpload closes all open files of w and uploads them, after the
// files of its background commit.
func (t *sinkTask) rotateAndUpload(ctx context.Context, w *partitionWriter) error {
	if err := w.settle(ctx, t.s.bucket); err != nil {
		return err
	}
	if err := w.rotate(); err != nil {
		return err
	}
	return w.uploadPending(ctx, func(f *file) error { return t.tag(ctx, f) })
}

// maxBackgroundCommits bounds the rotations a task commits in the
// background: each holds the last part of its files' objects.
const maxBackgroundCommits = 2

// rotateAndCommit is the rotation of flush.size: it closes all open files
// of w and commits them in the background (after the previous rotation's
// files), so that Put goes on writing records while the last parts and
// the completions are in flight. Flush, the next rotation of w, or its
// next record after the commit ended takes the result: only then is the
// offset committable, and a failure rewinds the partition (t.fail).
// With enable.conditional.writes the files are uploaded before Put goes
// on, as finding a file's name taken reads the partition's later files.
func (t *sinkTask) rotateAndCommit(ctx context.Context, w *partitionWriter) error {
	if t.s.conditional {
		return t.rotateAndUpload(ctx, w)
	}
	if err := w.settle(ctx, t.s.bucket); err != nil {
		return err
	}
	if err := w.rotate(); err != nil {
		return err
	}
	if err := t.awaitCommitSlot(ctx); err != nil {
		return err
	}
	w.commitInBackground(t.tag)
	return nil
}

// awaitCommitSlot waits until fewer than maxBackgroundCommits background
// commits run; their results are taken later by their writers.
func (t *sinkTask) awaitCommitSlot(ctx context.Context) error {
	for {
		var running []*commitJob
		for _, w := range t.writers {
			if w.bg != nil && w.bg.running() {
				running = append(running, w.bg)
			}
		}
		if len(running) < maxBackgroundCommits {
			return nil
		}
		select {
		case <-running[0].done:
		case <-ctx.Done():
			return &uploadError{t.s.bucket, running[0].files[0].key(), fmt.Errorf("wait for a background upload: %w", ctx.Err())}
		}
	}
}

// fail handles an error of w's files as Confluent's sink handles a
// RetriableException from a TopicPartitionWriter: an upload failure
// (a part, a commit, a conditional write that found the name taken)
// drops every file of the partition and asks the worker to read its
// records again from the last committed offset, written again after
// retry.backoff.ms; the same records then make the same files. It returns
// a retriable error saying so; any other error is returned as it is.
func (t *sinkTask) fail(ctx context.Context, w *partitionWriter, err error) error {
	var up *uploadError
	var exists *fileExistsError
	base := w.base()
	switch {
	case errors.As(err, &exists):
		// Confluent's findNextAvailableFile: the records from the taken
		// file's start on are taken to be in objects already written.
		base = t.nextAvailable(ctx, w, exists.key)
	case errors.As(err, &up):
	default:
		return err
	}
	w.reset(base)
	w.retryAt = time.Now().Add(t.s.retryBackoff)
	if base >= 0 { // else no record was handled: nothing to read again
		w.awaitRewind = true
		t.ctx.Rewind(w.tp, base)
	}
	return connect.Retriable(fmt.Errorf("%s: %w; the partition's open files are dropped and its records read again from offset %d after %s (%s)",
		w.tp, err, base, t.s.retryBackoff, RetryBackoffConfig))
}

// put writes one record, or reports it when it cannot be written.
func (t *sinkTask) put(ctx context.Context, w *partitionWriter, r *connect.Record) error {
	if r.Value == nil && !t.s.writeNulls {
		return t.skipNull(r) // ignored, and not committed until a later rotation
	}
	rec := r // r projected to its file's schema
	encoded, err := t.part.encode(r)
	if err == nil {
		var bad *badRecordError
		if rec, err = t.beforeWrite(ctx, w, r, encoded); err != nil && !errors.As(err, &bad) {
			return err
		}
	}
	if err == nil {
		err = t.viewValues(rec)
	}
	if err == nil {
		views, got := t.fileViews(rec, t.got)
		err = w.write(ctx, t.s, views, t.up, encoded, rec, got)
		var bad *badRecordError
		if err != nil && !errors.As(err, &bad) {
			return err
		}
	}
	if err == nil {
		t.afterWrite(w, encoded)
	} else {
		if rerr := t.ctx.Report(r, fmt.Errorf("record %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)); rerr != nil {
			return rerr
		}
	}
	w.next = r.Offset + 1
	return nil
}

// viewValues fills t.got with what each view writes of r.
func (t *sinkTask) viewValues(r *connect.Record) error {
	t.got = t.got[:0]
	for _, v := range t.views {
		schema, value, err := v.get(r)
		if err != nil {
			return err
		}
		t.got = append(t.got, viewValue{schema, value})
	}
	return nil
}

// Flush implements connect.SinkTask (Confluent's preCommit): it uploads
// files a rotation outside Put queued (a failure rewinds the partition,
// as in Put) and returns, per partition, the offset after the last record
// of files completely uploaded; records in open files are not committed.
func (t *sinkTask) Flush(ctx context.Context, _ map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.rotateDue(ctx); err != nil && !errors.Is(err, connect.ErrRetriable) {
		return nil, err
	}
	// Scheduled rotation of quiet partitions: a failed upload rewound its
	// partition, and the worker applies a rewind asked in Flush before
	// the next Put, so the next records are those read again.
	for _, w := range t.writers {
		w.awaitRewind = false
	}
	out := map[connect.TopicPartition]int64{}
	for tp, w := range t.writers {
		if err := w.settle(ctx, t.s.bucket); err != nil {
			if err = t.fail(ctx, w, err); !errors.Is(err, connect.ErrRetriable) {
				return nil, err
			}
			w.awaitRewind = false // applied before the next Put, as below
			t.ctx.Logger().Warn("upload failed; the partition's offset is not committed", "partition", tp.String(), "error", err)
		}
		if len(w.pending) > 0 && !w.awaitRewind {
			if err := w.uploadPending(ctx, func(f *file) error { return t.tag(ctx, f) }); err != nil {
				if err = t.fail(ctx, w, err); !errors.Is(err, connect.ErrRetriable) {
					return nil, err
				}
				// The worker applies a rewind asked in Flush before the
				// next Put: its records are those read again.
				w.awaitRewind = false
				t.ctx.Logger().Warn("upload failed; the partition's offset is not committed", "partition", tp.String(), "error", err)
			}
		}
		if w.committable >= 0 {
			out[tp] = w.committable
		}
	}
	return out, nil
}

// Stop implements connect.SinkTask: buffered records are dropped; they
// were not committed and come again after a restart.
func (t *sinkTask) Stop() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range t.writers {
		w.discard()
	}
	t.writers = nil
	return nil
}
