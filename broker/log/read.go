package log

import (
	"errors"
	"fmt"
	"io"

	"github.com/sluicehq/sluice/broker/batch"
)

// errNotInSegment: the segment has no batch at or past the offset (possible
// after compaction left a gap); the reader moves to the next segment.
var errNotInSegment = errors.New("offset not in segment")

// read returns whole batches from the one containing offset up to maxBytes,
// and with minOne at least that one batch. end is the segment size published
// when the read began.
func (s *segment) read(offset, end int64, maxBytes int, minOne bool, dst []byte) ([]byte, error) {
	pos, h, err := s.find(offset, end)
	if errors.Is(err, io.EOF) {
		return nil, errNotInSegment
	}
	if err != nil {
		return nil, err
	}
	if !minOne && h.Size() > maxBytes {
		return []byte{}, nil
	}
	want := min(int64(max(maxBytes, h.Size())), end-pos)
	buf := dst[:0]
	if int64(cap(buf)) < want {
		buf = make([]byte, want)
	}
	buf = buf[:want]
	if _, err := s.log.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s at %d: %w", s.fileName(".log"), pos, err)
	}
	// Keep whole batches only.
	n := 0
	for n+batch.HeaderSize <= len(buf) {
		bh, err := batch.ParseHeader(buf[n:])
		if err != nil || n+bh.Size() > len(buf) {
			break
		}
		n += bh.Size()
	}
	return buf[:n], nil
}

// firstAtOrAfter scans batches from the one holding offset for the first
// record with a timestamp at or after ts; -1 if none in this segment.
func (s *segment) firstAtOrAfter(offset, ts, end int64) (int64, int64, error) {
	pos, _, err := s.find(offset, end)
	if errors.Is(err, io.EOF) {
		return -1, -1, nil
	}
	if err != nil {
		return -1, -1, err
	}
	for pos < end {
		h, err := s.readHeader(pos, end)
		if err != nil {
			return -1, -1, err
		}
		if h.MaxTimestamp >= ts && !h.Control() {
			recs, err := s.records(pos, h)
			if err != nil {
				return -1, -1, err
			}
			for _, r := range recs {
				rts := r.Timestamp
				if h.LogAppendTime() {
					rts = h.MaxTimestamp
				}
				if rts >= ts && r.Offset >= offset {
					return r.Offset, rts, nil
				}
			}
		}
		pos += int64(h.Size())
	}
	return -1, -1, nil
}

// offsetOfTimestamp finds the record with timestamp ts in the batch that
// starts at batchOffset.
func (s *segment) offsetOfTimestamp(batchOffset, ts, end int64) (int64, error) {
	pos, h, err := s.find(batchOffset, end)
	if err != nil {
		return -1, err
	}
	if h.LogAppendTime() {
		return h.BaseOffset, nil
	}
	recs, err := s.records(pos, h)
	if err != nil {
		return -1, err
	}
	for _, r := range recs {
		if r.Timestamp == ts {
			return r.Offset, nil
		}
	}
	return h.LastOffset(), nil
}

func (s *segment) records(pos int64, h batch.Header) ([]batch.Record, error) {
	b := make([]byte, h.Size())
	if _, err := s.log.ReadAt(b, pos); err != nil {
		return nil, fmt.Errorf("read %s at %d: %w", s.fileName(".log"), pos, err)
	}
	return batch.Records(b)
}
