package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Decompressors are pooled: Validate runs on every produce, and a zstd
// decoder in particular is expensive to build. Each pooled value carries the
// bytes.Reader it reads from and the scratch buffer the stream reads into, so
// that opening a batch allocates nothing.

// zstdMaxWindow bounds the window a zstd frame may ask for, which is the
// memory a decoder holds. Kafka's highest zstd level (22) uses 128 MiB only
// for inputs far larger than a batch; levels up to 19 use at most 8 MiB.
const zstdMaxWindow = 64 << 20

// maxPooledBuf is the largest snappy output buffer put back in a pool, so a
// single huge batch does not pin its memory.
const maxPooledBuf = 4 << 20

type gzipDecoder struct {
	src     bytes.Reader
	zr      gzip.Reader
	scratch [streamBufSize]byte
}

type lz4Decoder struct {
	src     bytes.Reader
	zr      *lz4.Reader
	scratch [streamBufSize]byte
}

type zstdDecoder struct {
	src     bytes.Reader
	zr      *zstd.Decoder
	scratch [streamBufSize]byte
}

type snappyDecoder struct {
	block   []byte // a raw block's decoded output
	xr      xerialReader
	scratch [streamBufSize]byte
}

var (
	gzipPool = sync.Pool{New: func() any { return new(gzipDecoder) }}
	lz4Pool  = sync.Pool{New: func() any {
		return &lz4Decoder{zr: lz4.NewReader(nil)}
	}}
	zstdPool = sync.Pool{New: func() any {
		zr, err := zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(1), // stream synchronously, no goroutines
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdMaxWindow),
			zstd.WithDecoderMaxMemory(MaxDecompressedSize),
		)
		if err != nil {
			panic("batch: zstd decoder options: " + err.Error()) // constant options: a programming error
		}
		return &zstdDecoder{zr: zr}
	}}
	snappyPool = sync.Pool{New: func() any { return new(snappyDecoder) }}
)

// decoders holds the pooled decompressor one batch is read with, until
// release puts it back.
type decoders struct {
	gz *gzipDecoder
	lz *lz4Decoder
	zs *zstdDecoder
	sn *snappyDecoder
}

// open points s at the decompressed form of data, records compressed with c.
// Errors wrap ErrCorrupt, ErrTooLarge or ErrUnsupportedCodec. The caller must
// call release when done with s, error or not.
func (d *decoders) open(s *stream, c Codec, data []byte) error {
	switch c {
	case CodecNone:
		s.fromBytes(data)
	case CodecGzip:
		d.gz = gzipPool.Get().(*gzipDecoder)
		d.gz.src.Reset(data)
		if err := d.gz.zr.Reset(&d.gz.src); err != nil {
			return fmt.Errorf("open gzip records: %v: %w", err, ErrCorrupt)
		}
		s.fromReader(&d.gz.zr, d.gz.scratch[:])
	case CodecLZ4:
		d.lz = lz4Pool.Get().(*lz4Decoder)
		d.lz.src.Reset(data)
		d.lz.zr.Reset(&d.lz.src)
		s.fromReader(d.lz.zr, d.lz.scratch[:])
	case CodecZstd:
		d.zs = zstdPool.Get().(*zstdDecoder)
		d.zs.src.Reset(data)
		if err := d.zs.zr.Reset(&d.zs.src); err != nil {
			return fmt.Errorf("open zstd records: %v: %w", err, ErrCorrupt)
		}
		s.fromReader(d.zs.zr, d.zs.scratch[:])
	case CodecSnappy:
		d.sn = snappyPool.Get().(*snappyDecoder)
		return d.sn.open(s, data)
	default:
		return fmt.Errorf("attributes name codec %d: %w", int8(c), ErrUnsupportedCodec)
	}
	return nil
}

