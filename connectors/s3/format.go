package s3

import (
	"fmt"
	"io"
	"strings"

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
	views := []fileView{valueView(f)}
	if s.storeKeys {
		kf, err := newFormat(s, s.keysFormat, KeysFormatClassConfig)
		if err != nil {
			return nil, err
		}
		views = append(views, keyView(kf, s.keysFormat == ParquetFormatClass))
	}
	if s.storeHeaders {
		hf, err := newFormat(s, s.headersFormat, HeadersFormatClassConfig)
		if err != nil {
			return nil, err
		}
		views = append(views, headerView(hf, s.headersFormat != AvroFormatClass, s.storeTimestamps))
	}
	return views, nil
}

// newValueFormat returns the format of format.class for record values.
func newValueFormat(s *settings) (recordFormat, error) {
	return newFormat(s, s.format, FormatClassConfig)
}

// newFormat returns the format of class, the value of key.
func newFormat(s *settings, class, key string) (recordFormat, error) {
	switch class {
	case ByteArrayFormatClass:
		return byteArrayFormat{ext: s.byteArrayExt, sep: s.separator}, nil
	case JSONFormatClass:
		return newJSONFormat(s)
	case AvroFormatClass:
		return newAvroFormat(s), nil
	case ParquetFormatClass:
		return newParquetFormat(s), nil
	}
	return nil, fmt.Errorf("%s %s is not a format class; use one of %s", key, class, formatValidator{})
}

// Keys of the formats and of the key and header sidecars.
const (
	AvroCodecConfig          = "avro.codec"
	ConnectMetaDataConfig    = "connect.meta.data"
	EnhancedAvroConfig       = "enhanced.avro.schema.support"
	SchemaCacheSizeConfig    = "schema.cache.size"
	OptionalMapKeysConfig    = "allow.optional.map.keys"
	ParquetCodecConfig       = "parquet.codec"
	StoreKeysConfig          = "store.kafka.keys"
	StoreHeadersConfig       = "store.kafka.headers"
	KeysFormatClassConfig    = "keys.format.class"
	HeadersFormatClassConfig = "headers.format.class"
	groupKeys                = "Keys and Headers"
)

// formatKeys are the keys of the Avro and Parquet formats and of the
// sidecars, with Confluent's types and defaults.
var formatKeys = connect.ConfigDef{
	{Name: AvroCodecConfig, Type: connect.ConfigString, Default: "null", Importance: connect.Low, Group: groupStore,
		Validator: avroCodecValidator{},
		Doc:       "Compression of the blocks of Avro files: null, deflate or snappy (bzip2, which Confluent also accepts, is refused: the Avro library here cannot write it)."},
	{Name: ConnectMetaDataConfig, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupStore,
		Doc: "Whether the Avro schemas of Avro files (and of Parquet footers) carry the connect.* properties (connect.name, connect.version, connect.parameters, connect.doc, connect.default, connect.type) that let a reader restore the Connect schema."},
	{Name: EnhancedAvroConfig, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupStore,
		Doc: "Confluent's enhanced Avro schema support: Connect strings that came from Avro enums are written as Avro enums. With true a record holding such a string is reported as a bad record (enums are not implemented yet); false writes them as strings."},
	{Name: SchemaCacheSizeConfig, Type: connect.ConfigInt, Default: 1000, Importance: connect.Low, Group: groupStore,
		Validator: connect.AtLeast(1),
		Doc:       "How many Connect schemas' Avro (and Parquet) schemas are kept derived."},
	{Name: OptionalMapKeysConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupStore,
		Validator: onlyValidator{want: "false", why: "maps with optional string keys are written as arrays of MapEntry records in this version"},
		Doc:       "Whether maps with optional string keys become Avro maps; only false is implemented."},
	{Name: ParquetCodecConfig, Type: connect.ConfigString, Default: "snappy", Importance: connect.Low, Group: groupStore,
		Validator: parquetCodecValidator{},
		Doc:       "Compression of Parquet files, also named in the extension (.snappy.parquet): none, snappy, gzip, brotli, zstd or lz4_raw (lz4 and lzo, which Confluent also accepts, are refused: the Parquet library here cannot write them)."},
	{Name: StoreKeysConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupKeys,
		Doc: "Write the records' keys to a .keys sidecar file beside each file, line i (row i) being record i's key; a record with a null key is then reported."},
	{Name: StoreHeadersConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupKeys,
		Doc: "Write the records' headers to a .headers sidecar file beside each file; a record without headers is then reported."},
	{Name: KeysFormatClassConfig, Type: connect.ConfigClass, Default: AvroFormatClass, Importance: connect.Low, Group: groupKeys,
		Validator: formatValidator{},
		Doc:       "The format of the .keys sidecar files."},
	{Name: HeadersFormatClassConfig, Type: connect.ConfigClass, Default: AvroFormatClass, Importance: connect.Low, Group: groupKeys,
		Validator: headersFormatValidator{},
		Doc:       "The format of the .headers sidecar files: Avro, JSON or Parquet (not ByteArray)."},
}

