package log

import (
	"fmt"
	"testing"
)

// BenchmarkAppend is the hot append path on real files: one 1 KiB-record
// batch per op into one partition, no fsync.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTopic("t", 1, nil, false); err != nil {
		b.Fatal(err)
	}
	p, _ := s.Partition("t", 0)
	tmpl := mkBatch(b, fmt.Sprintf("%01000d", 0), 1, 1000)
	buf := make([]byte, len(tmpl))
	b.SetBytes(int64(len(tmpl)))
	for b.Loop() {
		copy(buf, tmpl)
		if _, err := p.Append(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendFlush appends a batch to each of 8 partitions and flushes
// them all per op, as an acks=all produce of 8 partitions does.
func BenchmarkAppendFlush(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateTopic("t", 8, nil, false); err != nil {
		b.Fatal(err)
	}
	tmpl := mkBatch(b, fmt.Sprintf("%01000d", 0), 16, 1000)
	buf := make([]byte, len(tmpl))
	b.SetBytes(8 * int64(len(tmpl)))
	for b.Loop() {
		for i := range 8 {
			p, _ := s.Partition("t", int32(i))
			copy(buf, tmpl)
			res, err := p.Append(buf)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Flush(res.LastOffset + 1); err != nil {
				b.Fatal(err)
			}
		}
	}
}
