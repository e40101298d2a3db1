package batch

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// allCodecs lists every codec, for table tests.
var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// kgoCodecs maps our codecs to franz-go's.
var kgoCodecs = map[Codec]kgo.CompressionCodec{
	CodecGzip:   kgo.GzipCompression(),
	CodecSnappy: kgo.SnappyCompression(),
	CodecLZ4:    kgo.Lz4Compression(),
	CodecZstd:   kgo.ZstdCompression(),
}

// noProducer is EncodeOptions for a plain (not idempotent) producer.
func noProducer(c Codec) EncodeOptions {
	return EncodeOptions{Codec: c, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
}

// sampleRecords covers keys, null and empty keys and values, headers (with a
// null header value), out-of-order timestamps and a 1 MB value.
func sampleRecords() []Record {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	return []Record{
		{Timestamp: 1_700_000_000_000, Key: []byte("k0"), Value: []byte("v0")},
		{Timestamp: 1_700_000_000_005, Key: []byte("k1"), Value: nil},
		{Timestamp: 1_699_999_999_990, Key: []byte{}, Value: []byte{}, Headers: []RecordHeader{
			{Key: "trace", Value: []byte("abc")},
			{Key: "null", Value: nil},
			{Key: "", Value: []byte{}},
		}},
		{Timestamp: 1_700_000_000_100, Key: []byte("big"), Value: big},
		{Timestamp: 1_700_000_000_050, Key: nil, Value: []byte("no key")},
	}
}

// withOffsets returns recs with Offset set as a batch at base gives them.
func withOffsets(recs []Record, base int64) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		r.Offset = base + int64(i)
		out[i] = r
	}
	return out
}

// encode is Encode that fails the test on error.
func encode(t testing.TB, opts EncodeOptions, recs []Record) []byte {
	t.Helper()
	b, err := Encode(opts, recs)
	require.NoError(t, err)
	return b
}

// fixCRC recomputes b's CRC, computed independently of the package.
func fixCRC(b []byte) []byte {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// mutate returns a copy of b changed by fn, with the CRC fixed afterwards.
func mutate(b []byte, fn func(b []byte)) []byte {
	c := bytes.Clone(b)
	fn(c)
	return fixCRC(c)
}

// wrap builds a batch around a records payload (already compressed with
// codec) holding n records, through franz-go's kmsg, with a valid CRC.
func wrap(codec Codec, n int32, payload []byte) []byte {
	rb := kmsg.RecordBatch{
		FirstOffset:          0,
		Length:               int32(49 + len(payload)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(codec),
		LastOffsetDelta:      n - 1,
		FirstTimestamp:       1000,
		MaxTimestamp:         1000,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           n,
		Records:              payload,
	}
	return fixCRC(rb.AppendTo(nil))
}

// kgoRecords encodes recs as franz-go's kmsg does, offset deltas 0..n-1.
func kgoRecords(recs []Record) []byte {
	var body []byte
	for i, r := range recs {
		kr := kmsg.Record{
			TimestampDelta64: r.Timestamp - recs[0].Timestamp,
			OffsetDelta:      int32(i),
			Key:              r.Key,
			Value:            r.Value,
		}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // a Length of 0 takes one byte
		body = kr.AppendTo(body)
	}
	return body
}

// kgoBatch builds a batch of recs the way franz-go's producer does: kmsg
// record encoding, kgo's default compressor, a kmsg batch header.
func kgoBatch(t testing.TB, c Codec, recs []Record) []byte {
	t.Helper()
	payload := kgoRecords(recs)
	codec := c
	if c != CodecNone {
		comp, err := kgo.DefaultCompressor(kgoCodecs[c])
		require.NoError(t, err)
		out, used := comp.Compress(new(bytes.Buffer), payload)
		payload, codec = bytes.Clone(out), Codec(used)
	}
	require.Equal(t, c, codec, "kgo compressed with another codec")
	maxTs := recs[0].Timestamp
	for _, r := range recs {
		maxTs = max(maxTs, r.Timestamp)
	}
	rb := kmsg.RecordBatch{
		Length:               int32(49 + len(payload)),
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(codec),
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       recs[0].Timestamp,
		MaxTimestamp:         maxTs,
		ProducerID:           42,
		ProducerEpoch:        3,
		FirstSequence:        7,
		NumRecords:           int32(len(recs)),
		Records:              payload,
	}
	return fixCRC(rb.AppendTo(nil))
}

// kgoDecode reads b with franz-go: kmsg for the header and records, kgo's
// default decompressor for the payload.
func kgoDecode(t testing.TB, b []byte) (kmsg.RecordBatch, []kmsg.Record) {
	t.Helper()
	var rb kmsg.RecordBatch
	require.NoError(t, rb.ReadFrom(b))
	payload, err := kgo.DefaultDecompressor().Decompress(rb.Records, kgo.CompressionCodecType(rb.Attributes&7))
	require.NoError(t, err)
	var recs []kmsg.Record
	for len(payload) > 0 {
		length, n := binary.Varint(payload)
		require.Positive(t, n)
		size := n + int(length)
		var kr kmsg.Record
		require.NoError(t, kr.ReadFrom(payload[:size]))
		recs = append(recs, kr)
		payload = payload[size:]
	}
	return rb, recs
}

// withMaxDecompressed lowers the decompression cap for one test.
func withMaxDecompressed(t *testing.T, n int64) {
	old := maxDecompressed
	maxDecompressed = n
	t.Cleanup(func() { maxDecompressed = old })
}
