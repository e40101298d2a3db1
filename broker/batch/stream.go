package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// MaxDecompressedSize is the most a batch's records may decompress to. Kafka
// has no such limit, but a broker that decompresses every produced batch
// needs one: a megabyte of gzip can expand to a gigabyte. A batch over it is
// rejected with ErrTooLarge.
const MaxDecompressedSize = 256 << 20

// maxDecompressed is MaxDecompressedSize, lowered by tests.
var maxDecompressed int64 = MaxDecompressedSize

// streamBufSize is the read buffer for decompressed data: large enough that
// refills are rare, small enough to pool freely.
const streamBufSize = 32 << 10

// maxVarintLen is the longest varint a record may hold (a varlong).
const maxVarintLen = binary.MaxVarintLen64

// errEndOfData reports that the records ran out: a structural problem with
// the records, not with the compression.
var errEndOfData = errors.New("unexpected end of records")

// stream reads the records of a batch, either straight from memory (src nil,
// buf all the records) or from a decompressor through buf. It is a concrete
// type, not an interface, so that reading a varint costs no dynamic call.
type stream struct {
	buf  []byte    // buf[pos:] is unread; for a reader, buf's backing array is scratch
	pos  int       // read position in buf
	base int64     // bytes consumed before buf[0]
	src  io.Reader // nil when buf holds everything
	eof  bool      // src returned io.EOF
	err  error     // sticky: src failed (wraps ErrCorrupt) or grew too large (ErrTooLarge)
	// scratch is the buffer src is read into; pulled counts bytes read
	// from src, checked against maxDecompressed.
	scratch []byte
	pulled  int64
}

// fromBytes makes s read from b in memory.
func (s *stream) fromBytes(b []byte) { *s = stream{buf: b} }

// fromReader makes s read from r through scratch.
func (s *stream) fromReader(r io.Reader, scratch []byte) {
	*s = stream{buf: scratch[:0], src: r, scratch: scratch}
}

// offset returns the number of bytes consumed so far.
func (s *stream) offset() int64 { return s.base + int64(s.pos) }

// avail returns the number of buffered unread bytes.
func (s *stream) avail() int { return len(s.buf) - s.pos }

// fill tries to buffer at least need bytes (need <= len(scratch)) and reports
// whether it did. It returns false at the end of the data or on an error
// from src, which it records in s.err.
func (s *stream) fill(need int) bool {
	if s.avail() >= need {
		return true
	}
	if s.src == nil || s.eof || s.err != nil {
		return false
	}
	// Move the unread tail to the front, then read as much as fits.
	n := copy(s.scratch, s.buf[s.pos:])
	s.base += int64(s.pos)
	s.pos = 0
	for empty := 0; n < need; {
		m, err := s.src.Read(s.scratch[n:])
		n += m
		s.pulled += int64(m)
		if m == 0 && err == nil {
			if empty++; empty == 100 {
				err = io.ErrNoProgress
			}
		}
		if s.pulled > maxDecompressed {
			s.err = fmt.Errorf("records decompress to more than %d bytes: %w", maxDecompressed, ErrTooLarge)
			break
		}
		if err == io.EOF {
			s.eof = true
			break
		}
		if err != nil {
			s.err = decompressError(err)
			break
		}
	}
	s.buf = s.scratch[:n]
	return n >= need
}

// decompressError wraps an error from a decompressor: ErrTooLarge when the
// data would outgrow a limit, ErrCorrupt otherwise.
func decompressError(err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		return fmt.Errorf("decompress records: %v: %w", err, ErrTooLarge)
	}
	return fmt.Errorf("decompress records: %v: %w", err, ErrCorrupt)
}

// fail returns the error to report when a read came up short: the
// decompressor's error if there was one, else errEndOfData.
func (s *stream) fail() error {
	if s.err != nil {
		return s.err
	}
	return errEndOfData
}

// varint reads one zig-zag varint.
func (s *stream) varint() (int64, error) {
	if s.avail() < maxVarintLen {
		s.fill(maxVarintLen)
	}
	v, n := binary.Varint(s.buf[s.pos:])
	if n <= 0 {
		if n == 0 {
			return 0, s.fail()
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	s.pos += n
	return v, nil
}

// varint32 reads one zig-zag varint that must fit an int32.
func (s *stream) varint32() (int32, error) {
	v, err := s.varint()
	if err != nil {
		return 0, err
	}
	if v != int64(int32(v)) {
		return 0, fmt.Errorf("varint %d overflows 32 bits", v)
	}
	return int32(v), nil
}

// byte1 reads one byte.
func (s *stream) byte1() (byte, error) {
	if !s.fill(1) {
		return 0, s.fail()
	}
	c := s.buf[s.pos]
	s.pos++
	return c, nil
}

// skip discards n >= 0 bytes.
func (s *stream) skip(n int) error {
	for {
		k := min(n, s.avail())
		s.pos += k
		n -= k
		if n == 0 {
			return nil
		}
		if !s.fill(1) {
			return s.fail()
		}
	}
}

// read returns the next n >= 0 bytes in a new slice. The slice grows as data
// arrives, so a length that claims more than the data holds costs no more
// memory than the data.
func (s *stream) read(n int) ([]byte, error) {
	out := make([]byte, 0, min(n, max(s.avail(), streamBufSize)))
	for {
		k := min(n-len(out), s.avail())
		out = append(out, s.buf[s.pos:s.pos+k]...)
		s.pos += k
		if len(out) == n {
			return out, nil
		}
		if !s.fill(1) {
			return nil, s.fail()
		}
	}
}

// atEnd reports whether all data has been read, reading ahead to be sure.
// For a decompressor this also makes it check its trailing checksum.
func (s *stream) atEnd() (bool, error) {
	if s.fill(1) {
		return false, nil
	}
	return s.err == nil, s.err
}
