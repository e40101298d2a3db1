package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// file is one object being built: the records of one encoded partition of
// one Kafka partition since the last rotation.
type file struct {
	key     string
	data    bytes.Buffer
	gz      *gzip.Writer // nil without compression
	records int
}

// finish closes the compressor, after which data holds the object's bytes.
func (f *file) finish() error {
	if f.gz == nil {
		return nil
	}
	err := f.gz.Close()
	f.gz = nil
	return err
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
}

func newPartitionWriter(tp connect.TopicPartition) *partitionWriter {
	return &partitionWriter{tp: tp, open: map[string]*file{}, next: -1, committable: -1}
}

// objectKey is <topics.dir>/<topic>/<encoded>/<topic>+<partition>+<padded start>.<ext>.
func (s *settings) objectKey(tp connect.TopicPartition, encoded string, start int64) string {
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
	b.WriteString(s.extension)
	return b.String()
}

// write appends one encoded record to the file of its encoded partition,
// opening it with the record's offset as its start.
func (w *partitionWriter) write(s *settings, encoded string, offset int64, line []byte) error {
	f := w.open[encoded]
	if f == nil {
		f = &file{key: s.objectKey(w.tp, encoded, offset)}
		if s.gzip {
			f.gz = gzip.NewWriter(&f.data)
		}
		w.open[encoded] = f
		w.order = append(w.order, encoded)
	}
	var err error
	if f.gz != nil {
		_, err = f.gz.Write(line)
	} else {
		_, err = f.data.Write(line)
	}
	if err != nil {
		return fmt.Errorf("buffer a record for %s: %w", f.key, err)
	}
	f.records++
	w.count++
	return nil
}

// rotate closes every open file (Confluent commits all open files of a
// Kafka partition on any rotation) and queues them for upload, with the
// offset after the last record handled as the offset to commit.
func (w *partitionWriter) rotate() error {
	for _, enc := range w.order {
		f := w.open[enc]
		if err := f.finish(); err != nil {
			return fmt.Errorf("compress %s: %w", f.key, err)
		}
		w.pending = append(w.pending, f)
	}
	clear(w.open)
	w.order = w.order[:0]
	w.count = 0
	w.pendingOffset = w.next
	return nil
}

// uploadPending uploads the closed files in order; each uploaded file
// leaves the queue, so a retry uploads only the rest. When the queue is
// empty the pending offset becomes committable.
func (w *partitionWriter) uploadPending(ctx context.Context, up uploader) error {
	for len(w.pending) > 0 {
		f := w.pending[0]
		if err := up.upload(ctx, f.key, f.data.Bytes()); err != nil {
			return err
		}
		w.pending[0] = nil
		w.pending = w.pending[1:]
	}
	if w.pendingOffset > w.committable {
		w.committable = w.pendingOffset
	}
	return nil
}
