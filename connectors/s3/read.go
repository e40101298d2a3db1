package s3

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// recordReader yields the records of one object in order, streaming: it
// holds at most one record (or one Avro block, or one Parquet row group's
// pages) in memory, never the object.
type recordReader interface {
	// next returns the next record's schema and value, io.EOF after the
	// last one.
	next() (*connect.Schema, any, error)
	// pos is the byte position in the (uncompressed) object after the
	// last record returned, for the line formats; -1 for the others.
	pos() int64
	close() error
}

// store reads objects of one bucket.
type store struct {
	c      *s3.Client
	bucket string
	tr     *http.Transport // the client's, when it is ours to close
}

// close closes the client's idle connections.
func (st store) close() {
	if st.tr != nil {
		st.tr.CloseIdleConnections()
	}
}

// errNoObject marks a key the bucket does not hold.
var errNoObject = errors.New("no such object")

// transientError marks a failure to reach the store (a request that
// failed after the SDK's retries, a connection cut while reading a body):
// reading again later may succeed, unlike a record that does not decode.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// isTransient reports whether err is a transientError.
func isTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// taggedBody marks the errors of reading an object's body transient.
type taggedBody struct{ io.ReadCloser }

func (b taggedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = &transientError{err}
	}
	return n, err
}

// get opens key from byte from on (0: the whole object).
func (st store) get(ctx context.Context, key string, from int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(st.bucket), Key: aws.String(key)}
	if from > 0 {
		in.Range = aws.String("bytes=" + strconv.FormatInt(from, 10) + "-")
	}
	out, err := st.c.GetObject(ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) {
			switch api.ErrorCode() {
			case "NoSuchKey", "NotFound":
				return nil, fmt.Errorf("get s3://%s/%s: %w: %w", st.bucket, key, errNoObject, err)
			case "InvalidRange": // from is the object's size: nothing left
				return io.NopCloser(bytes.NewReader(nil)), nil
			}
		}
		return nil, &transientError{fmt.Errorf("get s3://%s/%s: %w", st.bucket, key, err)}
	}
	return taggedBody{out.Body}, nil
}

// readObject opens the object key of bucket in format f and returns its
// records, streamed. It is the entry point of every format's reader:
//
//	rr, err := readObject(ctx, store{c, bucket}, f, key)
//	for { schema, value, err := rr.next(); if err == io.EOF { break } … }
//
// JSON values come back schemaless, as the JsonConverter with
// schemas.enable=false reads them; ByteArray values as []byte with
// OPTIONAL_BYTES; Avro and Parquet values with the Connect schema derived
// from the file's schema.
func readObject(ctx context.Context, st store, f backupFormat, key string) (recordReader, error) {
	switch f.class {
	case AvroFormatClass:
		body, err := st.get(ctx, key, 0)
		if err != nil {
			return nil, err
		}
		return newAvroFileReader(body, key, f.maxRecord)
	case ParquetFormatClass:
		return newParquetFileReader(ctx, st, key)
	}
	return openLines(ctx, st, f, key, 0, false)
}

// openLines opens a JSON or ByteArray object at byte position from of its
// uncompressed bytes; whole makes one record of the whole object.
func openLines(ctx context.Context, st store, f backupFormat, key string, from int64, whole bool) (recordReader, error) {
	ranged := from
	if f.gzip {
		ranged = 0 // a gzip stream is read from its start, then skipped
	}
	body, err := st.get(ctx, key, ranged)
	if err != nil {
		return nil, err
	}
	var in io.Reader = body
	if f.gzip {
		gz, err := gzip.NewReader(body)
		if err != nil {
			body.Close()
			if errors.Is(err, io.EOF) { // an empty object
				return &lineReader{key: key, body: body, done: true, at: from}, nil
			}
			return nil, fmt.Errorf("read s3://%s/%s as gzip: %w", st.bucket, key, err)
		}
		if _, err := io.CopyN(io.Discard, gz, from); err != nil && !errors.Is(err, io.EOF) {
			body.Close()
			return nil, fmt.Errorf("read s3://%s/%s as gzip: %w", st.bucket, key, err)
		}
		in = gz
	}
	lr := &lineReader{key: key, body: body, at: from, max: f.maxRecord, sep: f.separator, whole: whole}
	if f.class == JSONFormatClass {
		lr.sep = []byte("\n")
		lr.json = convert.NewJSONConverter()
		if err := lr.json.Configure(map[string]string{"schemas.enable": "false"}, false); err != nil {
			body.Close()
			return nil, fmt.Errorf("configure the JSON reader: %w", err)
		}
	}
	lr.sc = bufio.NewScanner(readErrRecorder{in, lr})
	lr.sc.Buffer(make([]byte, 0, min(64<<10, f.maxRecord+len(lr.sep))), f.maxRecord+len(lr.sep))
	lr.sc.Split(lr.split)
	return lr, nil
}

