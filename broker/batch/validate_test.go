package batch

import (
	"bytes"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handBuilt is a batch of two uncompressed records written out byte by byte
// from the format description, independently of Encode.
func handBuilt() []byte {
	b := []byte{
		0, 0, 0, 0, 0, 0, 0, 100, // baseOffset 100
		0, 0, 0, 69, // batchLength: 49 + 20 record bytes
		0xff, 0xff, 0xff, 0xff, // partitionLeaderEpoch -1
		2,          // magic
		0, 0, 0, 0, // crc, filled below
		0, 0, // attributes: no codec, CreateTime
		0, 0, 0, 1, // lastOffsetDelta
		0, 0, 0, 0, 0, 0, 0x03, 0xe8, // baseTimestamp 1000
		0, 0, 0, 0, 0, 0, 0x03, 0xed, // maxTimestamp 1005
		0, 0, 0, 0, 0, 0, 0, 7, // producerId 7
		0, 2, // producerEpoch 2
		0, 0, 0, 10, // baseSequence 10
		0, 0, 0, 2, // recordsCount 2
		// record 0: length 12, attrs, tsDelta 0, offsetDelta 0, key "k",
		// value "v", 1 header "h"="x"
		0x18, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0x02, 0x02, 'h', 0x02, 'x',
		// record 1: length 6, attrs, tsDelta 5, offsetDelta 1, null key,
		// null value, no headers
		0x0c, 0, 0x0a, 0x02, 0x01, 0x01, 0,
	}
	return fixCRC(b)
}

func TestHandBuiltBatch(t *testing.T) {
	b := handBuilt()
	h, err := Validate(b, 0, false)
	require.NoError(t, err)
	assert.Equal(t, Header{
		BaseOffset: 100, Length: 69, LeaderEpoch: -1, Magic: 2, CRC: binary.BigEndian.Uint32(b[17:]),
		LastOffsetDelta: 1, BaseTimestamp: 1000, MaxTimestamp: 1005,
		ProducerID: 7, ProducerEpoch: 2, BaseSequence: 10, NumRecords: 2,
	}, h)

	recs, err := Records(b)
	require.NoError(t, err)
	want := []Record{
		{Offset: 100, Timestamp: 1000, Key: []byte("k"), Value: []byte("v"),
			Headers: []RecordHeader{{Key: "h", Value: []byte("x")}}},
		{Offset: 101, Timestamp: 1005},
	}
	assert.Equal(t, want, recs)

	enc, err := Encode(EncodeOptions{BaseOffset: 100, ProducerID: 7, ProducerEpoch: 2, BaseSequence: 10}, want)
	require.NoError(t, err)
	assert.Equal(t, b, enc, "Encode writes the same bytes")
}

func TestRoundTrip(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			in := sampleRecords()
			opts := EncodeOptions{BaseOffset: 500, Codec: c, ProducerID: 12, ProducerEpoch: 1, BaseSequence: 0}
			b := encode(t, opts, in)
			orig := bytes.Clone(b)

			h, err := Validate(b, 0, false)
			require.NoError(t, err)
			assert.Equal(t, b, orig, "Validate leaves the bytes alone")
			assert.Equal(t, c, h.Codec())
			assert.Equal(t, int32(len(in)), h.NumRecords)
			assert.Equal(t, in[0].Timestamp, h.BaseTimestamp)
			assert.Equal(t, in[3].Timestamp, h.MaxTimestamp)

			got, err := Records(b)
			require.NoError(t, err)
			assert.Equal(t, withOffsets(in, 500), got)
		})
	}
}

// TestKgoEncoded checks batches built the way franz-go's producer builds them
// (kmsg records, kgo's compressors; raw-block snappy).
func TestKgoEncoded(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			in := sampleRecords()
			b := kgoBatch(t, c, in)
			// sampleRecords has a null key: requireKeys must refuse it.
			_, err := Validate(b, 0, true)
			require.ErrorIs(t, err, ErrInvalidRecord)
			assert.ErrorContains(t, err, "record 4: null key")

			h, err := Validate(b, 0, false)
			require.NoError(t, err)
			assert.Equal(t, int64(42), h.ProducerID)
			assert.Equal(t, int32(7+4), h.LastSequence())

			got, err := Records(b)
			require.NoError(t, err)
			assert.Equal(t, withOffsets(in, 0), got)
		})
	}
}

