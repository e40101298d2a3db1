package cluster

import (
	"encoding/binary"
	"fmt"
	"math"
)

// writer appends Kafka protocol primitives (the pre-KIP-482, non-flexible
// encoding Kafka's Struct uses for Connect messages).
type writer struct{ b []byte }

func (w *writer) int16(v int16) { w.b = binary.BigEndian.AppendUint16(w.b, uint16(v)) }
func (w *writer) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *writer) int64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }

// string writes s; a string longer than an int16 length can hold is cut
// (Kafka refuses to encode one; connector names that long cannot be
// assigned by either).
func (w *writer) string(s string) {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	w.int16(int16(len(s)))
	w.b = append(w.b, s...)
}

// bytes writes nullable bytes: nil is null.
func (w *writer) bytes(b []byte) {
	if b == nil {
		w.int32(-1)
		return
	}
	w.int32(int32(len(b)))
	w.b = append(w.b, b...)
}

// reader consumes Kafka protocol primitives. The first failure sticks:
// later reads return zero values and err keeps the first cause.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("read %s at byte %d: %s: %w", what, r.off, fmt.Sprintf(format, args...), ErrMalformed)
	}
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) take(what string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > r.left() {
		r.fail(what, "need %d bytes, %d left", n, r.left())
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) int16(what string) int16 {
	if p := r.take(what, 2); p != nil {
		return int16(binary.BigEndian.Uint16(p))
	}
	return 0
}

func (r *reader) int32(what string) int32 {
	if p := r.take(what, 4); p != nil {
		return int32(binary.BigEndian.Uint32(p))
	}
	return 0
}

func (r *reader) int64(what string) int64 {
	if p := r.take(what, 8); p != nil {
		return int64(binary.BigEndian.Uint64(p))
	}
	return 0
}

func (r *reader) string(what string) string {
	n := r.int16(what)
	if r.err != nil {
		return ""
	}
	if n < 0 {
		r.fail(what, "string length %d is negative", n)
		return ""
	}
	return string(r.take(what, int(n)))
}

// bytes reads nullable bytes; null is nil.
func (r *reader) bytes(what string) []byte {
	n := r.int32(what)
	if r.err != nil || n == -1 {
		return nil
	}
	if n < 0 {
		r.fail(what, "length %d is negative", n)
		return nil
	}
	p := r.take(what, int(n))
	if p == nil {
		return nil
	}
	return p
}

// arrayLen reads an array count; null (-1) is 0. A count that cannot fit
// in the bytes left, at minSize bytes an element, is an error, so a forged
// count never allocates.
func (r *reader) arrayLen(what string, minSize int) int {
	n := r.int32(what)
	if r.err != nil || n == -1 {
		return 0
	}
	if n < 0 {
		r.fail(what, "array length %d is negative", n)
		return 0
	}
	if int64(n)*int64(minSize) > int64(r.left()) {
		r.fail(what, "array of %d elements cannot fit in %d bytes", n, r.left())
		return 0
	}
	return int(n)
}
