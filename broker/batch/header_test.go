package batch

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCodecString(t *testing.T) {
	for c, want := range map[Codec]string{
		CodecNone: "none", CodecGzip: "gzip", CodecSnappy: "snappy",
		CodecLZ4: "lz4", CodecZstd: "zstd", Codec(6): "codec(6)",
	} {
		assert.Equal(t, want, c.String())
	}
}

func TestParseHeader(t *testing.T) {
	opts := EncodeOptions{BaseOffset: 100, Codec: CodecLZ4, ProducerID: 9, ProducerEpoch: 2,
		BaseSequence: 40, Transactional: true}
	b := encode(t, opts, []Record{{Timestamp: 10}, {Timestamp: 30}, {Timestamp: 20}})

	h, err := ParseHeader(b[:HeaderSize]) // the header alone is enough
	require.NoError(t, err)
	assert.Equal(t, int64(100), h.BaseOffset)
	assert.Equal(t, len(b), h.Size())
	assert.Equal(t, int32(-1), h.LeaderEpoch)
	assert.Equal(t, int8(2), h.Magic)
	assert.Equal(t, binary.BigEndian.Uint32(b[17:]), h.CRC)
	assert.Equal(t, int32(2), h.LastOffsetDelta)
	assert.Equal(t, int64(102), h.LastOffset())
	assert.Equal(t, int64(10), h.BaseTimestamp)
	assert.Equal(t, int64(30), h.MaxTimestamp)
	assert.Equal(t, int64(9), h.ProducerID)
	assert.Equal(t, int16(2), h.ProducerEpoch)
	assert.Equal(t, int32(40), h.BaseSequence)
	assert.Equal(t, int32(42), h.LastSequence())
	assert.Equal(t, int32(3), h.NumRecords)
	assert.Equal(t, CodecLZ4, h.Codec())
	assert.True(t, h.Transactional())
	assert.False(t, h.Control())
	assert.False(t, h.LogAppendTime())

	tests := []struct {
		name string
		b    []byte
		msg  string
	}{
		{"short", b[:HeaderSize-1], "60 bytes, want at least 61"},
		{"magic 1", mutate(b, func(b []byte) { b[16] = 1 }), "magic 1, want 2"},
		{"length below a header", mutate(b, func(b []byte) { binary.BigEndian.PutUint32(b[8:], 48) }), "batch length 48"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHeader(tt.b)
			require.ErrorIs(t, err, ErrCorrupt)
			assert.ErrorContains(t, err, tt.msg)
		})
	}
}

func TestHeaderAttributes(t *testing.T) {
	tests := []struct {
		attrs                               int16
		codec                               Codec
		logAppend, transactional, isControl bool
	}{
		{0x00, CodecNone, false, false, false},
		{0x04, CodecZstd, false, false, false},
		{0x09, CodecGzip, true, false, false},
		{0x12, CodecSnappy, false, true, false},
		{0x33, CodecLZ4, false, true, true},
		{0x7f, Codec(7), true, true, true},
	}
	for _, tt := range tests {
		h := Header{Attributes: tt.attrs}
		assert.Equal(t, tt.codec, h.Codec(), "attrs %#x", tt.attrs)
		assert.Equal(t, tt.logAppend, h.LogAppendTime(), "attrs %#x", tt.attrs)
		assert.Equal(t, tt.transactional, h.Transactional(), "attrs %#x", tt.attrs)
		assert.Equal(t, tt.isControl, h.Control(), "attrs %#x", tt.attrs)
	}
}