// formatSettings are the parsed keys of the formats and sidecars.
type formatSettings struct {
	avroCodec       string
	connectMetaData bool
	enhancedAvro    bool
	schemaCacheSize int
	parquetCodec    string
	storeKeys       bool
	storeHeaders    bool
	keysFormat      string
	headersFormat   string
}

// parseFormats parses the keys of formatKeys into s, and refuses
// s3.compression.type=gzip for files it would not compress.
func parseFormats(cfg connect.Config, s *settings) error {
	s.avroCodec = cfg.String(AvroCodecConfig)
	s.connectMetaData = cfg.Bool(ConnectMetaDataConfig)
	s.enhancedAvro = cfg.Bool(EnhancedAvroConfig)
	s.schemaCacheSize = int(cfg.Int(SchemaCacheSizeConfig))
	s.parquetCodec = strings.TrimSpace(cfg.String(ParquetCodecConfig))
	s.storeKeys = cfg.Bool(StoreKeysConfig)
	s.storeHeaders = cfg.Bool(StoreHeadersConfig)
	s.keysFormat = cfg.String(KeysFormatClassConfig)
	s.headersFormat = cfg.String(HeadersFormatClassConfig)
	// Confluent's Avro and Parquet writers ignore s3.compression.type;
	// a setting that does nothing to the files is refused here instead.
	// With JSON or ByteArray values it compresses them (and JSON
	// sidecars), while Avro and Parquet sidecars use their own codec.
	if cfg.String(CompressionTypeConfig) != "gzip" {
		return nil
	}
	switch f := cfg.String(FormatClassConfig); f {
	case AvroFormatClass:
		return fmt.Errorf("%s=gzip does not compress Avro files (%s is %s); remove it and set %s (deflate or snappy) instead",
			CompressionTypeConfig, FormatClassConfig, f, AvroCodecConfig)
	case ParquetFormatClass:
		return fmt.Errorf("%s=gzip does not compress Parquet files (%s is %s); remove it and set %s (e.g. gzip or snappy) instead",
			CompressionTypeConfig, FormatClassConfig, f, ParquetCodecConfig)
	}
	return nil
}

// onlyValidator accepts one value of a key whose others are not
// implemented.
type onlyValidator struct{ want, why string }

// Validate implements connect.Validator.
func (o onlyValidator) Validate(_ string, v any) string {
	if fmt.Sprint(v) == o.want {
		return ""
	}
	return "only " + o.want + " is implemented: " + o.why
}

func (o onlyValidator) String() string { return "[" + o.want + "]" }

// headersFormatValidator accepts the formats Confluent allows for
// headers: all but ByteArray.
type headersFormatValidator struct{}

// Validate implements connect.Validator.
func (headersFormatValidator) Validate(_ string, v any) string {
	switch s, _ := v.(string); s {
	case AvroFormatClass, JSONFormatClass, ParquetFormatClass:
		return ""
	case ByteArrayFormatClass:
		return "headers cannot be written with " + s + "; use " + headersFormatValidator{}.String()
	}
	return "must be one of " + headersFormatValidator{}.String()
}

func (headersFormatValidator) String() string {
	return "[" + AvroFormatClass + ", " + JSONFormatClass + ", " + ParquetFormatClass + "]"
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
	c   *convert.JSONConverter
	out io.Writer
}

func (w *jsonWriter) write(schema *connect.Schema, value any) error {
	b, err := w.c.FromConnect("", nil, schema, value)
	if err != nil {
		return &badRecordError{fmt.Errorf("JsonFormat cannot write the value: %w", err)}
	}
	// b is the converter's own copy, usually with room for the newline.
	_, err = w.out.Write(append(b, '\n'))
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
