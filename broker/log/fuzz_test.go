package log

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/sluicehq/sluice/broker/batch"
)

// FuzzRecovery opens a partition whose active segment is some valid batches
// followed by arbitrary bytes, as a crash may leave it: recovery must not
// panic, must keep the valid prefix, and must serve only whole, valid
// batches.
func FuzzRecovery(f *testing.F) {
	good := mkBatch(f, "k", 3, 1000)
	f.Add(uint8(2), []byte{})
	f.Add(uint8(1), good[:30])
	f.Add(uint8(3), append(append([]byte(nil), good...), 0xff))
	f.Add(uint8(0), good)
	// A whole batch whose length runs past the end, one whose length points
	// inside the next batch, and one with a bad CRC: each is cut.
	long := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(long[8:], 0x7fff0000)
	f.Add(uint8(2), long)
	short := append(append([]byte(nil), good...), good...)
	binary.BigEndian.PutUint32(short[8:], uint32(len(good)/2))
	f.Add(uint8(1), short)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	f.Add(uint8(4), badCRC)
	f.Fuzz(func(t *testing.T, valid uint8, tail []byte) {
		n := int(valid % 8)
		fs := newMemFS()
		s := openStore(t, fs, "/data", nil)
		if err := s.CreateTopic("t", 1, nil, false); err != nil {
			t.Fatal(err)
		}
		p, _ := s.Partition("t", 0)
		for range n {
			if _, err := p.Append(mkBatch(t, "k", 3, 1000)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(1 << 62); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile("/data/t-0/00000000000000000000.log", 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		if _, err := f.WriteAt(tail, st.Size()); err != nil {
			t.Fatal(err)
		}
		f.Sync()
		fs.Crash(rand.New(rand.NewPCG(1, 1)), false)

		s, err = Open(Options{Dir: "/data", FS: fs})
		if err != nil {
			t.Fatalf("recovery failed: %v", err)
		}
		p, _ = s.Partition("t", 0)
		start, end := p.Offsets()
		if end < int64(3*n) {
			t.Fatalf("lost valid batches: end %d, want at least %d", end, 3*n)
		}
		for off := start; off < end; {
			res, err := p.Read(off, 1<<20, true, nil)
			if err != nil {
				t.Fatalf("read at %d: %v", off, err)
			}
			bs, err := batch.Split(res.Records)
			if err != nil || len(bs) == 0 {
				t.Fatalf("read at %d: %d batches, %v", off, len(bs), err)
			}
			for _, b := range bs {
				if err := batch.CheckCRC(b); err != nil {
					t.Fatalf("served a corrupt batch at %d: %v", off, err)
				}
				h, _ := batch.ParseHeader(b)
				off = h.LastOffset() + 1
			}
		}
		if _, err := p.Append(mkBatch(t, "after", 1, 1)); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
		s.Close()
	})
}
