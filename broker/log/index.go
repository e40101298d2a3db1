package log

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// offsetIndex is a segment's sparse offset index: entries of (offset relative
// to the segment base, uint32; file position of the batch starting there,
// uint32), 8 bytes each, big-endian as Kafka writes them. An entry is added
// every index.interval.bytes of log. Entries are kept in memory; the file is
// written whole when the segment is sealed, and rebuilt from the log when
// missing or inconsistent.
type offsetIndex struct {
	entries []offsetEntry
}

type offsetEntry struct {
	rel uint32
	pos uint32
}

const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

// timeIndex is a segment's sparse time index: entries of (largest timestamp
// so far, int64; relative offset of the batch that reached it, uint32), 12
// bytes each. Timestamps never decrease from one entry to the next.
type timeIndex struct {
	entries []timeEntry
}

type timeEntry struct {
	ts  int64
	rel uint32
}

func (ix *offsetIndex) add(rel, pos uint32) {
	ix.entries = append(ix.entries, offsetEntry{rel, pos})
}

// lookup returns the position of the last indexed batch starting at or
// before rel, or 0.
func (ix *offsetIndex) lookup(rel uint32) uint32 {
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].rel > rel })
	if i == 0 {
		return 0
	}
	return ix.entries[i-1].pos
}

func (ix *timeIndex) add(ts int64, rel uint32) {
	ix.entries = append(ix.entries, timeEntry{ts, rel})
}

// lookup returns the relative offset of the last entry whose timestamp is
// below ts: every batch before it has only older records, so a search for
// the first record at or after ts can start there.
func (ix *timeIndex) lookup(ts int64) (uint32, bool) {
	i := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].ts >= ts })
	if i == 0 {
		return 0, false
	}
	return ix.entries[i-1].rel, true
}

func (ix *timeIndex) last() (timeEntry, bool) {
	if len(ix.entries) == 0 {
		return timeEntry{}, false
	}
	return ix.entries[len(ix.entries)-1], true
}

// loadOffsetIndex reads an index file and checks it is consistent with a log
// of logSize bytes; an error means the caller should rebuild it.
func loadOffsetIndex(b []byte, logSize int64) ([]offsetEntry, error) {
	if len(b)%offsetEntrySize != 0 {
		return nil, fmt.Errorf("size %d is not a multiple of %d", len(b), offsetEntrySize)
	}
	entries := make([]offsetEntry, 0, len(b)/offsetEntrySize)
	for i := 0; i < len(b); i += offsetEntrySize {
		e := offsetEntry{binary.BigEndian.Uint32(b[i:]), binary.BigEndian.Uint32(b[i+4:])}
		if int64(e.pos) >= logSize {
			return nil, fmt.Errorf("entry %d points at %d, past the log's %d bytes", i/offsetEntrySize, e.pos, logSize)
		}
		if n := len(entries); n > 0 && (e.rel <= entries[n-1].rel || e.pos <= entries[n-1].pos) {
			return nil, fmt.Errorf("entry %d goes backwards", i/offsetEntrySize)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func loadTimeIndex(b []byte) ([]timeEntry, error) {
	if len(b)%timeEntrySize != 0 {
		return nil, fmt.Errorf("size %d is not a multiple of %d", len(b), timeEntrySize)
	}
	entries := make([]timeEntry, 0, len(b)/timeEntrySize)
	for i := 0; i < len(b); i += timeEntrySize {
		e := timeEntry{int64(binary.BigEndian.Uint64(b[i:])), binary.BigEndian.Uint32(b[i+8:])}
		if n := len(entries); n > 0 && (e.ts < entries[n-1].ts || e.rel < entries[n-1].rel) {
			return nil, fmt.Errorf("entry %d goes backwards", i/timeEntrySize)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// encode is the index file's contents.
func (ix *offsetIndex) encode() []byte {
	b := make([]byte, 0, len(ix.entries)*offsetEntrySize)
	for _, e := range ix.entries {
		b = binary.BigEndian.AppendUint32(b, e.rel)
		b = binary.BigEndian.AppendUint32(b, e.pos)
	}
	return b
}

func (ix *timeIndex) encode() []byte {
	b := make([]byte, 0, len(ix.entries)*timeEntrySize)
	for _, e := range ix.entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
		b = binary.BigEndian.AppendUint32(b, e.rel)
	}
	return b
}
