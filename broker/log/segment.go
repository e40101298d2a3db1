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
//
// The .log is opened on use through the store's file cache (filecache.go).
// The indexes live in memory; their files are written whole when the
// segment is sealed (and rebuilt from the log when missing or inconsistent),
// so they need a descriptor only for that moment. The active segment's
// index files are stale or absent until it is sealed: recovery always
// rebuilds the last segment's indexes.
type segment struct {
	base  int64
	dir   string
	log   *cachedFile
	files *fileCache
	// idxSuffix is appended to the index file names: ".cleaned" while a
	// cleaned segment waits to be swapped in.
	idxSuffix string
	index     offsetIndex
	tindex    timeIndex
	size      atomic.Int64
	next      int64     // offset after the last batch
	maxTS     int64     // largest batch timestamp; -1 when empty
	maxTSAt   int64     // offset of the batch that reached maxTS
	created   time.Time // for segment.ms

	sinceIndex int // bytes appended since the last offset index entry
	sinceTime  int // bytes appended since the last time index entry

	corruptLogged atomic.Bool // a read found a corrupt batch and said so once
}

// segmentName is the zero-padded base offset Kafka uses for file names.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

func (s *segment) path(ext string) string {
	return filepath.Join(s.dir, segmentName(s.base)+ext)
}

// fileName is a segment file's name without its directory, for messages
// that may reach clients.
func (s *segment) fileName(ext string) string { return segmentName(s.base) + ext }

// createSegment makes a new empty segment and fsyncs the directory so the
// new file survives a crash.
func createSegment(files *fileCache, dir string, base int64, now time.Time) (*segment, error) {
	s := &segment{base: base, dir: dir, files: files, next: base, maxTS: -1, created: now}
	var err error
	if s.log, err = files.create(s.path(".log"), os.O_CREATE|os.O_RDWR|os.O_TRUNC); err != nil {
		return nil, fmt.Errorf("create segment %s: %w", s.fileName(".log"), err)
	}
	if err := files.fs.SyncDir(dir); err != nil {
		s.close()
		return nil, fmt.Errorf("sync the partition directory: %w", err)
	}
	return s, nil
}

// openSegment makes the segment of an existing .log of the given size
// without opening or reading it.
func openSegment(files *fileCache, dir string, base, size int64, modTime time.Time) *segment {
	s := &segment{base: base, dir: dir, files: files, next: base, maxTS: -1, created: modTime}
	s.log = files.file(s.path(".log"))
	s.size.Store(size)
	return s
}

// appendBatch writes one batch, already stamped with its offsets, at the end.
func (s *segment) appendBatch(b []byte, h batch.Header, indexInterval int) error {
	pos := s.size.Load()
	if _, err := s.log.WriteAt(b, pos); err != nil {
		return fmt.Errorf("write %s at %d: %w", s.fileName(".log"), pos, err)
	}
	s.indexBatch(h, pos, indexInterval)
	s.size.Store(pos + int64(len(b)))
	return nil
}

// indexBatch records a batch written at pos in the in-memory state.
func (s *segment) indexBatch(h batch.Header, pos int64, indexInterval int) {
	rel := uint32(h.BaseOffset - s.base)
	if pos > 0 && (len(s.index.entries) == 0 || s.sinceIndex >= indexInterval) {
		s.index.add(rel, uint32(pos))
		s.sinceIndex = 0
	}
	s.sinceIndex += h.Size()
	s.sinceTime += h.Size()
	if h.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSAt = h.MaxTimestamp, h.BaseOffset
		if len(s.tindex.entries) == 0 || s.sinceTime >= indexInterval {
			s.tindex.add(h.MaxTimestamp, rel)
			s.sinceTime = 0
		}
	}
	s.next = h.LastOffset() + 1
}

// seal is called when the segment stops being the active one: it records the
// final largest timestamp in the time index (retention reads it), writes
// the index files and makes the segment durable.
func (s *segment) seal() error {
	if last, ok := s.tindex.last(); s.maxTS >= 0 && (!ok || last.ts < s.maxTS) {
		s.tindex.add(s.maxTS, uint32(s.maxTSAt-s.base))
	}
	if err := s.writeIndexes(); err != nil {
		return err
	}
	return s.sync()
}

// writeIndexes writes both index files from the in-memory entries, fsynced.
func (s *segment) writeIndexes() error {
	if err := s.files.writeFile(s.path(".index")+s.idxSuffix, s.index.encode()); err != nil {
		return fmt.Errorf("write %s: %w", s.fileName(".index")+s.idxSuffix, err)
	}
	if err := s.files.writeFile(s.path(".timeindex")+s.idxSuffix, s.tindex.encode()); err != nil {
		return fmt.Errorf("write %s: %w", s.fileName(".timeindex")+s.idxSuffix, err)
	}
	return nil
}

// sync fsyncs the segment's log.
func (s *segment) sync() error {
	if err := s.log.Sync(); err != nil {
		return syncError{fmt.Errorf("sync segment %s: %w", s.fileName(".log"), err)}
	}
	return nil
}

// close gives up the segment's descriptor; a later read opens it again.
func (s *segment) close() {
	if s.log != nil {
		s.log.close()
	}
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

// renameFiles renames the segment's three files from their names plus
// from to their names plus to. Index files may be missing (an active
// segment has none yet).
func (s *segment) renameFiles(fs FS, from, to string) error {
	for _, ext := range segmentExts {
		var err error
		if ext == ".log" {
			err = s.log.rename(s.path(ext) + to)
		} else if err = fs.Rename(s.path(ext)+from, s.path(ext)+to); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		if err != nil {
			return err
		}
	}
	return nil
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
		return batch.Header{}, fmt.Errorf("read %s at %d: %w", s.fileName(".log"), pos, err)
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
