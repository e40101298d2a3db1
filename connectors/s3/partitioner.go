package s3

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// partitioner is partitioner.class: it names the directory of a record's
// file between the topic and the file name (Confluent's encoded
// partition).
type partitioner interface {
	encode(r *connect.Record) (string, error)
}

// newPartitioner returns the partitioner of partitioner.class, wrapped as
// Confluent's S3SinkTask wraps it: in a SchemaPartitioner for
// s3.schema.partition.affix.type, then in a TombstoneSupportedPartitioner
// for behavior.on.null.values=write.
func newPartitioner(s *settings) (partitioner, error) {
	var p partitioner
	switch s.partitionerClass {
	case DefaultPartitionerClass:
		p = &defaultPartitioner{}
	case FieldPartitionerClass:
		p = fieldPartitioner{names: s.fieldNames, delim: s.dirDelim}
	case TimeBasedPartitionerClass, HourlyPartitionerClass, DailyPartitionerClass:
		p = timeBasedPartitioner{s: s}
	default:
		return nil, fmt.Errorf("%s %s is %s", PartitionerClassConfig, s.partitionerClass, notYet)
	}
	if s.affix != "NONE" {
		p = schemaAffixPartitioner{next: p, prefix: s.affix == "PREFIX", delim: s.dirDelim}
	}
	if s.writeNulls {
		p = tombstonePartitioner{next: p, dir: s.tombstonePartition}
	}
	return p, nil
}

// Keys of null values and of the schema name in paths.
const (
	ReportNullsConfig        = "report.null.values.to.dlq"
	TombstonePartitionConfig = "tombstone.encoded.partition"
	SchemaAffixConfig        = "s3.schema.partition.affix.type"
	// keySidecarKey is helper A's store.kafka.keys, which writing
	// tombstones needs.
	keySidecarKey = "store.kafka.keys"
)

var nullKeys = connect.ConfigDef{
	{Name: ReportNullsConfig, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low, Group: groupStore,
		Doc: "With behavior.on.null.values=ignore, also send each skipped tombstone to the errant record reporter when one is configured (errors.deadletterqueue.topic.name or errors.log.enable)."},
	{Name: TombstonePartitionConfig, Type: connect.ConfigString, Default: "tombstone", Importance: connect.Low, Group: groupStore,
		Validator: connect.NonEmpty{},
		Doc:       "With behavior.on.null.values=write, the encoded partition (directory) tombstones are written to."},
	{Name: SchemaAffixConfig, Type: connect.ConfigString, Default: "NONE", Importance: connect.Low, Group: group,
		Validator: connect.OneOf{Values: []string{"NONE", "PREFIX", "SUFFIX"}},
		Doc:       "PREFIX or SUFFIX adds a schema_name=<value schema name> directory before or after the encoded partition; NONE adds nothing."},
}

// nullSettings are the parsed keys of null values and schema affixes.
type nullSettings struct {
	writeNulls         bool
	reportNulls        bool
	tombstonePartition string
	affix              string
}

// parseNulls parses the null-value keys: writing tombstones needs the key
// sidecar, since a tombstone is stored as its key alone.
func parseNulls(cfg connect.Config, s *settings) error {
	s.writeNulls = strings.EqualFold(cfg.String(NullValuesConfig), "write")
	s.reportNulls = cfg.Bool(ReportNullsConfig)
	s.tombstonePartition = cfg.String(TombstonePartitionConfig)
	s.affix = cfg.String(SchemaAffixConfig)
	if s.writeNulls && !cfg.Bool(keySidecarKey) {
		return connect.NewConfigError(NullValuesConfig, "%s=write stores a tombstone as its key alone in %s/, so it needs %s=true",
			NullValuesConfig, s.tombstonePartition, keySidecarKey)
	}
	return nil
}

// skipNull handles a tombstone that is not written: fail stops the task;
// ignore skips it, and with report.null.values.to.dlq sends it to the
// errant record reporter when one is configured, as Confluent's sink
// does only when the worker gives it a reporter.
func (t *sinkTask) skipNull(r *connect.Record) error {
	if !t.s.ignoreNulls {
		return fmt.Errorf("record %s-%d@%d has a null value and %s is fail; set it to ignore to skip tombstones or write to store them",
			r.Topic, r.Partition, r.Offset, NullValuesConfig)
	}
	if t.s.reportNulls && hasErrantReporter(t.ctx.Config()) {
		return t.ctx.Report(r, fmt.Errorf("record %s-%d@%d: Skipping null value record.", r.Topic, r.Partition, r.Offset))
	}
	return nil
}

