package batch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// HeaderSize is the size of a RecordBatch v2 header: the records start at
// this offset.
const HeaderSize = 61

// Byte offsets of the header fields (see the package doc).
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57

	// lengthPrefix is the part of the batch that batchLength does not
	// count: baseOffset and batchLength themselves.
	lengthPrefix = 12
	// minLength is the smallest sane batchLength: a header with no records.
	minLength = HeaderSize - lengthPrefix
)

// Attribute bits.
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

// magicV2 is the only batch format version this package handles.
const magicV2 = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Codec is a compression codec, attributes bits 0-2.
type Codec int8

// The codecs Kafka defines. Values 5-7 are unassigned.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

// String returns the codec's name as Kafka's compression.type spells it
// ("none", "gzip", "snappy", "lz4", "zstd"), or "codec(N)" for an unknown one.
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// known reports whether c is one of the five codecs Kafka defines.
func (c Codec) known() bool { return c >= CodecNone && c <= CodecZstd }

// Header is a decoded RecordBatch v2 header. Fields are in wire order.
type Header struct {
	BaseOffset      int64
	Length          int32 // batchLength: bytes after this field
	LeaderEpoch     int32
	Magic           int8
	CRC             uint32
	Attributes      int16
	LastOffsetDelta int32
	BaseTimestamp   int64
	MaxTimestamp    int64
	ProducerID      int64
	ProducerEpoch   int16
	BaseSequence    int32
	NumRecords      int32
}

// ParseHeader decodes the header at the start of b, which must hold at least
// HeaderSize bytes (the rest of the batch need not be there). It checks that
// the magic is 2 and the length covers at least a header, but not the CRC:
// see CheckCRC and Validate. Errors wrap ErrCorrupt.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("parse batch header: %d bytes, want at least %d: %w", len(b), HeaderSize, ErrCorrupt)
	}
	h := decodeHeader(b)
	if h.Magic != magicV2 {
		return h, fmt.Errorf("parse batch header: magic %d, want %d: %w", h.Magic, magicV2, ErrCorrupt)
	}
	if h.Length < minLength {
		return h, fmt.Errorf("parse batch header: batch length %d, want at least %d: %w", h.Length, minLength, ErrCorrupt)
	}
	return h, nil
}

// decodeHeader reads the header fields without checking them; b must hold
// HeaderSize bytes.
func decodeHeader(b []byte) Header {
	be := binary.BigEndian
	_ = b[HeaderSize-1]
	return Header{
		BaseOffset:      int64(be.Uint64(b[offBaseOffset:])),
		Length:          int32(be.Uint32(b[offLength:])),
		LeaderEpoch:     int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:           int8(b[offMagic]),
		CRC:             be.Uint32(b[offCRC:]),
		Attributes:      int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta: int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:   int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:    int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:      int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:   int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:    int32(be.Uint32(b[offBaseSequence:])),
		NumRecords:      int32(be.Uint32(b[offNumRecords:])),
	}
}

// Size returns the total size of the batch in bytes, 12 + Length.
func (h Header) Size() int { return lengthPrefix + int(h.Length) }

// LastOffset returns the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Codec returns the compression codec of the records.
func (h Header) Codec() Codec { return Codec(h.Attributes & attrCodecMask) }

// LogAppendTime reports whether the timestamps are the broker's append time
// (MaxTimestamp) rather than the producer's create times.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// Transactional reports whether the batch is part of a transaction.
func (h Header) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports whether the batch holds a control record (a transaction
// marker) rather than data.
func (h Header) Control() bool { return h.Attributes&attrControl != 0 }

// LastSequence returns the sequence number of the batch's last record:
// BaseSequence + LastOffsetDelta, wrapping past math.MaxInt32 to 0 as Kafka
// does, or -1 when the batch has no sequence (BaseSequence -1).
func (h Header) LastSequence() int32 {
	if h.BaseSequence == -1 {
		return -1
	}
	seq := int64(h.BaseSequence) + int64(h.LastOffsetDelta)
	if seq > math.MaxInt32 {
		// Kafka's DefaultRecordBatch.incrementSequence wraps to 0.
		seq -= math.MaxInt32 + 1
	}
	return int32(seq)
}

// CheckCRC recomputes the CRC-32C of b, which must be exactly one batch, and
// compares it with the one in the header. Errors wrap ErrCorrupt.
func CheckCRC(b []byte) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("check batch crc: %d bytes, want at least %d: %w", len(b), HeaderSize, ErrCorrupt)
	}
	want := binary.BigEndian.Uint32(b[offCRC:])
	if got := crc32.Checksum(b[offAttributes:], castagnoli); got != want {
		return fmt.Errorf("check batch crc: computed %#08x, header says %#08x: %w", got, want, ErrCorrupt)
	}
	return nil
}

// SetBaseOffset stamps the base offset into the batch b in place. The CRC does
// not cover it, so the batch stays valid. b must hold at least a header.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetLeaderEpoch stamps the partition leader epoch into the batch b in place.
// The CRC does not cover it. b must hold at least a header.
func SetLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch b, exactly one whole batch, as using
// LogAppendTime with ts as its timestamp: it sets attribute bit 3 and
// MaxTimestamp, then recomputes the CRC. Like Kafka's setMaxTimestamp it
// leaves b untouched when both already hold those values.
func SetLogAppendTime(b []byte, ts int64) {
	be := binary.BigEndian
	attrs := be.Uint16(b[offAttributes:])
	if attrs&attrLogAppendTime != 0 && int64(be.Uint64(b[offMaxTimestamp:])) == ts {
		return
	}
	be.PutUint16(b[offAttributes:], attrs|attrLogAppendTime)
	be.PutUint64(b[offMaxTimestamp:], uint64(ts))
	be.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// Split cuts a Produce request's records field, a concatenation of batches,
// into whole batches, each a subslice of records (with its capacity capped, so
// appending to one cannot overwrite the next). It reads only the length
// prefix of each: Validate checks the rest. A trailing partial batch or a
// batch length shorter than a header wraps ErrCorrupt. Empty records gives
// no batches and no error.
func Split(records []byte) ([][]byte, error) {
	var out [][]byte
	for at := 0; at < len(records); {
		rest := records[at:]
		if len(rest) < lengthPrefix {
			return nil, fmt.Errorf("split batches: %d trailing bytes at %d, too short for a batch: %w", len(rest), at, ErrCorrupt)
		}
		length := int32(binary.BigEndian.Uint32(rest[offLength:]))
		if length < minLength {
			return nil, fmt.Errorf("split batches: batch at %d: length %d, want at least %d: %w", at, length, minLength, ErrCorrupt)
		}
		size := lengthPrefix + int(length)
		if size > len(rest) {
			return nil, fmt.Errorf("split batches: batch at %d: %d bytes, only %d left: %w", at, size, len(rest), ErrCorrupt)
		}
		out = append(out, rest[:size:size])
		at += size
	}
	return out, nil
}