// release returns the decompressor to its pool, dropping its references to
// the batch.
func (d *decoders) release() {
	switch {
	case d.gz != nil:
		d.gz.src.Reset(nil)
		gzipPool.Put(d.gz)
	case d.lz != nil:
		d.lz.zr.Reset(nil)
		d.lz.src.Reset(nil)
		lz4Pool.Put(d.lz)
	case d.zs != nil:
		_ = d.zs.zr.Reset(nil) // only fails on a closed decoder
		d.zs.src.Reset(nil)
		zstdPool.Put(d.zs)
	case d.sn != nil:
		d.sn.xr = xerialReader{chunk: d.sn.xr.chunk[:0]}
		if cap(d.sn.block) > maxPooledBuf {
			d.sn.block = nil
		}
		if cap(d.sn.xr.chunk) > maxPooledBuf {
			d.sn.xr.chunk = nil
		}
		snappyPool.Put(d.sn)
	}
	*d = decoders{}
}

// xerialMagic opens snappy in xerial framing, the Java client's format.
var xerialMagic = []byte("\x82SNAPPY\x00")

// xerialHeaderSize is the magic, then int32 version and int32 minimum
// compatible version.
const xerialHeaderSize = 16

// open points s at the decompressed snappy data: a raw block is decoded
// whole (the format cannot be streamed), xerial chunks one at a time.
func (d *snappyDecoder) open(s *stream, data []byte) error {
	if bytes.HasPrefix(data, xerialMagic) {
		if len(data) < xerialHeaderSize {
			return fmt.Errorf("open snappy records: xerial header is %d bytes, want %d: %w", len(data), xerialHeaderSize, ErrCorrupt)
		}
		d.xr = xerialReader{rest: data[xerialHeaderSize:], chunk: d.xr.chunk[:0]}
		s.fromReader(&d.xr, d.scratch[:])
		return nil
	}
	n, err := snappy.DecodedLen(data)
	if err != nil {
		return fmt.Errorf("open snappy records: %v: %w", err, ErrCorrupt)
	}
	if int64(n) > maxDecompressed {
		return fmt.Errorf("open snappy records: block decodes to %d bytes, limit %d: %w", n, maxDecompressed, ErrTooLarge)
	}
	if cap(d.block) < n {
		d.block = make([]byte, n)
	}
	out, err := snappy.DecodeStrict(d.block[:n], data)
	if err != nil {
		return fmt.Errorf("open snappy records: %v: %w", err, ErrCorrupt)
	}
	s.fromBytes(out)
	return nil
}

// errXerial reports malformed xerial framing.
var errXerial = errors.New("malformed xerial snappy framing")

// xerialReader decodes xerial-framed snappy, a sequence of [int32 big endian
// length][raw snappy block] chunks, one chunk at a time. Like the Java and
// C++ decoders it uses strict snappy, so it accepts nothing that a consumer
// would fail on.
type xerialReader struct {
	rest    []byte // compressed chunks not yet decoded
	chunk   []byte // the current decoded chunk; chunk[pos:] unread
	pos     int
	claimed int64 // sum of the decoded lengths seen so far
}

// Read implements io.Reader.
func (x *xerialReader) Read(p []byte) (int, error) {
	for x.pos == len(x.chunk) {
		if len(x.rest) == 0 {
			return 0, io.EOF
		}
		if err := x.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, x.chunk[x.pos:])
	x.pos += n
	return n, nil
}

// next decodes the next chunk.
func (x *xerialReader) next() error {
	if len(x.rest) < 4 {
		return fmt.Errorf("%w: %d bytes left, too few for a chunk length", errXerial, len(x.rest))
	}
	size := binary.BigEndian.Uint32(x.rest)
	x.rest = x.rest[4:]
	if uint64(size) > uint64(len(x.rest)) {
		return fmt.Errorf("%w: chunk of %d bytes, %d left", errXerial, size, len(x.rest))
	}
	block := x.rest[:size]
	x.rest = x.rest[size:]
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return err
	}
	x.claimed += int64(n)
	if x.claimed > maxDecompressed {
		return fmt.Errorf("records decompress to more than %d bytes: %w", maxDecompressed, ErrTooLarge)
	}
	if cap(x.chunk) < n {
		x.chunk = make([]byte, n)
	}
	x.chunk, err = snappy.DecodeStrict(x.chunk[:n], block)
	x.pos = 0
	return err
}
