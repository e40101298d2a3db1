package httpsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// readBody reads r's body whole and decodes its Content-Encoding, each
// step bounded by limit bytes, so neither a large body nor a compression
// bomb takes more memory than limit. The error is an *Error: 413 naming
// max.request.bytes, 415 for an encoding it does not know, 400 for a
// body that does not decode.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit, "the body")
	}
	raw, err := readLimited(r.Body, limit, r.ContentLength)
	if err != nil {
		if errors.Is(err, errLimit) {
			return nil, tooLarge(limit, "the body")
		}
		return nil, &Error{Status: http.StatusBadRequest, Msg: "reading the request body: " + err.Error()}
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc == "" || enc == "identity" {
		return raw, nil
	}
	var rd io.Reader
	switch enc {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, badEncoding(enc, err)
		}
		defer zr.Close()
		rd = zr
	case "deflate", "zlib":
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, badEncoding(enc, err)
		}
		defer zr.Close()
		rd = zr
	case "zstd":
		// The decoded size is bounded by readLimited below; the window
		// (history the decoder keeps) by limit, but no lower than what
		// streaming encoders declare whatever the body's size (8 MiB:
		// Go's zstd writer, Vector), else their small bodies are refused.
		zr, err := zstd.NewReader(bytes.NewReader(raw), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(uint64(max(limit, zstdMinWindow))))
		if err != nil {
			return nil, badEncoding(enc, err)
		}
		defer zr.Close()
		rd = zr
	case "snappy":
		// Snappy's block format, as Loki's clients and Vector send it;
		// its header states the decoded length, checked before decoding.
		n, err := s2.DecodedLen(raw)
		if err != nil {
			return nil, badEncoding(enc, err)
		}
		if int64(n) > limit {
			return nil, tooLarge(limit, "the decompressed body")
		}
		out, err := s2.Decode(nil, raw)
		if err != nil {
			return nil, badEncoding(enc, err)
		}
		return out, nil
	default:
		return nil, &Error{Status: http.StatusUnsupportedMediaType,
			Msg: fmt.Sprintf("Content-Encoding %q is not supported (gzip, deflate, snappy, zstd are)", enc)}
	}
	out, err := readLimited(rd, limit, -1)
	if err != nil {
		if errors.Is(err, errLimit) {
			return nil, tooLarge(limit, "the decompressed body")
		}
		if errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge,
				Msg: fmt.Sprintf("the zstd window exceeds max.request.bytes (%d bytes) and 8 MiB", limit)}
		}
		return nil, badEncoding(enc, err)
	}
	return out, nil
}

var errLimit = errors.New("limit exceeded")

// zstdMinWindow is the zstd window always accepted: the 8 MiB the zstd
// format recommends every decoder to support.
const zstdMinWindow = 8 << 20

// readLimited reads rd whole, or fails with errLimit past limit bytes;
// size, when not negative, is how many bytes rd says it holds (a
// request's Content-Length), allocated at once.
func readLimited(rd io.Reader, limit, size int64) ([]byte, error) {
	var buf bytes.Buffer
	if size >= 0 && size <= limit {
		buf.Grow(int(size) + bytes.MinRead) // ReadFrom wants MinRead spare to see EOF without growing
	}
	n, err := buf.ReadFrom(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, errLimit
	}
	return buf.Bytes(), nil
}

func tooLarge(limit int64, what string) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Msg: fmt.Sprintf("%s exceeds max.request.bytes (%d bytes)", what, limit)}
}

func badEncoding(enc string, err error) *Error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf("the body is not valid %s: %v", enc, err)}
}
