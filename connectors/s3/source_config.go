package s3

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// The source's own keys. mode, topic.regex.list, s3.poll.interval.ms and
// record.batch.max.size are named as in Confluent's S3 source docs; the
// generic.* keys and record.max.bytes are Sluice's (Confluent's generic
// mode parses each object by format.class, which these stand in for).
const (
	ModeConfig           = "mode"
	TopicRegexListConfig = "topic.regex.list"
	PollIntervalConfig   = "s3.poll.interval.ms"
	BatchMaxSizeConfig   = "record.batch.max.size"
	RecordMaxBytesConfig = "record.max.bytes"
	GenericUnitConfig    = "generic.record.per"
	GenericKeyConfig     = "generic.record.key"
	HeadersFormatConfig  = "headers.format.class"
	ModeRestoreBackup    = "RESTORE_BACKUP"
	ModeGeneric          = "GENERIC"
	groupSource          = "Source"
	// taskPartitionsConfig is internal: the topic-partitions the
	// connector gave a task, as "topic<TAB>partition" lines; absent, the
	// task reads every partition it finds (the connector's single task).
	taskPartitionsConfig = "sluice.s3.source.task.partitions"
)

// SourceConfig declares the source's keys: the sink's layout keys with
// the same names and defaults (so a sink's config can be pasted), the
// source's own, and the shared S3 connection keys.
var SourceConfig = withSourceUnsupported(append(sourceKeys, s3Keys.Def()...))

var sourceKeys = connect.ConfigDef{
	{Name: ModeConfig, Type: connect.ConfigString, Default: ModeRestoreBackup, Importance: connect.High, Group: groupSource,
		Validator: connect.OneOf{Values: []string{ModeRestoreBackup, ModeGeneric}, CaseInsensitive: true},
		Doc: "Confluent's mode: " + ModeRestoreBackup + " reads the objects an S3 sink wrote back into their topic and partition; " +
			ModeGeneric + " reads any objects under topics.dir whose key matches topic.regex.list, in key order."},
	{Name: FormatClassConfig, Type: connect.ConfigClass, Default: connect.NoDefault, Importance: connect.High, Group: groupStore,
		Validator: connect.OneOf{Values: []string{JSONFormatClass, ByteArrayFormatClass, AvroFormatClass, ParquetFormatClass}},
		Doc: "The format the objects were written in, as the sink's format.class (Confluent's key). " + ModeGeneric +
			" mode reads JSON and ByteArray objects."},
	{Name: TopicsDirConfig, Type: connect.ConfigString, Default: "topics", Importance: connect.High, Group: groupStore,
		Doc: "Top-level prefix of the object keys (Confluent's key); in " + ModeGeneric + " mode, the prefix read."},
	{Name: DirectoryDelimConfig, Type: connect.ConfigString, Default: "/", Importance: connect.Medium, Group: groupStore,
		Validator: connect.NonEmpty{},
		Doc:       "Delimiter between the parts of the object key's directory (Confluent's key)."},
	{Name: FileDelimConfig, Type: connect.ConfigString, Default: "+", Importance: connect.Medium, Group: groupStore,
		Validator: connect.NonEmpty{},
		Doc:       "Delimiter between topic, partition and start offset in the object's file name (Confluent's key)."},
	{Name: CompressionTypeConfig, Type: connect.ConfigString, Default: "none", Importance: connect.Low, Group: groupS3,
		Validator: connect.OneOf{Values: []string{"none", "gzip"}},
		Doc:       "Compression of JSON and ByteArray objects, as the sink wrote them: none or gzip (names ending in .gz) (Confluent's key)."},
	{Name: ByteArrayExtensionConfig, Type: connect.ConfigString, Default: ".bin", Importance: connect.Low, Group: groupStore,
		Doc: "File extension of the ByteArray format (Confluent's key)."},
	{Name: ByteArraySeparatorConfig, Type: connect.ConfigString, Default: nil, Importance: connect.Low, Group: groupStore,
		Doc: "Bytes after every record of the ByteArray format (Confluent's key); unset means a line separator (\\n)."},
	{Name: KeysFormatClassConfig, Type: connect.ConfigClass, Default: AvroFormatClass, Importance: connect.Low, Group: groupStore,
		Validator: connect.OneOf{Values: []string{JSONFormatClass, ByteArrayFormatClass, AvroFormatClass, ParquetFormatClass}},
		Doc:       "The format of the .keys sidecar objects the sink wrote with store.kafka.keys (Confluent's key); keys come back from them when present."},
	{Name: HeadersFormatConfig, Type: connect.ConfigClass, Default: AvroFormatClass, Importance: connect.Low, Group: groupStore,
		Validator: connect.OneOf{Values: []string{JSONFormatClass, AvroFormatClass, ParquetFormatClass}},
		Doc:       "The format of the .headers sidecar objects the sink wrote with store.kafka.headers (Confluent's key); headers come back from them when present."},
	{Name: "parquet.codec", Type: connect.ConfigString, Default: "snappy", Importance: connect.Low, Group: groupStore,
		Validator: parquetCodecValidator{},
		Doc:       "The parquet.codec the sink wrote with (Confluent's key): it names Parquet key and header sidecars (.keys.<codec>.parquet) beside values of another format; beside Parquet values they take the values' codec, and value objects are read whatever their codec."},
	{Name: PollIntervalConfig, Type: connect.ConfigLong, Default: int64(60000), Importance: connect.Medium, Group: groupSource,
		Validator: connect.AtLeast(1),
		Doc:       "How often, once every known object is read, the bucket is listed again for new objects and partitions (Confluent's key)."},
	{Name: BatchMaxSizeConfig, Type: connect.ConfigInt, Default: 200, Importance: connect.Low, Group: groupSource,
		Validator: connect.Between(1, 100000),
		Doc:       "The most records one poll returns (Confluent's key)."},
	{Name: RecordMaxBytesConfig, Type: connect.ConfigInt, Default: 8 << 20, Importance: connect.Low, Group: groupSource,
		Validator: connect.Between(1, 1<<30),
		Doc: "Sluice's bound on one record of a JSON or ByteArray object (one line), and on one Avro block: a longer one fails the task naming " +
			"the object, rather than being read whole into memory."},
	{Name: TopicRegexListConfig, Type: connect.ConfigList, Default: []string{}, Importance: connect.High, Group: groupSource,
		Validator: topicRegexValidator{},
		Doc: "Confluent's key for " + ModeGeneric + " mode: topic:regex pairs; an object under topics.dir whose whole key matches " +
			"a regex goes to that topic (the first pair that matches). Required in " + ModeGeneric + " mode."},
	{Name: GenericUnitConfig, Type: connect.ConfigString, Default: "line", Importance: connect.Medium, Group: groupSource,
		Validator: connect.OneOf{Values: []string{"line", "object"}, CaseInsensitive: true},
		Doc: "Sluice's key for " + ModeGeneric + " mode: line makes one record of each line (format.bytearray.separator for " +
			"ByteArray), object one record of each whole object (at most record.max.bytes)."},
	{Name: GenericKeyConfig, Type: connect.ConfigString, Default: "none", Importance: connect.Low, Group: groupSource,
		Validator: connect.OneOf{Values: []string{"none", "object.key"}, CaseInsensitive: true},
		Doc:       "Sluice's key for " + ModeGeneric + " mode: the record key, none (null) or object.key (the object's key, a string)."},
}

