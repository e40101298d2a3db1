package batch

import (
	"bytes"
	"errors"
	"testing"

	"github.com/klauspost/compress/snappy"
)

// fuzzSeeds returns valid batches for every codec and both snappy framings,
// plus broken ones.
func fuzzSeeds(t testing.TB) [][]byte {
	recs := sampleRecords()
	recs[3].Value = recs[3].Value[:300] // keep seeds small for the mutator
	var seeds [][]byte
	for _, c := range allCodecs {
		seeds = append(seeds, encode(t, noProducer(c), recs), kgoBatch(t, c, recs[:3]))
	}
	seeds = append(seeds,
		handBuilt(),
		wrap(CodecSnappy, int32(len(recs)), snappy.Encode(nil, kgoRecords(recs))),
		wrap(CodecSnappy, int32(len(recs)), xerialFrame(kgoRecords(recs), 64)),
		wrap(CodecNone, 3, small(2)),
		wrap(CodecGzip, 1, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}),
		mutate(handBuilt(), func(b []byte) { b[16] = 1 }),
		handBuilt()[:70],
		nil,
	)
	return seeds
}

// sentinels are the errors every failure must wrap.
var sentinels = []error{ErrCorrupt, ErrInvalidRecord, ErrTooLarge, ErrUnsupportedCodec}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzValidate feeds arbitrary bytes to Validate, Records and ParseHeader.
// With fix set it recomputes the CRC first, so that mutations reach the
// record walk instead of stopping at the checksum.
func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fix, requireKeys bool) {
		if fix && len(b) >= HeaderSize {
			b = fixCRC(bytes.Clone(b)) // the fuzzer's input must not be modified
		}
		orig := bytes.Clone(b)
		h, err := Validate(b, 1<<20, requireKeys)
		if !bytes.Equal(orig, b) {
			t.Fatal("Validate modified its input")
		}
		if err != nil && !wrapsSentinel(err) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		recs, rerr := Records(b)
		if rerr != nil && !wrapsSentinel(rerr) {
			t.Fatalf("Records error wraps no sentinel: %v", rerr)
		}
		_, _ = ParseHeader(b)
		if err != nil {
			return
		}
		// A batch Validate accepts must decode, to exactly its count.
		if rerr != nil {
			t.Fatalf("Validate accepted a batch Records rejects: %v", rerr)
		}
		if len(recs) != int(h.NumRecords) {
			t.Fatalf("decoded %d records, header says %d", len(recs), h.NumRecords)
		}
		for i, r := range recs {
			if r.Offset != h.BaseOffset+int64(i) {
				t.Fatalf("record %d at offset %d", i, r.Offset)
			}
			if requireKeys && r.Key == nil {
				t.Fatalf("record %d: null key accepted", i)
			}
		}
		// Re-encoding what was decoded gives a batch that validates too.
		enc, err := Encode(EncodeOptions{BaseOffset: h.BaseOffset, Codec: h.Codec(), ProducerID: -1, BaseSequence: -1}, recs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := Validate(enc, 0, requireKeys); err != nil {
			t.Fatalf("re-encoded batch fails: %v", err)
		}
	})
}

// FuzzSplit checks that Split never panics and that the batches it returns
// tile its input exactly.
func FuzzSplit(f *testing.F) {
	seeds := fuzzSeeds(f)
	f.Add(bytes.Join(seeds, nil))
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, records []byte) {
		batches, err := Split(records)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		if joined := bytes.Join(batches, nil); !bytes.Equal(joined, records) {
			t.Fatal("batches do not tile the input")
		}
		for i, b := range batches {
			if len(b) < HeaderSize || cap(b) != len(b) {
				t.Fatalf("batch %d: len %d cap %d", i, len(b), cap(b))
			}
			if h, err := ParseHeader(b); err == nil && h.Size() != len(b) {
				t.Fatalf("batch %d: header size %d, slice %d", i, h.Size(), len(b))
			}
		}
	})
}
