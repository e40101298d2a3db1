package s3

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Config keys, as Confluent's S3 sink names them.
const (
	StorageClassConfig         = "storage.class"
	FormatClassConfig          = "format.class"
	FlushSizeConfig            = "flush.size"
	RotateIntervalConfig       = "rotate.interval.ms"
	TopicsDirConfig            = "topics.dir"
	DirectoryDelimConfig       = "directory.delim"
	FileDelimConfig            = "file.delim"
	ZeroPadWidthConfig         = "filename.offset.zero.pad.width"
	PartitionerClassConfig     = "partitioner.class"
	PartitionFieldNameConfig   = "partition.field.name"
	NullValuesConfig           = "behavior.on.null.values"
	PartSizeConfig             = "s3.part.size"
	CompressionTypeConfig      = "s3.compression.type"
	ByteArrayExtensionConfig   = "format.bytearray.extension"
	ByteArraySeparatorConfig   = "format.bytearray.separator"
	JSONDecimalFormatConfig    = "json.decimal.format"
	S3StorageClass             = "io.confluent.connect.s3.storage.S3Storage"
	JSONFormatClass            = "io.confluent.connect.s3.format.json.JsonFormat"
	ByteArrayFormatClass       = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat"
	AvroFormatClass            = "io.confluent.connect.s3.format.avro.AvroFormat"
	ParquetFormatClass         = "io.confluent.connect.s3.format.parquet.ParquetFormat"
	DefaultPartitionerClass    = "io.confluent.connect.storage.partitioner.DefaultPartitioner"
	FieldPartitionerClass      = "io.confluent.connect.storage.partitioner.FieldPartitioner"
	TimeBasedPartitionerClass  = "io.confluent.connect.storage.partitioner.TimeBasedPartitioner"
	HourlyPartitionerClass     = "io.confluent.connect.storage.partitioner.HourlyPartitioner"
	DailyPartitionerClass      = "io.confluent.connect.storage.partitioner.DailyPartitioner"
	defaultPartSize            = 25 << 20
	notYet                     = "not implemented yet in this version of the S3 sink"
	groupS3, groupStore, group = "S3", "Storage", "Partitioner"
)

// SinkConfig declares the sink's keys with Confluent's types and defaults.
// Keys this version does not honour are declared Unsupported, so setting
// them is refused rather than ignored.
var SinkConfig = withUnsupported(slices.Concat(supportedKeys, s3Keys.Def(), formatKeys, timeKeys, rotationKeys, schemaKeys, nullKeys, uploadKeys, timestampKeys))

