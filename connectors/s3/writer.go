package s3

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// fileView is one object of every file: the records' values, or a
// sidecar of their keys or headers (store.kafka.keys/headers), whose name
// adds suffix before the extension.
type fileView struct {
	suffix string // "", ".keys" or ".headers"
	format recordFormat
	// get returns what the view writes of a record.
	get func(r *connect.Record) (*connect.Schema, any, error)
}

// valueView writes the records' values.
func valueView(f recordFormat) fileView {
	return fileView{format: f, get: func(r *connect.Record) (*connect.Schema, any, error) {
		return r.ValueSchema, r.Value, nil
	}}
}

// file is what one encoded partition of one Kafka partition has written
// since the last rotation: one object per view, each line (or row) i of
// which belongs to the same record.
type file struct {
	start   int64 // offset of the first record
	end     int64 // offset of the last record
	name    string
	encoded string
	objects []*object
	records int
	// schema is the value schema of the file's first record.
	schema *connect.Schema
}

// key is the value object's key, which names the file in messages.
func (f *file) key() string { return f.name }

// object is one view's object: the stream it is written to, through a
// compressor when the format allows one.
type object struct {
	key    string
	stream objectStream
	gz     *gzip.Writer // nil without compression
	w      recordWriter
}

// finish ends the object's file (its format's footer, the compressor's
// trailer); the stream then holds every byte of the object.
func (o *object) finish() error {
	if err := o.w.close(); err != nil {
		return fmt.Errorf("finish %s: %w", o.key, err)
	}
	if o.gz != nil {
		if err := o.gz.Close(); err != nil {
			return fmt.Errorf("compress %s: %w", o.key, err)
		}
	}
	return nil
}

func (f *file) abort() {
	for _, o := range f.objects {
		o.stream.abort()
	}
}

// commit commits the objects not yet committed, in order; a retry after
// an error commits only the rest.
func (f *file) commit(ctx context.Context) error {
	for len(f.objects) > 0 {
		if err := f.objects[0].stream.commit(ctx); err != nil {
			return err
		}
		f.objects = f.objects[1:]
	}
	return nil
}

// partitionWriter is Confluent's TopicPartitionWriter: the open files of one
// Kafka partition, the closed files waiting for upload and the offset that
// is safe to commit.
type partitionWriter struct {
	tp    connect.TopicPartition
	open  map[string]*file // by encoded partition
	order []string         // encoded partitions in the order their files opened
	// pending are closed files not yet uploaded, and pendingOffset the
	// offset to commit once they are.
	pending       []*file
	pendingOffset int64
	// count is the records written since the last rotation, across files.
	count int64
	// next is the offset after the last record handled; a redelivered
	// record below it is already in a file and is skipped. -1: none yet.
	next int64
	// committable is the offset after the last record of uploaded files;
	// -1: nothing uploaded yet.
	committable int64
	// first is the offset of the first record handled since the writer
	// started: where its records are read again from when nothing was
	// committed yet. -1: none yet.
	first int64
	// awaitRewind: an upload failed and the task asked the worker to
	// rewind; records are dropped until the rewind is applied (after the
	// next Put that returns nil), and the records read again are written
	// from retryAt on (retry.backoff.ms).
	awaitRewind bool
	retryAt     time.Time
	// started maps the offsets of the first max.files.scan.limit records
	// since the last commit to their encoded partition: the names a file
	// starting there would have (conditional writes only).
	started map[int64]string
	// bg commits the files of the last rotation while records go into
	// new files; nil when none does. Its result is taken by settle.
	bg *commitJob
}

// commitJob commits the files of one rotation in the background: the
// last part of each object and CompleteMultipartUpload (or its one
// PutObject) while Put goes on encoding.
type commitJob struct {
	files  []*file
	offset int64 // committable once every file is committed
	cancel context.CancelFunc
	done   chan struct{}
	// Set by the job before done closes: the files it committed, in
	// order, and the error that stopped it.
	n   int
	err error
}

