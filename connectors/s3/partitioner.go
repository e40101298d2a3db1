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

// newPartitioner returns the partitioner of partitioner.class.
func newPartitioner(s *settings) (partitioner, error) {
	switch s.partitionerClass {
	case DefaultPartitionerClass:
		return defaultPartitioner{}, nil
	case FieldPartitionerClass:
		return fieldPartitioner{names: s.fieldNames, delim: s.dirDelim}, nil
	}
	return nil, fmt.Errorf("%s %s is %s", PartitionerClassConfig, s.partitionerClass, notYet)
}

// defaultPartitioner is Confluent's DefaultPartitioner: partition=<n>.
type defaultPartitioner struct{}

func (defaultPartitioner) encode(r *connect.Record) (string, error) {
	return "partition=" + strconv.Itoa(int(r.Partition)), nil
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