// supportedKeys are the keys this version implements.
var supportedKeys = connect.ConfigDef{
	{Name: StorageClassConfig, Type: connect.ConfigClass, Default: connect.NoDefault, Importance: connect.High, Group: groupStore,
		Validator: connect.OneOf{Values: []string{S3StorageClass}},
		Doc:       "The storage class; " + S3StorageClass + " is the only valid value."},
	{Name: FormatClassConfig, Type: connect.ConfigClass, Default: connect.NoDefault, Importance: connect.High, Group: groupStore,
		Validator: formatValidator{},
		Doc:       "The format of the files: " + AvroFormatClass + " (an Avro object container file, avro.codec), " + JSONFormatClass + " (one JSON value per line), " + ParquetFormatClass + " (parquet.codec) or " + ByteArrayFormatClass + " (raw value bytes, each followed by the separator)."},
	{Name: FlushSizeConfig, Type: connect.ConfigInt, Default: connect.NoDefault, Importance: connect.High, Group: groupStore,
		Validator: connect.AtLeast(1),
		Doc:       "Number of records of one Kafka partition after which all its open files are uploaded and its offset committed."},
	{Name: RotateIntervalConfig, Type: connect.ConfigLong, Default: int64(-1), Importance: connect.High, Group: groupStore,
		Doc: "Record-time rotation: the files of a Kafka partition are uploaded when a record's time (per timestamp.extractor) is this many ms after the first record's, or (rotate.file.on.partition.change) its encoded partition changes. Needs a time-based partitioner; -1 turns it off."},
	{Name: TopicsDirConfig, Type: connect.ConfigString, Default: "topics", Importance: connect.High, Group: groupStore,
		Doc: "Top-level prefix of the object keys."},
	{Name: DirectoryDelimConfig, Type: connect.ConfigString, Default: "/", Importance: connect.Medium, Group: groupStore,
		Doc: "Delimiter between the parts of the object key's directory."},
	{Name: FileDelimConfig, Type: connect.ConfigString, Default: "+", Importance: connect.Medium, Group: groupStore,
		Doc: "Delimiter between topic, partition and start offset in the object's file name."},
	{Name: ZeroPadWidthConfig, Type: connect.ConfigInt, Default: 10, Importance: connect.Low, Group: groupStore,
		Validator: connect.AtLeast(0),
		Doc:       "Width the start offset in the file name is zero-padded to."},
	{Name: PartitionerClassConfig, Type: connect.ConfigClass, Default: DefaultPartitionerClass, Importance: connect.High, Group: group,
		Validator: partitionerValidator{},
		Doc:       "How records are grouped into directories: DefaultPartitioner (partition=<n>), FieldPartitioner (<field>=<value> per partition.field.name), TimeBasedPartitioner (path.format of the record time), HourlyPartitioner or DailyPartitioner."},
	{Name: PartitionFieldNameConfig, Type: connect.ConfigList, Default: []string{}, Importance: connect.Medium, Group: group,
		Doc: "Fields of the record value the FieldPartitioner puts in the path, in order."},
	{Name: NullValuesConfig, Type: connect.ConfigString, Default: "fail", Importance: connect.Low, Group: groupStore,
		Validator: nullValidator{},
		Doc:       "What a record with a null value (a tombstone) does: fail stops the task, ignore skips it, write stores its key in the tombstone.encoded.partition directory (needs store.kafka.keys=true)."},
	{Name: JSONDecimalFormatConfig, Type: connect.ConfigString, Default: "BASE64", Importance: connect.Low, Group: groupStore,
		Validator: connect.OneOf{Values: []string{"BASE64", "NUMERIC"}, CaseInsensitive: true},
		Doc:       "How the JSON format writes Connect Decimals: BASE64 or NUMERIC."},
	{Name: ByteArrayExtensionConfig, Type: connect.ConfigString, Default: ".bin", Importance: connect.Low, Group: groupStore,
		Doc: "File extension of the ByteArray format."},
	// Confluent's default is System.lineSeparator(); declared null here
	// (meaning "\n") so that docs and REST answers show no raw newline.
	{Name: ByteArraySeparatorConfig, Type: connect.ConfigString, Default: nil, Importance: connect.Low, Group: groupStore,
		Doc: "Bytes written after every record's value by the ByteArray format; unset means a line separator (\\n), as Confluent's System.lineSeparator() on Linux."},
	{Name: PartSizeConfig, Type: connect.ConfigInt, Default: defaultPartSize, Importance: connect.High, Group: groupS3,
		Validator: connect.Between(5<<20, 1<<31-1),
		Doc:       "Part size of multipart uploads; a file smaller than this is one PutObject."},
	{Name: CompressionTypeConfig, Type: connect.ConfigString, Default: "none", Importance: connect.Low, Group: groupS3,
		Validator: connect.OneOf{Values: []string{"none", "gzip"}},
		Doc:       "Compression of JSON and ByteArray files: none or gzip (which appends .gz to the name). Avro and Parquet files compress with avro.codec and parquet.codec; gzip is refused with them."},
}

// unsupportedKeys are the other keys of Confluent's S3 sink (§3.1): each
// is declared so that a config setting it is refused, not ignored.
var unsupportedKeys = []struct {
	name string
	typ  connect.ConfigType
}{
	{"shutdown.timeout.ms", connect.ConfigLong},
}

// withUnsupported returns def followed by the unsupported keys.
func withUnsupported(def connect.ConfigDef) connect.ConfigDef {
	out := append(connect.ConfigDef{}, def...)
	for _, k := range unsupportedKeys {
		out = append(out, connect.ConfigKey{
			Name: k.name, Type: k.typ, Default: nil, Importance: connect.Low, Group: groupStore,
			Unsupported: notYet,
			Doc:         "Confluent's " + k.name + "; " + notYet + ", so setting it is refused.",
		})
	}
	return out
}

// formatValidator accepts the implemented formats and names the others as
// not implemented yet.
type formatValidator struct{}