// TestDecodedByKgo checks that franz-go reads what Encode writes.
func TestDecodedByKgo(t *testing.T) {
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			in := sampleRecords()
			b := encode(t, EncodeOptions{BaseOffset: 3, Codec: c, ProducerID: 5, ProducerEpoch: 6,
				BaseSequence: 7, Transactional: true}, in)
			rb, recs := kgoDecode(t, b)
			assert.Equal(t, int64(3), rb.FirstOffset)
			assert.Equal(t, int16(c)|0x10, rb.Attributes)
			assert.Equal(t, int32(len(in)), rb.NumRecords)
			require.Len(t, recs, len(in))
			for i, kr := range recs {
				assert.Equal(t, int32(i), kr.OffsetDelta)
				assert.Equal(t, in[i].Timestamp-in[0].Timestamp, kr.TimestampDelta64)
				assert.Equal(t, in[i].Key, kr.Key)
				assert.Equal(t, in[i].Value, kr.Value)
				require.Len(t, kr.Headers, len(in[i].Headers))
				for j, h := range kr.Headers {
					assert.Equal(t, in[i].Headers[j].Key, h.Key)
					assert.Equal(t, in[i].Headers[j].Value, h.Value)
				}
			}
		})
	}
}

// xerialFrame frames data the way the Java client's SnappyOutputStream does,
// in chunks of chunk bytes.
func xerialFrame(data []byte, chunk int) []byte {
	out := []byte("\x82SNAPPY\x00")
	out = binary.BigEndian.AppendUint32(out, 1) // version
	out = binary.BigEndian.AppendUint32(out, 1) // compatible version
	for len(data) > 0 {
		n := min(chunk, len(data))
		block := snappy.Encode(nil, data[:n])
		out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
		out = append(out, block...)
		data = data[n:]
	}
	return out
}

func TestSnappyFramings(t *testing.T) {
	in := sampleRecords()
	raw := kgoRecords(in)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"xerial 32 KiB chunks", xerialFrame(raw, 32<<10)},
		{"xerial 100-byte chunks", xerialFrame(raw, 100)},
		{"xerial one chunk", xerialFrame(raw, len(raw))},
		{"raw block", snappy.Encode(nil, raw)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := wrap(CodecSnappy, int32(len(in)), tt.payload)
			_, err := Validate(b, 0, false)
			require.NoError(t, err)
			got, err := Records(b)
			require.NoError(t, err)
			require.Len(t, got, len(in))
			for i := range in {
				assert.Equal(t, in[i].Key, got[i].Key)
				assert.Equal(t, in[i].Value, got[i].Value)
				assert.Equal(t, in[i].Headers, got[i].Headers)
			}
		})
	}
}

func TestValidateConcurrent(t *testing.T) {
	var batches [][]byte
	for _, c := range allCodecs {
		batches = append(batches, encode(t, noProducer(c), sampleRecords()[:3]))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				b := batches[(g+i)%len(batches)]
				_, err := Validate(b, 0, false)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
}

func TestEncodeErrors(t *testing.T) {
	_, err := Encode(noProducer(CodecNone), nil)
	require.ErrorIs(t, err, ErrInvalidRecord)
	_, err = Encode(noProducer(Codec(5)), []Record{{}})
	require.ErrorIs(t, err, ErrUnsupportedCodec)
}

func TestEncodeControlBatch(t *testing.T) {
	// A commit marker: key version 0, type 1; value version 0, epoch 4.
	b := encode(t, EncodeOptions{BaseOffset: 9, ProducerID: 1, ProducerEpoch: 4, BaseSequence: -1,
		Transactional: true, Control: true},
		[]Record{{Timestamp: 5, Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 4}}})
	_, err := Validate(b, 0, false)
	require.ErrorIs(t, err, ErrInvalidRecord, "clients may not send control batches")
	recs, err := Records(b)
	require.NoError(t, err, "but the broker can read its own")
	require.Len(t, recs, 1)
	assert.Equal(t, int64(9), recs[0].Offset)
	h, err := ParseHeader(b)
	require.NoError(t, err)
	assert.True(t, h.Control())
	assert.True(t, h.Transactional())
}