// running reports whether the job is still committing.
func (j *commitJob) running() bool {
	select {
	case <-j.done:
		return false
	default:
		return true
	}
}

func newPartitionWriter(tp connect.TopicPartition) *partitionWriter {
	return &partitionWriter{tp: tp, open: map[string]*file{}, next: -1, committable: -1, first: -1}
}

// base is the offset the partition's records are read again from after a
// failure: after the last uploaded file, or the first record handled.
func (w *partitionWriter) base() int64 {
	if w.committable >= 0 {
		return w.committable
	}
	return w.first
}

// reset drops every file and starts again at offset base, as a writer
// that has handled every record below it.
func (w *partitionWriter) reset(base int64) {
	w.discard()
	w.count = 0
	w.next = base
	w.first = base
	clear(w.started)
}

// objectKey is <topics.dir>/<topic>/<encoded>/<topic>+<partition>+<padded start><suffix><ext>.
func (s *settings) objectKey(tp connect.TopicPartition, encoded string, start int64, suffix, ext string) string {
	off := strconv.FormatInt(start, 10)
	if pad := s.padWidth - len(off); pad > 0 {
		off = strings.Repeat("0", pad) + off
	}
	var b strings.Builder
	b.WriteString(s.topicsDir)
	b.WriteString(s.dirDelim)
	b.WriteString(tp.Topic)
	b.WriteString(s.dirDelim)
	b.WriteString(encoded)
	b.WriteString(s.dirDelim)
	b.WriteString(tp.Topic)
	b.WriteString(s.fileDelim)
	b.WriteString(strconv.Itoa(int(tp.Partition)))
	b.WriteString(s.fileDelim)
	b.WriteString(off)
	b.WriteString(suffix)
	b.WriteString(ext)
	return b.String()
}

// extension is the view's file extension, with .gz when compressed.
func (s *settings) extension(v fileView) string {
	if s.gzip && v.format.compressible() {
		return v.format.extension() + ".gz"
	}
	return v.format.extension()
}

// openFile starts the objects of a file for r, the first record of
// encoded partition encoded.
func (w *partitionWriter) openFile(ctx context.Context, s *settings, views []fileView, up uploader, encoded string, r *connect.Record, got []viewValue) (*file, error) {
	f := &file{start: r.Offset, schema: r.ValueSchema, encoded: encoded}
	for i, v := range views {
		key := s.objectKey(w.tp, encoded, r.Offset, v.suffix, s.extension(v))
		if i == 0 {
			f.name = key
		}
		stream, err := up.open(ctx, key)
		if err != nil {
			f.abort()
			return nil, err
		}
		o := &object{key: key, stream: stream}
		var dst io.Writer = stream
		if s.gzip && v.format.compressible() {
			if o.gz, err = gzip.NewWriterLevel(stream, s.gzipLevel); err != nil {
				stream.abort()
				f.abort()
				return nil, fmt.Errorf("start %s: %w", key, err)
			}
			dst = o.gz
		}
		if o.w, err = v.format.newWriter(dst, got[i].schema); err != nil {
			stream.abort()
			f.abort()
			return nil, fmt.Errorf("start %s: %w", key, err)
		}
		f.objects = append(f.objects, o)
	}
	return f, nil
}

// viewValue is what one view writes of a record.
type viewValue struct {
	schema *connect.Schema
	value  any
}

