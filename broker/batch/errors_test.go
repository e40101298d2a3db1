package batch

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kmsgRecord encodes one record with kmsg, its length field off by adj.
func kmsgRecord(kr kmsg.Record, adj int32) []byte {
	kr.Length = int32(len(kr.AppendTo(nil))-1) + adj
	return kr.AppendTo(nil)
}

// small returns n small keyed records encoded by kmsg, offset deltas 0..n-1.
func small(n int) []byte {
	var out []byte
	for i := range n {
		out = append(out, kmsgRecord(kmsg.Record{OffsetDelta: int32(i), Key: []byte("k"), Value: []byte("v")}, 0)...)
	}
	return out
}

func setU32(at int, v uint32) func([]byte) {
	return func(b []byte) { binary.BigEndian.PutUint32(b[at:], v) }
}

func TestValidateErrors(t *testing.T) {
	good := encode(t, noProducer(CodecNone), []Record{{Key: []byte("a")}, {Key: []byte("b")}, {Key: []byte("c")}})
	_, err := Validate(good, len(good), true)
	require.NoError(t, err, "the base batch is valid")

	type tc struct {
		name        string
		b           []byte
		maxBytes    int
		requireKeys bool
		want        error
		msg         string
	}
	tests := []tc{
		{name: "shorter than a header", b: good[:60], want: ErrCorrupt, msg: "60 bytes"},
		{name: "truncated", b: good[:len(good)-1], want: ErrCorrupt, msg: "have 84"},
		{name: "extra byte", b: append(bytes.Clone(good), 0), want: ErrCorrupt, msg: "have 86"},
		{name: "length field mismatch", b: mutate(good, setU32(8, 68)), want: ErrCorrupt, msg: "batch length 68 says 80 bytes, have 85"},
		{name: "negative length", b: mutate(good, setU32(8, 0xffffffff)), want: ErrCorrupt, msg: "batch length -1"},
		{name: "too large", b: good, maxBytes: len(good) - 1, want: ErrTooLarge, msg: "85 bytes, limit 84"},
		{name: "magic 1", b: mutate(good, func(b []byte) { b[16] = 1 }), want: ErrCorrupt, msg: "magic 1, want 2"},
		{name: "bad crc", b: func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(), want: ErrCorrupt, msg: "crc"},
		{name: "zero records", b: mutate(good, func(b []byte) { setU32(23, 0xffffffff)(b); setU32(57, 0)(b) }),
			want: ErrInvalidRecord, msg: "records count 0"},
		{name: "last offset delta mismatch", b: mutate(good, setU32(23, 5)), want: ErrInvalidRecord,
			msg: "last offset delta 5 with 3 records, want 2"},
		{name: "count above records", b: mutate(good, func(b []byte) { setU32(23, 3)(b); setU32(57, 4)(b) }),
			want: ErrInvalidRecord, msg: "found 3 records, header says 4"},
		{name: "count below records", b: mutate(good, func(b []byte) { setU32(23, 1)(b); setU32(57, 2)(b) }),
			want: ErrInvalidRecord, msg: "data after the last of 2 records"},
		{name: "control batch", b: encode(t, EncodeOptions{ProducerID: 1, BaseSequence: -1, Control: true}, []Record{{}}),
			want: ErrInvalidRecord, msg: "control batch"},
		{name: "producer id without sequence", b: encode(t, EncodeOptions{ProducerID: 5, BaseSequence: -1}, []Record{{}}),
			want: ErrInvalidRecord, msg: "producer id 5 with base sequence -1"},
		{name: "null key on compacted topic", b: encode(t, noProducer(CodecNone), []Record{{Key: []byte("a")}, {Value: []byte("x")}}),
			requireKeys: true, want: ErrInvalidRecord, msg: "record 1: null key"},
		{name: "unknown codec", b: mutate(good, func(b []byte) { b[22] = 5 }), want: ErrUnsupportedCodec, msg: "codec 5"},
	}

	// Records built by hand, each batch holding 3 records of which the
	// second or third is broken.
	rec := func(kr kmsg.Record, adj int32) []byte { return kmsgRecord(kr, adj) }
	ok0 := rec(kmsg.Record{OffsetDelta: 0, Key: []byte("k")}, 0)
	ok1 := rec(kmsg.Record{OffsetDelta: 1, Key: []byte("k")}, 0)
	records := []struct {
		name, msg string
		body      []byte
	}{
		{"offset delta wrong", "record 1: offset delta 5, want 1", bytes.Join([][]byte{ok0, rec(kmsg.Record{OffsetDelta: 5}, 0), ok1}, nil)},
		{"record length too long", "record 2: length 9, but its fields take 8 bytes",
			append(append(ok0, ok1...), rec(kmsg.Record{OffsetDelta: 2, Key: []byte("kk")}, 1)...)},
		{"record length too short", "record 2: fields run 1 bytes past its length 7",
			append(append(ok0, ok1...), rec(kmsg.Record{OffsetDelta: 2, Key: []byte("kk")}, -1)...)},
		{"negative record length", "record 2: length -1", append(append(ok0, ok1...), 0x01)},
		{"key length -2", "record 2: key length -2", append(append(ok0, ok1...), 0x0c, 0, 0, 4, 0x03, 0, 0, 0)},
		{"value length -5", "record 2: value length -5", append(append(ok0, ok1...), 0x0c, 0, 0, 4, 0x01, 0x09, 0)},
		{"negative header count", "record 2: header count -1", append(append(ok0, ok1...), 0x0c, 0, 0, 4, 0x01, 0x01, 0x01)},
		{"header count beyond record", "record 2: header count 50", append(append(ok0, ok1...), 0x0c, 0, 0, 4, 0x01, 0x01, 0x64)},
		{"null header key", "record 2: header 0 has a null key", append(append(ok0, ok1...), 0x10, 0, 0, 4, 0x01, 0x01, 0x02, 0x01, 0x01)},
		{"varint overflow", "record 2: read length", append(append(ok0, ok1...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{"offset delta over int32", "record 2: read offset delta", append(append(ok0, ok1...), 0x16, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x01, 0)},
		{"record cut short", "record 2: read value length", append(append(ok0, ok1...), 0x0a, 0, 0, 4, 0x01)},
	}
	for _, r := range records {
		tests = append(tests, tc{name: r.name, b: wrap(CodecNone, 3, r.body), want: ErrInvalidRecord, msg: r.msg})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.b)
			_, err := Validate(tt.b, tt.maxBytes, tt.requireKeys)
			require.ErrorIs(t, err, tt.want)
			assert.ErrorContains(t, err, tt.msg)
			assert.Equal(t, orig, tt.b, "Validate leaves the bytes alone")
		})
	}
}