func TestLastSequence(t *testing.T) {
	tests := []struct {
		base, delta, want int32
	}{
		{-1, 0, -1},
		{-1, 9, -1},
		{0, 0, 0},
		{5, 4, 9},
		{math.MaxInt32, 0, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
		{math.MaxInt32 - 10, 10, math.MaxInt32},
		{math.MaxInt32 - 10, 11, 0},
	}
	for _, tt := range tests {
		h := Header{BaseSequence: tt.base, LastOffsetDelta: tt.delta}
		assert.Equal(t, tt.want, h.LastSequence(), "base %d delta %d", tt.base, tt.delta)
	}
}

func TestCheckCRC(t *testing.T) {
	b := encode(t, noProducer(CodecNone), sampleRecords()[:2])
	require.NoError(t, CheckCRC(b))

	for _, at := range []int{17, 21, 40, len(b) - 1} {
		bad := bytes.Clone(b)
		bad[at] ^= 0x01
		err := CheckCRC(bad)
		require.ErrorIs(t, err, ErrCorrupt, "flipped byte %d", at)
		assert.ErrorContains(t, err, "header says")
	}
	require.ErrorIs(t, CheckCRC(b[:20]), ErrCorrupt)
}

func TestSetBaseOffsetAndLeaderEpoch(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b := encode(t, noProducer(c), sampleRecords()[:3])
			SetBaseOffset(b, 1<<40)
			SetLeaderEpoch(b, 17)
			require.NoError(t, CheckCRC(b), "the CRC does not cover base offset and epoch")
			h, err := Validate(b, 0, false)
			require.NoError(t, err)
			assert.Equal(t, int64(1<<40), h.BaseOffset)
			assert.Equal(t, int32(17), h.LeaderEpoch)
			recs, err := Records(b)
			require.NoError(t, err)
			assert.Equal(t, int64(1<<40+2), recs[2].Offset)
		})
	}
}

func TestSetLogAppendTime(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b := encode(t, noProducer(c), sampleRecords()[:3])
			const now = 1_800_000_000_000
			SetLogAppendTime(b, now)
			require.NoError(t, CheckCRC(b))
			h, err := Validate(b, 0, false)
			require.NoError(t, err)
			assert.True(t, h.LogAppendTime())
			assert.Equal(t, c, h.Codec(), "the codec bits survive")
			assert.Equal(t, int64(now), h.MaxTimestamp)

			recs, err := Records(b)
			require.NoError(t, err)
			for _, r := range recs {
				assert.Equal(t, int64(now), r.Timestamp, "LogAppendTime applies to every record")
			}

			same := bytes.Clone(b)
			SetLogAppendTime(same, now)
			assert.Equal(t, b, same, "no change when already set")
			SetLogAppendTime(b, now+1)
			require.NoError(t, CheckCRC(b))
			assert.Equal(t, int64(now+1), int64(binary.BigEndian.Uint64(b[35:])))
		})
	}
}

func TestSplit(t *testing.T) {
	a := encode(t, noProducer(CodecNone), sampleRecords()[:1])
	b := encode(t, noProducer(CodecGzip), sampleRecords()[:3])
	c := encode(t, noProducer(CodecZstd), sampleRecords()[:2])
	all := bytes.Join([][]byte{a, b, c}, nil)

	t.Run("valid", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			in   []byte
			want [][]byte
		}{
			{"empty", nil, nil},
			{"one", a, [][]byte{a}},
			{"three", all, [][]byte{a, b, c}},
		} {
			got, err := Split(tt.in)
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.want, got, tt.name)
		}
	})

	t.Run("capacity capped", func(t *testing.T) {
		got, err := Split(all)
		require.NoError(t, err)
		require.Len(t, got, 3)
		_ = append(got[0], 0xff) // must not overwrite the second batch
		assert.Equal(t, b, got[1])
		assert.Equal(t, len(a), cap(got[0]))
	})

	tests := []struct {
		name string
		in   []byte
		msg  string
	}{
		{"partial prefix", all[:len(a)+5], "5 trailing bytes"},
		{"truncated last batch", all[:len(all)-1], "only"},
		{"length below a header", mutate(a, func(b []byte) { binary.BigEndian.PutUint32(b[8:], 10) }), "length 10"},
		{"negative length", mutate(a, func(b []byte) { binary.BigEndian.PutUint32(b[8:], 0xfffffff0) }), "length -16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.in)
			require.ErrorIs(t, err, ErrCorrupt)
			assert.ErrorContains(t, err, tt.msg)
		})
	}
}
