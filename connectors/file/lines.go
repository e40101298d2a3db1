package file

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

const initialBufferSize = 64 << 10

// lineBuffer cuts lines out of a byte stream as Kafka's FileStreamSourceTask
// does: a line ends at "\n", "\r\n" or a lone "\r"; a "\r" that is the last
// byte read waits for the next byte to tell "\r\n" from "\r"; bytes after
// the last terminator wait for more input. pos counts bytes consumed from
// the stream, so it is the position just after the last returned line.
type lineBuffer struct {
	buf  []byte
	r, w int // unconsumed input is buf[r:w]
	pos  int64
}

// next returns the next complete line, or false when none is buffered.
func (b *lineBuffer) next() (string, bool) {
	data := b.buf[b.r:b.w]
	i := bytes.IndexAny(data, "\r\n")
	if i < 0 {
		return "", false
	}
	end := i + 1
	if data[i] == '\r' {
		if end == len(data) {
			return "", false
		}
		if data[end] == '\n' {
			end++
		}
	}
	line := string(data[:i])
	if !utf8.ValidString(line) {
		// Kafka decodes the file as UTF-8, replacing malformed input.
		line = strings.ToValidUTF8(line, "\uFFFD")
	}
	b.r += end
	b.pos += int64(end)
	return line, true
}

// fill reads once from rd into the buffer, compacting or growing it first
// so that a line longer than the buffer still fits. It returns the bytes
// read and rd's error.
func (b *lineBuffer) fill(rd io.Reader) (int, error) {
	if b.buf == nil {
		b.buf = make([]byte, initialBufferSize)
	}
	if b.r > 0 && (b.r == b.w || b.w == len(b.buf)) {
		b.w = copy(b.buf, b.buf[b.r:b.w])
		b.r = 0
	}
	if b.w == len(b.buf) {
		grown := make([]byte, 2*len(b.buf))
		copy(grown, b.buf[:b.w])
		b.buf = grown
	}
	n, err := rd.Read(b.buf[b.w:])
	b.w += n
	return n, err
}