func TestValidateCorruptCompression(t *testing.T) {
	recs := sampleRecords()
	for _, c := range allCodecs[1:] {
		b := encode(t, noProducer(c), recs)
		payload := b[HeaderSize:]
		tests := []struct {
			name string
			b    []byte
		}{
			{"truncated payload", wrap(c, int32(len(recs)), payload[:len(payload)/2])},
			{"bad frame start", wrap(c, int32(len(recs)), append([]byte{0, 1, 2, 3}, payload[4:]...))},
			{"bad trailing checksum", mutate(b, func(b []byte) { b[len(b)-1] ^= 0xff })},
			{"garbage", wrap(c, int32(len(recs)), bytes.Repeat([]byte{0xa5}, 100))},
		}
		for _, tt := range tests {
			if c == CodecSnappy && tt.name == "bad trailing checksum" {
				continue // snappy has no checksum
			}
			t.Run(c.String()+"/"+tt.name, func(t *testing.T) {
				_, err := Validate(tt.b, 0, false)
				require.ErrorIs(t, err, ErrCorrupt)
				_, err = Records(tt.b)
				require.ErrorIs(t, err, ErrCorrupt)
			})
		}
	}
	t.Run("snappy/raw block truncated", func(t *testing.T) {
		b := wrap(CodecSnappy, 3, snappy.Encode(nil, small(3))[:10])
		_, err := Validate(b, 0, false)
		require.ErrorIs(t, err, ErrCorrupt)
	})
	t.Run("snappy/xerial header cut", func(t *testing.T) {
		b := wrap(CodecSnappy, 3, []byte("\x82SNAPPY\x00\x00\x00"))
		_, err := Validate(b, 0, false)
		require.ErrorIs(t, err, ErrCorrupt)
		assert.ErrorContains(t, err, "xerial header")
	})
	t.Run("snappy/xerial chunk overruns", func(t *testing.T) {
		framed := xerialFrame(small(3), 1<<10)
		binary.BigEndian.PutUint32(framed[16:], 1000)
		_, err := Validate(wrap(CodecSnappy, 3, framed), 0, false)
		require.ErrorIs(t, err, ErrCorrupt)
	})
}

// TestZipBomb lowers the decompression cap and feeds each codec records
// that decompress past it.
func TestZipBomb(t *testing.T) {
	withMaxDecompressed(t, 64<<10)
	recs := []Record{{Key: []byte("k"), Value: make([]byte, 256<<10)}}
	for _, c := range allCodecs[1:] {
		t.Run(c.String(), func(t *testing.T) {
			b := encode(t, noProducer(c), recs)
			_, err := Validate(b, 0, false)
			require.ErrorIs(t, err, ErrTooLarge)
			assert.ErrorContains(t, err, "decompress")
		})
	}
	t.Run("snappy raw block", func(t *testing.T) {
		b := wrap(CodecSnappy, 1, snappy.Encode(nil, kgoRecords(recs)))
		_, err := Validate(b, 0, false)
		require.ErrorIs(t, err, ErrTooLarge)
		assert.ErrorContains(t, err, "block decodes to")
	})
	t.Run("uncompressed is not capped", func(t *testing.T) {
		_, err := Validate(encode(t, noProducer(CodecNone), recs), 0, false)
		require.NoError(t, err)
	})
}

// TestZipBombRealCap streams 300 MiB of zeros through zstd into a batch of a
// few hundred KiB and checks that Validate stops at MaxDecompressedSize
// without holding the data in memory.
func TestZipBombRealCap(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 256 MiB")
	}
	const n = 300
	value := make([]byte, 1<<20)
	var payload bytes.Buffer
	zw, err := zstd.NewWriter(&payload, zstd.WithEncoderLevel(zstd.SpeedFastest))
	require.NoError(t, err)
	for i := range n {
		_, err := zw.Write(kmsgRecord(kmsg.Record{OffsetDelta: int32(i), Value: value}, 0))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	b := wrap(CodecZstd, n, payload.Bytes())
	t.Logf("batch of %d bytes holds %d MiB", len(b), n)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = Validate(b, 0, false)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.ErrorContains(t, err, "more than 268435456 bytes")
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("Validate allocated %d KiB", allocated>>10)
	assert.Less(t, allocated, uint64(32<<20), "memory must not grow with the decompressed size")
}
