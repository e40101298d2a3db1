package s3

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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
		return newManagerUploader(c, s), nil
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
// written, all its open files are uploaded. A failed upload is retriable:
// the closed files stay queued, and the redelivered records already in a
// file are skipped, so the objects come out the same.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	deadline := t.newDeadline() // max.write.duration.ms
	for _, r := range records {
		if deadline.skip(r) {
			continue
		}
		tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		w := t.writer(tp)
		if len(w.pending) > 0 {
			if err := w.uploadPending(ctx); err != nil {
				return connect.Retriable(err)
			}
		}
		if w.next >= 0 && r.Offset < w.next {
			continue // already in a file: a redelivery after a retriable error
		}
		if err := t.put(ctx, w, r); err != nil {
			return err
		}
		if w.count >= t.s.flushSize {
			if err := w.rotate(); err != nil {
				return err
			}
			if err := w.uploadPending(ctx); err != nil {
				return connect.Retriable(err)
			}
		}
	}
	return t.rotateDue(ctx)
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

// Flush implements connect.SinkTask (Confluent's preCommit): it retries
// queued uploads and returns, per partition, the offset after the last
// record of files completely uploaded; records in open files are not
// committed.
func (t *sinkTask) Flush(ctx context.Context, _ map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.rotateDue(ctx) // scheduled rotation of quiet partitions; a failed upload stays queued for the loop below
	out := map[connect.TopicPartition]int64{}
	for tp, w := range t.writers {
		if len(w.pending) > 0 {
			if err := w.uploadPending(ctx); err != nil {
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