// Validate implements connect.Validator.
func (formatValidator) Validate(_ string, v any) string {
	switch s, _ := v.(string); s {
	case AvroFormatClass, JSONFormatClass, ByteArrayFormatClass, ParquetFormatClass:
		return ""
	}
	return "must be one of " + formatValidator{}.String()
}

func (formatValidator) String() string {
	return "[" + AvroFormatClass + ", " + JSONFormatClass + ", " + ByteArrayFormatClass + ", " + ParquetFormatClass + "]"
}

// partitionerValidator accepts the implemented partitioners.
type partitionerValidator struct{}

// Validate implements connect.Validator.
func (partitionerValidator) Validate(_ string, v any) string {
	switch s, _ := v.(string); s {
	case DefaultPartitionerClass, FieldPartitionerClass, TimeBasedPartitionerClass, HourlyPartitionerClass, DailyPartitionerClass:
		return ""
	}
	return "must be one of " + partitionerValidator{}.String() + " (custom partitioner classes cannot be loaded)"
}

func (partitionerValidator) String() string {
	return "[" + strings.Join([]string{DefaultPartitionerClass, FieldPartitionerClass, TimeBasedPartitionerClass, HourlyPartitionerClass, DailyPartitionerClass}, ", ") + "]"
}

// nullValidator is Confluent's OutputWriteBehavior validator.
type nullValidator struct{}

// Validate implements connect.Validator.
func (nullValidator) Validate(_ string, v any) string {
	switch s, _ := v.(string); strings.ToLower(s) {
	case "fail", "ignore", "write":
		return ""
	}
	return "String must be one of: ignore, fail, write"
}

func (nullValidator) String() string { return "[ignore, fail, write]" }

// settings are the parsed keys the task uses.
type settings struct {
	bucket              string
	cfg                 connect.Config // for the kit's S3 client
	partSize            int64
	topicsDir, dirDelim string
	fileDelim           string
	padWidth            int
	flushSize           int64
	format              string
	gzip                bool
	ignoreNulls         bool
	partitionerClass    string
	fieldNames          []string // FieldPartitioner's fields
	byteArrayExt        string
	separator           []byte
	decimalNumeric      bool
	storeTimestamps     bool // store.kafka.timestamps
	timeSettings
	rotationSettings
	nullSettings
	formatSettings // avro.codec, parquet.codec, the key and header sidecars
	uploadSettings
}

// parseSettings parses and checks a task's config.
func parseSettings(config map[string]string) (*settings, error) {
	cfg, err := SinkConfig.Parse(config)
	if err != nil {
		return nil, err
	}
	s := &settings{
		bucket: s3Keys.Bucket.Get(cfg), cfg: cfg, partSize: cfg.Int(PartSizeConfig),
		topicsDir: cfg.String(TopicsDirConfig), dirDelim: cfg.String(DirectoryDelimConfig),
		fileDelim: cfg.String(FileDelimConfig), padWidth: int(cfg.Int(ZeroPadWidthConfig)),
		flushSize: cfg.Int(FlushSizeConfig), format: cfg.String(FormatClassConfig),
		gzip:           cfg.String(CompressionTypeConfig) == "gzip",
		ignoreNulls:    strings.EqualFold(cfg.String(NullValuesConfig), "ignore"),
		separator:      []byte("\n"),
		decimalNumeric: strings.EqualFold(cfg.String(JSONDecimalFormatConfig), "NUMERIC"),
	}
	if !cfg.IsNull(ByteArraySeparatorConfig) {
		s.separator = []byte(cfg.String(ByteArraySeparatorConfig))
	}
	if err := parseFormats(cfg, s); err != nil {
		return nil, err
	}
	s.partitionerClass = cfg.String(PartitionerClassConfig)
	s.byteArrayExt = cfg.String(ByteArrayExtensionConfig)
	if err := parseUpload(cfg, s); err != nil {
		return nil, err
	}
	if s.partitionerClass == FieldPartitionerClass {
		s.fieldNames = cfg.List(PartitionFieldNameConfig)
		if len(s.fieldNames) == 0 {
			return nil, fmt.Errorf("%s must name at least one field with %s", PartitionFieldNameConfig, FieldPartitionerClass)
		}
	}
	for _, parse := range []func(connect.Config, *settings) error{parseTime, parseRotation, parseNulls, parseTimestamps} {
		if err := parse(cfg, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}