// write appends r to the file of its encoded partition, opening it with
// r's offset as its start. got holds r's value per view. A
// *badRecordError means nothing of r was written.
func (w *partitionWriter) write(ctx context.Context, s *settings, views []fileView, up uploader, encoded string, r *connect.Record, got []viewValue) error {
	f := w.open[encoded]
	if f == nil {
		var err error
		if f, err = w.openFile(ctx, s, views, up, encoded, r, got); err != nil {
			return err
		}
		w.open[encoded] = f
		w.order = append(w.order, encoded)
	}
	if s.conditional && int64(len(w.started)) < s.scanLimit {
		if w.started == nil {
			w.started = map[int64]string{}
		}
		w.started[r.Offset] = encoded
	}
	for i, o := range f.objects {
		if err := o.w.write(got[i].schema, got[i].value); err != nil {
			var bad *badRecordError
			if errors.As(err, &bad) && i == 0 {
				return err // nothing of r was written
			}
			return fmt.Errorf("write record %s-%d@%d to %s: %w", r.Topic, r.Partition, r.Offset, o.key, err)
		}
	}
	f.records++
	f.end = r.Offset
	w.count++
	return nil
}

// rotate closes every open file (Confluent commits all open files of a
// Kafka partition on any rotation) and queues them for upload, with the
// offset after the last record handled as the offset to commit.
func (w *partitionWriter) rotate() error {
	for _, enc := range w.order {
		f := w.open[enc]
		for _, o := range f.objects {
			if err := o.finish(); err != nil {
				return err
			}
		}
		w.pending = append(w.pending, f)
	}
	clear(w.open)
	w.order = w.order[:0]
	w.count = 0
	w.pendingOffset = w.next
	return nil
}

// uploadPending commits the closed files in order, calling committed
// after each; each committed file leaves the queue. When the queue is
// empty the pending offset becomes committable.
func (w *partitionWriter) uploadPending(ctx context.Context, committed func(*file) error) error {
	for len(w.pending) > 0 {
		f := w.pending[0]
		if err := f.commit(ctx); err != nil {
			return err
		}
		w.pending[0] = nil
		w.pending = w.pending[1:]
		if committed != nil {
			if err := committed(f); err != nil {
				return err
			}
		}
	}
	clear(w.started)
	if w.pendingOffset > w.committable {
		w.committable = w.pendingOffset
	}
	return nil
}

// commitInBackground starts committing the pending files, which leave
// the queue, in order, calling committed after each; settle takes the
// result. No other job of w may run.
func (w *partitionWriter) commitInBackground(committed func(context.Context, *file) error) {
	ctx, cancel := context.WithCancel(context.Background())
	j := &commitJob{files: w.pending, offset: w.pendingOffset, cancel: cancel, done: make(chan struct{})}
	w.pending, w.bg = nil, j
	go func() {
		defer close(j.done)
		for _, f := range j.files {
			if j.err = f.commit(ctx); j.err != nil {
				return
			}
			j.n++
			if committed != nil {
				if j.err = committed(ctx, f); j.err != nil {
					return
				}
			}
		}
	}()
}

// settle waits for w's background commit, if one runs, and takes its
// result as uploadPending's: the offset after its files becomes
// committable, or the files it did not commit go back to the front of
// the queue and its error is returned. Waiting ends with ctx, with an
// *uploadError; the job then still runs.
func (w *partitionWriter) settle(ctx context.Context, bucket string) error {
	j := w.bg
	if j == nil {
		return nil
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return &uploadError{bucket, j.files[0].key(), fmt.Errorf("wait for the upload of %d files: %w", len(j.files), ctx.Err())}
	}
	w.bg = nil
	j.cancel()
	if j.err != nil {
		w.pending = append(j.files[j.n:len(j.files):len(j.files)], w.pending...)
		return j.err
	}
	if j.offset > w.committable {
		w.committable = j.offset
	}
	return nil
}

// discard aborts every open and pending file, and a background commit.
func (w *partitionWriter) discard() {
	if j := w.bg; j != nil {
		j.cancel()
		<-j.done
		for _, f := range j.files {
			f.abort() // nothing for a file committed
		}
		w.bg = nil
	}
	for _, f := range w.open {
		f.abort()
	}
	for _, f := range w.pending {
		f.abort()
	}
	clear(w.open)
	w.order = w.order[:0]
	w.pending = nil
}