// sinkOnlyKeys are keys of the sink a restore config may carry (users
// paste the sink's config, as Confluent's docs suggest). The source reads
// every folder under topics.dir and orders files by the start offset in
// their names, so it needs none of them: they are declared, and shown by
// /config/validate, as accepted and unused rather than silently dropped.
var sinkOnlyKeys = []struct {
	name string
	typ  connect.ConfigType
}{
	{StorageClassConfig, connect.ConfigClass},
	{FlushSizeConfig, connect.ConfigInt},
	{RotateIntervalConfig, connect.ConfigLong},
	{ZeroPadWidthConfig, connect.ConfigInt},
	{PartitionerClassConfig, connect.ConfigClass},
	{PartitionFieldNameConfig, connect.ConfigList},
	{"partition.duration.ms", connect.ConfigLong},
	{"path.format", connect.ConfigString},
	{"locale", connect.ConfigString},
	{"timezone", connect.ConfigString},
	{"timestamp.extractor", connect.ConfigString},
	{"timestamp.field", connect.ConfigString},
}

// sourceUnsupported are keys of Confluent's S3 source this version does
// not honour; setting one is refused.
var sourceUnsupported = []struct {
	name string
	typ  connect.ConfigType
	why  string
}{
	{"s3.sse.customer.key", connect.ConfigPassword, "reading SSE-C objects is not implemented"},
	{"behavior.on.error", connect.ConfigString, "a record that cannot be read fails the task; errors.tolerance applies to converters and transforms"},
	{"task.batch.size", connect.ConfigInt, "not implemented"},
}

func withSourceUnsupported(def connect.ConfigDef) connect.ConfigDef {
	out := append(connect.ConfigDef{}, def...)
	for _, k := range sinkOnlyKeys {
		out = append(out, connect.ConfigKey{
			Name: k.name, Type: k.typ, Default: nil, Importance: connect.Low, Group: groupStore,
			Doc: "The sink's " + k.name + ", accepted so that a sink's config can be pasted; the source does not use it: " +
				"it reads every folder under topics.dir and orders a partition's files by the start offset in their names.",
		})
	}
	for _, k := range sourceUnsupported {
		out = append(out, connect.ConfigKey{
			Name: k.name, Type: k.typ, Default: nil, Importance: connect.Low, Group: groupSource,
			Unsupported: k.why,
			Doc:         "Confluent's " + k.name + "; not supported by this source: " + k.why + ".",
		})
	}
	return out
}

// topicRegexValidator checks topic:regex pairs.
type topicRegexValidator struct{}

// Validate implements connect.Validator.
func (topicRegexValidator) Validate(_ string, v any) string {
	list, _ := v.([]string)
	if _, err := parseTopicRegexList(list); err != nil {
		return err.Error()
	}
	return ""
}