// lineReader reads records separated by sep (JSON lines, ByteArray
// records), or one whole object.
type lineReader struct {
	key   string
	body  io.Closer
	sc    *bufio.Scanner
	sep   []byte
	max   int
	whole bool
	json  *convert.JSONConverter // nil: ByteArray
	at    int64                  // position after the last record returned
	taken int                    // bytes the last token consumed, separator included
	done  bool
	// readErr is the error reading the object stopped with, other than
	// its end: the bytes after the last separator are then no record.
	readErr error
}

// readErrRecorder keeps the error a read failed with, for split.
type readErrRecorder struct {
	r  io.Reader
	lr *lineReader
}

func (e readErrRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.lr.readErr = err
	}
	return n, err
}

// split cuts at sep; a last record without one ends at the end of the
// object.
func (lr *lineReader) split(data []byte, atEOF bool) (int, []byte, error) {
	if !lr.whole {
		if i := bytes.Index(data, lr.sep); i >= 0 {
			lr.taken = i + len(lr.sep)
			return i + len(lr.sep), data[:i], nil
		}
	}
	if atEOF && lr.readErr != nil {
		return 0, nil, lr.readErr // a cut read: the rest is no record
	}
	if atEOF && len(data) > 0 {
		lr.taken = len(data)
		return len(data), data, nil
	}
	return 0, nil, nil
}

func (lr *lineReader) next() (*connect.Schema, any, error) {
	if lr.done {
		return nil, nil, io.EOF
	}
	if !lr.sc.Scan() {
		lr.done = true
		if err := lr.sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return nil, nil, fmt.Errorf("object %s: a record at byte %d is longer than %s=%d", lr.key, lr.at, RecordMaxBytesConfig, lr.max)
			}
			return nil, nil, fmt.Errorf("read object %s: %w", lr.key, err)
		}
		return nil, nil, io.EOF
	}
	lr.at += int64(lr.taken)
	line := lr.sc.Bytes()
	if lr.json == nil {
		return connect.OptionalBytesSchema, bytes.Clone(line), nil
	}
	schema, v, err := lr.json.ToConnect("", nil, line)
	if err != nil {
		return nil, nil, fmt.Errorf("object %s: the JSON record ending at byte %d: %w", lr.key, lr.at, err)
	}
	return schema, v, nil
}

func (lr *lineReader) pos() int64 { return lr.at }

func (lr *lineReader) close() error { return lr.body.Close() }

// readBackup opens one object of a backup and returns its records, read
// as the source reads them: the entry point for tests that check what a
// sink wrote (a round trip). config is a source config or the config of
// the sink that wrote the object (their layout and connection keys are
// the same); the format is format.class's, or keys.format.class's and
// headers.format.class's for a .keys or .headers sidecar. done closes the
// reader and the client.
func readBackup(ctx context.Context, config map[string]string, key string) (rr recordReader, done func(), err error) {
	s, err := parseSourceSettings(config)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	f := s.value
	if bf, ok, _ := s.parseBackupKey(key); ok {
		switch bf.kind {
		case keysFile:
			f = s.keys
		case headersFile:
			f = s.heads
		}
	}
	if rr, err = readObject(ctx, st, f, key); err != nil {
		st.close()
		return nil, nil, err
	}
	return rr, func() { _ = rr.close(); st.close() }, nil
}
