package batch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// EncodeOptions are the batch-level fields Encode writes.
type EncodeOptions struct {
	BaseOffset    int64
	Codec         Codec
	ProducerID    int64 // -1 if none
	ProducerEpoch int16 // -1 if none
	BaseSequence  int32 // -1 if none
	Transactional bool
	Control       bool
	// KeepOffsets makes each record's Offset, minus BaseOffset, its offset
	// delta (records in increasing offset order, gaps allowed), and
	// LastOffsetDelta the batch's: log compaction rewrites a batch without
	// changing its offsets or its producer sequence range. Off, the deltas
	// are 0..n-1 and LastOffsetDelta is ignored.
	KeepOffsets     bool
	LastOffsetDelta int32
}

// xerialChunkSize is the uncompressed chunk size of xerial snappy, the Java
// client's block size.
const xerialChunkSize = 32 << 10

// Encode builds one RecordBatch v2 holding records, compressed with codec,
// with its CRC filled in and a leader epoch of -1. The records' Offset fields
// are ignored: offset deltas are 0..n-1 from opts.BaseOffset. Timestamp
// deltas are taken from the first record's timestamp, and MaxTimestamp is the
// largest record timestamp. Snappy is written in xerial framing, as the Java
// client does. It is used by tests and by the broker to write its own (for
// example control) batches. Errors: no records (ErrInvalidRecord), an unknown
// codec (ErrUnsupportedCodec), a batch over 2 GiB (ErrTooLarge).
func Encode(opts EncodeOptions, records []Record) ([]byte, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("encode batch: no records: %w", ErrInvalidRecord)
	}
	if !opts.Codec.known() {
		return nil, fmt.Errorf("encode batch: codec %d: %w", int8(opts.Codec), ErrUnsupportedCodec)
	}
	if len(records) > math.MaxInt32 {
		return nil, fmt.Errorf("encode batch: %d records: %w", len(records), ErrTooLarge)
	}
	baseTs := records[0].Timestamp
	maxTs := baseTs
	var body []byte
	for i := range records {
		r := &records[i]
		maxTs = max(maxTs, r.Timestamp)
		delta := i
		if opts.KeepOffsets {
			delta = int(r.Offset - opts.BaseOffset)
		}
		body = appendRecord(body, r, delta, r.Timestamp-baseTs)
	}
	lastDelta := uint32(len(records) - 1)
	if opts.KeepOffsets {
		lastDelta = uint32(opts.LastOffsetDelta)
	}
	body, err := compress(opts.Codec, body)
	if err != nil {
		return nil, fmt.Errorf("encode batch: compress %s: %w", opts.Codec, err)
	}
	if len(body) > math.MaxInt32-minLength {
		return nil, fmt.Errorf("encode batch: %d bytes of records: %w", len(body), ErrTooLarge)
	}

	attrs := uint16(opts.Codec)
	if opts.Transactional {
		attrs |= attrTransactional
	}
	if opts.Control {
		attrs |= attrControl
	}
	be := binary.BigEndian
	b := make([]byte, HeaderSize, HeaderSize+len(body))
	be.PutUint64(b[offBaseOffset:], uint64(opts.BaseOffset))
	be.PutUint32(b[offLength:], uint32(minLength+len(body)))
	be.PutUint32(b[offLeaderEpoch:], math.MaxUint32) // -1 until a leader stamps it
	b[offMagic] = magicV2
	be.PutUint16(b[offAttributes:], attrs)
	be.PutUint32(b[offLastOffsetDelta:], lastDelta)
	be.PutUint64(b[offBaseTimestamp:], uint64(baseTs))
	be.PutUint64(b[offMaxTimestamp:], uint64(maxTs))
	be.PutUint64(b[offProducerID:], uint64(opts.ProducerID))
	be.PutUint16(b[offProducerEpoch:], uint16(opts.ProducerEpoch))
	be.PutUint32(b[offBaseSequence:], uint32(opts.BaseSequence))
	be.PutUint32(b[offNumRecords:], uint32(len(records)))
	b = append(b, body...)
	be.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return b, nil
}

// appendRecord appends r, the record at offset delta delta, to dst.
func appendRecord(dst []byte, r *Record, delta int, tsDelta int64) []byte {
	size := 1 + varintLen(tsDelta) + varintLen(int64(delta)) +
		bytesLen(r.Key) + bytesLen(r.Value) + varintLen(int64(len(r.Headers)))
	for _, h := range r.Headers {
		size += varintLen(int64(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
	}
	dst = binary.AppendVarint(dst, int64(size))
	dst = append(dst, 0) // attributes
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, int64(delta))
	dst = appendBytes(dst, r.Key)
	dst = appendBytes(dst, r.Value)
	dst = binary.AppendVarint(dst, int64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendBytes(dst, h.Value)
	}
	return dst
}

// appendBytes appends a length-prefixed field, nil as length -1.
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// bytesLen is the encoded size of a length-prefixed field.
func bytesLen(b []byte) int {
	if b == nil {
		return 1
	}
	return varintLen(int64(len(b))) + len(b)
}

// varintLen is the encoded size of v as a zig-zag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for u >= 0x80 {
		u >>= 7
		n++
	}
	return n
}

// zstdEncoder is shared: EncodeAll is safe for concurrent use.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
})

// compress compresses the records section with c, a known codec.
func compress(c Codec, in []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch c {
	case CodecNone:
		return in, nil
	case CodecGzip:
		w := gzip.NewWriter(&buf)
		if _, err := w.Write(in); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case CodecSnappy:
		return appendXerial(nil, in), nil
	case CodecLZ4:
		w := lz4.NewWriter(&buf)
		if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb)); err != nil {
			return nil, err
		}
		if _, err := w.Write(in); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case CodecZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(in, nil), nil
	}
	return buf.Bytes(), nil
}

// appendXerial appends in to dst in xerial snappy framing: the header, then
// per chunk a big endian length and a raw snappy block.
func appendXerial(dst, in []byte) []byte {
	dst = append(dst, xerialMagic...)
	dst = binary.BigEndian.AppendUint32(dst, 1) // version
	dst = binary.BigEndian.AppendUint32(dst, 1) // minimum compatible version
	for len(in) > 0 {
		n := min(len(in), xerialChunkSize)
		block := snappy.Encode(nil, in[:n])
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(block)))
		dst = append(dst, block...)
		in = in[n:]
	}
	return dst
}