func (topicRegexValidator) String() string { return "list of topic:regex" }

// topicRegex routes the objects whose key matches re to topic.
type topicRegex struct {
	topic string
	re    *regexp.Regexp
}

func parseTopicRegexList(list []string) ([]topicRegex, error) {
	var out []topicRegex
	for _, pair := range list {
		topic, expr, ok := strings.Cut(pair, ":")
		if !ok || topic == "" || expr == "" {
			return nil, fmt.Errorf("%q is not a topic:regex pair", pair)
		}
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return nil, fmt.Errorf("the regex of %q: %w", pair, err)
		}
		out = append(out, topicRegex{topic: topic, re: re})
	}
	return out, nil
}

// format says how the objects of one format.class are named and read.
type backupFormat struct {
	class     string
	ext       string // the name's ending: .json, .json.gz, .bin, .avro, .parquet
	gzip      bool
	separator []byte // ByteArray's record separator
	maxRecord int    // bound on one line, object or Avro block
}

// newFormat returns the format of class under cfg's compression and
// ByteArray keys.
func newBackupFormat(class string, cfg connect.Config) backupFormat {
	f := backupFormat{class: class, separator: []byte("\n"), maxRecord: int(cfg.Int(RecordMaxBytesConfig))}
	switch class {
	case JSONFormatClass:
		f.ext = ".json"
	case ByteArrayFormatClass:
		f.ext = cfg.String(ByteArrayExtensionConfig)
		if !cfg.IsNull(ByteArraySeparatorConfig) && cfg.String(ByteArraySeparatorConfig) != "" {
			f.separator = []byte(cfg.String(ByteArraySeparatorConfig))
		}
	case AvroFormatClass:
		f.ext = ".avro"
	case ParquetFormatClass:
		f.ext = ".parquet" // after .<codec>, which the name may carry
	}
	if (class == JSONFormatClass || class == ByteArrayFormatClass) && cfg.String(CompressionTypeConfig) == "gzip" {
		f.gzip = true
		f.ext += ".gz"
	}
	return f
}

// sourceSettings are the parsed keys a source task and its connector use.
type sourceSettings struct {
	cfg                 connect.Config // for the kit's S3 client
	bucket              string
	generic             bool
	topicsDir, dirDelim string
	fileDelim           string
	value, keys, heads  backupFormat
	poll                time.Duration
	batch               int
	routes              []topicRegex // GENERIC
	perObject           bool         // GENERIC: one record per object
	keyIsObjectKey      bool         // GENERIC
	valueAsString       bool         // GENERIC: the value.converter is a StringConverter
	parquetExt          string       // .<parquet.codec>.parquet, for sidecar names
}

// parseSourceSettings parses and checks a source config.
func parseSourceSettings(config map[string]string) (*sourceSettings, error) {
	cfg, err := SourceConfig.Parse(config)
	if err != nil {
		return nil, err
	}
	s := &sourceSettings{
		cfg: cfg, bucket: s3Keys.Bucket.Get(cfg),
		generic:   strings.EqualFold(cfg.String(ModeConfig), ModeGeneric),
		topicsDir: cfg.String(TopicsDirConfig), dirDelim: cfg.String(DirectoryDelimConfig),
		fileDelim: cfg.String(FileDelimConfig),
		value:     newBackupFormat(cfg.String(FormatClassConfig), cfg),
		keys:      newBackupFormat(cfg.String(KeysFormatClassConfig), cfg),
		heads:     newBackupFormat(cfg.String(HeadersFormatConfig), cfg),
		poll:      time.Duration(cfg.Int(PollIntervalConfig)) * time.Millisecond,
		batch:     int(cfg.Int(BatchMaxSizeConfig)),
		perObject: strings.EqualFold(cfg.String(GenericUnitConfig), "object"),
		// The value.converter is the worker's, but the value's Go type
		// must suit it: a StringConverter gets strings, others bytes.
		valueAsString:  strings.HasSuffix(config["value.converter"], "StringConverter"),
		keyIsObjectKey: strings.EqualFold(cfg.String(GenericKeyConfig), "object.key"),
	}
	s.parquetExt = parquetCodecs[strings.TrimSpace(cfg.String("parquet.codec"))].ext + ".parquet"
	s.routes, _ = parseTopicRegexList(cfg.List(TopicRegexListConfig)) // checked by the validator
	if s.generic {
		if len(s.routes) == 0 {
			return nil, connect.NewConfigError(TopicRegexListConfig, "%s needs %s: topic:regex pairs naming the objects to read", ModeGeneric, TopicRegexListConfig)
		}
		if c := s.value.class; c != JSONFormatClass && c != ByteArrayFormatClass {
			return nil, connect.NewConfigError(FormatClassConfig, "%s mode reads %s or %s objects, not %s", ModeGeneric, JSONFormatClass, ByteArrayFormatClass, c)
		}
	}
	return s, nil
}

// topicsPrefix is the prefix every object of the backup starts with.
func (s *sourceSettings) topicsPrefix() string {
	if s.topicsDir == "" {
		return ""
	}
	return s.topicsDir + s.dirDelim
}