// hasErrantReporter reports whether Kafka would give the task an errant
// record reporter: a dead letter queue topic or the error log.
func hasErrantReporter(config map[string]string) bool {
	return strings.TrimSpace(config["errors.deadletterqueue.topic.name"]) != "" ||
		strings.EqualFold(strings.TrimSpace(config["errors.log.enable"]), "true")
}

// fileViews returns the views a record is written to: a tombstone has no
// value, so only the sidecars (its key, and its headers) are written, as
// Confluent's KeyValueHeaderRecordWriterProvider writes no value file in
// the tombstone directory. got holds the record's value per view of
// t.views.
func (t *sinkTask) fileViews(r *connect.Record, got []viewValue) ([]fileView, []viewValue) {
	if t.s.writeNulls && r.Value == nil {
		return t.views[1:], got[1:]
	}
	return t.views, got
}

// tombstonePartitioner is Confluent's TombstoneSupportedPartitioner: a
// tombstone goes to tombstone.encoded.partition.
type tombstonePartitioner struct {
	next partitioner
	dir  string
}

func (p tombstonePartitioner) encode(r *connect.Record) (string, error) {
	if r.Value == nil {
		return p.dir, nil
	}
	return p.next.encode(r)
}

// schemaAffixPartitioner is Confluent's SchemaPartitioner:
// schema_name=<value schema name> before or after the encoded partition
// ("null" for a value without a schema or a schema without a name, as
// Java prints a null name).
type schemaAffixPartitioner struct {
	next   partitioner
	prefix bool
	delim  string
}

func (p schemaAffixPartitioner) encode(r *connect.Record) (string, error) {
	enc, err := p.next.encode(r)
	if err != nil {
		return "", err
	}
	name := "null"
	if r.ValueSchema != nil && r.ValueSchema.Name != "" {
		name = r.ValueSchema.Name
	}
	if p.prefix {
		return "schema_name=" + name + p.delim + enc, nil
	}
	return enc + p.delim + "schema_name=" + name, nil
}

// defaultPartitioner is Confluent's DefaultPartitioner: partition=<n>.
// It keeps the names of the partitions it has seen, so that a record
// costs no allocation; a task calls it from one goroutine.
type defaultPartitioner struct{ names map[int32]string }

func (p *defaultPartitioner) encode(r *connect.Record) (string, error) {
	if name, ok := p.names[r.Partition]; ok {
		return name, nil
	}
	if p.names == nil {
		p.names = map[int32]string{}
	}
	name := "partition=" + strconv.Itoa(int(r.Partition))
	p.names[r.Partition] = name
	return name, nil
}

// fieldPartitioner is Confluent's FieldPartitioner: <field>=<value> per
// partition.field.name, joined by directory.delim.
type fieldPartitioner struct {
	names []string
	delim string
}

func (p fieldPartitioner) encode(r *connect.Record) (string, error) {
	parts := make([]string, 0, len(p.names))
	for _, name := range p.names {
		v, err := fieldValue(r.Value, name)
		if err != nil {
			return "", err
		}
		parts = append(parts, name+"="+v)
	}
	return strings.Join(parts, p.delim), nil
}

// fieldValue reads one partition field from a Struct or a schemaless map,
// rendered as Confluent's FieldPartitioner does: integers, strings and
// booleans as their text; any other type is an error.
func fieldValue(value any, name string) (string, error) {
	var v any
	switch x := value.(type) {
	case *connect.Struct:
		f := x.Schema().Field(name)
		if f == nil {
			return "", fmt.Errorf("FieldPartitioner: the record value has no field %q (partition.field.name)", name)
		}
		v = x.GetField(f)
	case map[string]any:
		var ok bool
		if v, ok = x[name]; !ok {
			return "", fmt.Errorf("FieldPartitioner: the record value has no field %q (partition.field.name)", name)
		}
	default:
		return "", fmt.Errorf("FieldPartitioner: field %q cannot be read from a %T value; it needs a Struct or a map", name, value)
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case int8, int16, int32, int64, int:
		return fmt.Sprint(x), nil
	case nil:
		return "", fmt.Errorf("FieldPartitioner: field %q is null", name)
	}
	return "", fmt.Errorf("FieldPartitioner: field %q has type %T; only integers, strings and booleans can be partitioned on", name, v)
}
