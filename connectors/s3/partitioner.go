package s3

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// encodePartition returns a record's encoded partition, the directory
// between the topic and the file name: partition=<n> for the
// DefaultPartitioner, <field>=<value> per partition.field.name (joined by
// directory.delim) for the FieldPartitioner.
func (s *settings) encodePartition(r *connect.Record) (string, error) {
	if s.fieldNames == nil {
		return "partition=" + strconv.Itoa(int(r.Partition)), nil
	}
	parts := make([]string, 0, len(s.fieldNames))
	for _, name := range s.fieldNames {
		v, err := fieldValue(r.Value, name)
		if err != nil {
			return "", err
		}
		parts = append(parts, name+"="+v)
	}
	return strings.Join(parts, s.dirDelim), nil
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
