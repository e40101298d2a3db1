package s3

import (
	"fmt"
	"io"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// recordFormat is one format.class as it writes one view of the records
// (their values, keys or headers) into files.
type recordFormat interface {
	// extension is the file extension with its dot, before any ".gz"
	// the compression adds: ".json", ".avro", ".snappy.parquet", ".bin".
	extension() string
	// compressible reports whether s3.compression.type wraps the file's
	// stream (Confluent's JSON and ByteArray writers only).
	compressible() bool
	// newWriter starts a file on out for records of schema (nil when the
	// records are schemaless).
	newWriter(out io.Writer, schema *connect.Schema) (recordWriter, error)
}

// recordWriter writes the records of one file.
type recordWriter interface {
	// write appends one record's view; schema is the file's schema (the
	// caller rotates files on a schema change). A value the format cannot
	// write is a *badRecordError, returned before any byte of it was
	// written, so the file stays valid and the record can be reported;
	// any other error is the stream's.
	write(schema *connect.Schema, value any) error
	// close writes what ends the file (a footer, buffered rows); it does
	// not close the stream the writer writes to.
	close() error
}

// newViews returns the value view of format.class, then the sidecars of
// store.kafka.keys and store.kafka.headers.
func newViews(s *settings) ([]fileView, error) {
	f, err := newValueFormat(s)
	if err != nil {
		return nil, err
	}
	return []fileView{valueView(f)}, nil
}

// newValueFormat returns the format of format.class for record values.
func newValueFormat(s *settings) (recordFormat, error) {
	switch s.format {
	case ByteArrayFormatClass:
		return byteArrayFormat{ext: s.byteArrayExt, sep: s.separator}, nil
	case JSONFormatClass:
		return newJSONFormat(s)
	}
	return nil, fmt.Errorf("%s %s is %s", FormatClassConfig, s.format, notYet)
}

// jsonFormat is Confluent's JsonFormat: each value as the JsonConverter
// with schemas.enable=false writes it, then a line separator ("\n", as
// System.lineSeparator() on Linux).
type jsonFormat struct{ c *convert.JSONConverter }

func newJSONFormat(s *settings) (jsonFormat, error) {
	c := convert.NewJSONConverter()
	decimal := "BASE64"
	if s.decimalNumeric {
		decimal = "NUMERIC"
	}
	if err := c.Configure(map[string]string{"schemas.enable": "false", "decimal.format": decimal}, false); err != nil {
		return jsonFormat{}, fmt.Errorf("configure the JSON format: %w", err)
	}
	return jsonFormat{c: c}, nil
}

func (jsonFormat) extension() string  { return ".json" }
func (jsonFormat) compressible() bool { return true }

func (f jsonFormat) newWriter(out io.Writer, _ *connect.Schema) (recordWriter, error) {
	return &jsonWriter{c: f.c, out: out}, nil
}

type jsonWriter struct {
	c    *convert.JSONConverter
	out  io.Writer
	line []byte
}

func (w *jsonWriter) write(schema *connect.Schema, value any) error {
	b, err := w.c.FromConnect("", nil, schema, value)
	if err != nil {
		return &badRecordError{fmt.Errorf("JsonFormat cannot write the value: %w", err)}
	}
	w.line = append(append(w.line[:0], b...), '\n')
	_, err = w.out.Write(w.line)
	return err
}

func (w *jsonWriter) close() error { return nil }

// byteArrayFormat is Confluent's ByteArrayFormat: the value's bytes, then
// format.bytearray.separator after every record, the last included.
type byteArrayFormat struct {
	ext string
	sep []byte
}

func (f byteArrayFormat) extension() string { return f.ext }
func (byteArrayFormat) compressible() bool  { return true }

func (f byteArrayFormat) newWriter(out io.Writer, _ *connect.Schema) (recordWriter, error) {
	return &byteArrayWriter{sep: f.sep, out: out}, nil
}

type byteArrayWriter struct {
	sep  []byte
	out  io.Writer
	line []byte
}

func (w *byteArrayWriter) write(_ *connect.Schema, value any) error {
	b, ok := value.([]byte)
	if !ok {
		return &badRecordError{fmt.Errorf("ByteArrayFormat needs a BYTES value, got %T (use the ByteArrayConverter as value.converter)", value)}
	}
	w.line = append(append(w.line[:0], b...), w.sep...)
	_, err := w.out.Write(w.line)
	return err
}

func (w *byteArrayWriter) close() error { return nil }

// badRecordError is a record a format cannot write; the task reports it
// (errors.tolerance, DLQ) instead of failing.
type badRecordError struct{ err error }

func (e *badRecordError) Error() string { return e.err.Error() }
func (e *badRecordError) Unwrap() error { return e.err }
