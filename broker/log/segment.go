package log

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/broker/batch"
)

// segment is one file of a partition's log holding the batches from base
// onwards, with its two sparse indexes. Its fields other than size are guarded
// by the partition's lock; size is published atomically after a write lands so
// readers never see a partly written batch.
type segment struct {
	base    int64
	dir     string
	log     File
	index   offsetIndex
	tindex  timeIndex
	size    atomic.Int64
	next    int64     // offset after the last batch
	maxTS   int64     // largest batch timestamp; -1 when empty
	maxTSAt int64     // offset of the batch that reached maxTS
	created time.Time // for segment.ms

	sinceIndex int // bytes appended since the last offset index entry
	sinceTime  int // bytes appended since the last time index entry
}

// segmentName is the zero-padded base offset Kafka uses for file names.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

func (s *segment) path(ext string) string {
	return filepath.Join(s.dir, segmentName(s.base)+ext)
}

// createSegment makes a new empty segment and fsyncs the directory so the
// new file survives a crash.
func createSegment(fs FS, dir string, base int64, now time.Time) (*segment, error) {
	s := &segment{base: base, dir: dir, next: base, maxTS: -1, created: now}
	var err error
	if s.log, err = fs.OpenFile(s.path(".log"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644); err != nil {
		return nil, fmt.Errorf("create segment %s: %w", s.path(".log"), err)
	}
	if s.index.file, err = fs.OpenFile(s.path(".index"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644); err != nil {
		s.close()
		return nil, fmt.Errorf("create index %s: %w", s.path(".index"), err)
	}
	if s.tindex.file, err = fs.OpenFile(s.path(".timeindex"), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644); err != nil {
		s.close()
		return nil, fmt.Errorf("create time index %s: %w", s.path(".timeindex"), err)
	}
	if err := fs.SyncDir(dir); err != nil {
		s.close()
		return nil, fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return s, nil
}

// openSegment opens an existing segment's files without reading them.
func openSegment(fs FS, dir string, base int64) (*segment, error) {
	s := &segment{base: base, dir: dir, next: base, maxTS: -1}
	var err error
	if s.log, err = fs.OpenFile(s.path(".log"), os.O_RDWR, 0); err != nil {
		return nil, fmt.Errorf("open segment %s: %w", s.path(".log"), err)
	}
	st, err := s.log.Stat()
	if err != nil {
		s.close()
		return nil, fmt.Errorf("stat segment %s: %w", s.path(".log"), err)
	}
	s.size.Store(st.Size())
	s.created = st.ModTime()
	if s.index.file, err = openIndexFile(fs, s.path(".index")); err != nil {
		s.close()
		return nil, fmt.Errorf("open index %s: %w", s.path(".index"), err)
	}
	if s.tindex.file, err = openIndexFile(fs, s.path(".timeindex")); err != nil {
		s.close()
		return nil, fmt.Errorf("open time index %s: %w", s.path(".timeindex"), err)
	}
	return s, nil
}

// appendBatch writes one batch, already stamped with its offsets, at the end.
func (s *segment) appendBatch(b []byte, h batch.Header, indexInterval int) error {
	pos := s.size.Load()
	if _, err := s.log.WriteAt(b, pos); err != nil {
		return fmt.Errorf("write %s at %d: %w", s.path(".log"), pos, err)
	}
	if err := s.indexBatch(h, pos, indexInterval, true); err != nil {
		return err
	}
	s.size.Store(pos + int64(len(b)))
	return nil
}

// indexBatch records a batch written at pos in the in-memory state and,
// when persist is set, in the index files.
func (s *segment) indexBatch(h batch.Header, pos int64, indexInterval int, persist bool) error {
	rel := uint32(h.BaseOffset - s.base)
	if pos > 0 && (len(s.index.entries) == 0 || s.sinceIndex >= indexInterval) {
		if err := s.index.add(rel, uint32(pos), persist); err != nil {
			return fmt.Errorf("write %s: %w", s.path(".index"), err)
		}
		s.sinceIndex = 0
	}
	s.sinceIndex += h.Size()
	s.sinceTime += h.Size()
	if h.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSAt = h.MaxTimestamp, h.BaseOffset
		if len(s.tindex.entries) == 0 || s.sinceTime >= indexInterval {
			if err := s.tindex.add(h.MaxTimestamp, rel, persist); err != nil {
				return fmt.Errorf("write %s: %w", s.path(".timeindex"), err)
			}
			s.sinceTime = 0
		}
	}
	s.next = h.LastOffset() + 1
	return nil
}

// seal is called when the segment stops being the active one: it records the
// final largest timestamp in the time index (retention reads it) and makes the
// segment and its indexes durable.
func (s *segment) seal() error {
	if last, ok := s.tindex.last(); s.maxTS >= 0 && (!ok || last.ts < s.maxTS) {
		if err := s.tindex.add(s.maxTS, uint32(s.maxTSAt-s.base), true); err != nil {
			return fmt.Errorf("write %s: %w", s.path(".timeindex"), err)
		}
	}
	return s.sync()
}

func (s *segment) sync() error {
	for _, f := range []File{s.log, s.index.file, s.tindex.file} {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync segment %s: %w", s.path(".log"), err)
		}
	}
	return nil
}

func (s *segment) close() error {
	var errs []error
	for _, f := range []File{s.log, s.index.file, s.tindex.file} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

func (s *segment) remove(fs FS) error {
	s.close()
	var errs []error
	for _, ext := range []string{".log", ".index", ".timeindex"} {
		if err := fs.Remove(s.path(ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readHeader reads the batch header at pos; io.EOF when pos is the end.
func (s *segment) readHeader(pos, end int64) (batch.Header, error) {
	if pos >= end {
		return batch.Header{}, io.EOF
	}
	if end-pos < batch.HeaderSize {
		return batch.Header{}, fmt.Errorf("%w: %d bytes at %d, shorter than a batch header", batch.ErrCorrupt, end-pos, pos)
	}
	var hb [batch.HeaderSize]byte
	if _, err := s.log.ReadAt(hb[:], pos); err != nil {
		return batch.Header{}, fmt.Errorf("read %s at %d: %w", s.path(".log"), pos, err)
	}
	h, err := batch.ParseHeader(hb[:])
	if err != nil {
		return h, err
	}
	if pos+int64(h.Size()) > end {
		return h, fmt.Errorf("%w: batch at %d runs past the end", batch.ErrCorrupt, pos)
	}
	return h, nil
}

// find returns the position of the first batch whose last offset is at or
// past offset, scanning forward from the nearest index entry, and that
// batch's header. io.EOF if no batch in the segment reaches offset.
func (s *segment) find(offset int64, end int64) (int64, batch.Header, error) {
	pos := int64(0)
	if offset > s.base {
		pos = int64(s.index.lookup(uint32(offset - s.base)))
	}
	for {
		h, err := s.readHeader(pos, end)
		if err != nil {
			return 0, h, err
		}
		if h.LastOffset() >= offset {
			return pos, h, nil
		}
		pos += int64(h.Size())
	}
}
