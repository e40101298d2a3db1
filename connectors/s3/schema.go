package s3

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// SchemaCompatibilityConfig is how a schema change rotates files
// (storage-common's StorageSchemaCompatibility).
const SchemaCompatibilityConfig = "schema.compatibility"

var schemaKeys = connect.ConfigDef{
	{Name: SchemaCompatibilityConfig, Type: connect.ConfigString, Default: "NONE", Importance: connect.High, Group: groupStore,
		Validator: connect.OneOf{Values: []string{"NONE", "BACKWARD", "FORWARD", "FULL"}},
		Doc: "What a record whose value schema differs from its file's does: NONE rotates the file on any difference; " +
			"BACKWARD and FULL rotate when the record's schema version is newer and write older records projected to the file's schema; " +
			"FORWARD rotates when it is older and projects newer records. A record that cannot be projected goes to errors.tolerance / the DLQ."},
}

// errProjection marks a record whose value cannot be projected to its
// file's schema (Kafka's SchemaProjectorException): it is reported, not
// written.
var errProjection = errors.New("schema projection")

func projectionError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errProjection, fmt.Sprintf(format, args...))
}

// shouldChangeSchema is StorageSchemaCompatibility.shouldChangeSchema for
// a record of schema rec and a file of schema cur: true when the record
// cannot go into the file. An error is a record that cannot be written at
// all under the mode.
func shouldChangeSchema(mode string, rec, cur *connect.Schema) (bool, error) {
	if rec == cur || (rec != nil && rec.Equal(cur)) {
		return false, nil
	}
	if rec == nil || cur == nil {
		return false, projectionError("Switch between schema-based and schema-less data is not supported")
	}
	if mode == "NONE" {
		return true, nil
	}
	if rec.Version == 0 || cur.Version == 0 {
		return false, projectionError("Schema version required for %s compatibility", mode)
	}
	if !compatibleShape(rec, cur) {
		return true, nil
	}
	if mode == "FORWARD" {
		return rec.Version < cur.Version, nil
	}
	return rec.Version > cur.Version, nil // BACKWARD, FULL
}

// compatibleShape is checkSchemaCompatibility: types (or a numeric
// promotion), names and parameters agree at every level, an optional
// record schema meets an optional or defaulted file schema, and every
// required field of the file without a default is in the record.
func compatibleShape(rec, cur *connect.Schema) bool {
	if rec.Type != cur.Type && !promotable(rec.Type, cur.Type) {
		return false
	}
	if rec.Name != cur.Name || !paramsCompatible(rec, cur) {
		return false
	}
	if rec.Optional && !cur.Optional && cur.Default == nil {
		return false
	}
	switch rec.Type {
	case connect.TypeStruct:
		for _, f := range rec.Fields {
			if cf := cur.Field(f.Name); cf != nil && !compatibleShape(f.Schema, cf.Schema) {
				return false
			}
		}
		for _, f := range cur.Fields {
			if rec.Field(f.Name) == nil && !f.Schema.Optional && f.Schema.Default == nil {
				return false
			}
		}
	case connect.TypeArray:
		return compatibleShape(rec.ValueSchema, cur.ValueSchema)
	case connect.TypeMap:
		return compatibleShape(rec.KeySchema, cur.KeySchema) && compatibleShape(rec.ValueSchema, cur.ValueSchema)
	}
	return true
}

var numericRank = map[connect.Type]int{
	connect.TypeInt8: 1, connect.TypeInt16: 2, connect.TypeInt32: 3, connect.TypeInt64: 4, connect.TypeFloat32: 5, connect.TypeFloat64: 6,
}

// promotable says a from value widens to a to value (INT8 → … → FLOAT64).
func promotable(from, to connect.Type) bool {
	a, b := numericRank[from], numericRank[to]
	return a > 0 && b > 0 && a <= b
}

// paramsCompatible compares parameters without the documentation ones;
// for enums the record's symbols must be a subset of the file's.
func paramsCompatible(rec, cur *connect.Schema) bool {
	a, b := meaningfulParams(rec.Parameters), meaningfulParams(cur.Parameters)
	if isEnum(rec) && isEnum(cur) {
		for k, v := range a {
			if bv, ok := b[k]; !ok || bv != v {
				return false
			}
		}
		return true
	}
	return maps.Equal(a, b)
}

func meaningfulParams(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		switch {
		case k == "connect.record.doc", k == "connect.record.aliases", k == "connect.record.namespace",
			strings.HasPrefix(k, "io.confluent.connect.avro.field.doc."):
			continue
		}
		out[k] = v
	}
	return out
}

func isEnum(s *connect.Schema) bool {
	for _, k := range []string{"org.apache.kafka.connect.data.Enum", "io.confluent.connect.avro.Enum", "io.confluent.connect.protobuf.Enum"} {
		if _, ok := s.Parameters[k]; ok {
			return true
		}
	}
	return false
}

// projectRecord returns r with its value projected to the file's schema
// cur, or r itself when nothing changes (storage-common's
// StorageSchemaCompatibility.project).
func projectRecord(r *connect.Record, cur *connect.Schema) (*connect.Record, error) {
	if cur == nil || r.ValueSchema == cur || r.ValueSchema.Equal(cur) {
		return r, nil
	}
	v, err := project(r.ValueSchema, r.Value, cur)
	if err != nil {
		return nil, err
	}
	out := *r
	out.ValueSchema, out.Value = cur, v
	return &out, nil
}

// project is storage-common's SchemaProjector.project: the value of
// schema src as a value of schema dst.
func project(src *connect.Schema, v any, dst *connect.Schema) (any, error) {
	if src.Type != dst.Type && !promotable(src.Type, dst.Type) {
		return nil, projectionError("Schema type mismatch. source type: %s and target type: %s", src.Type, dst.Type)
	}
	if src.Name != dst.Name {
		return nil, projectionError("Schema name mismatch. source name: %s and target name: %s", src.Name, dst.Name)
	}
	if !paramsCompatible(src, dst) {
		return nil, projectionError("Schema parameters not equal. source parameters: %v and target parameters: %v", src.Parameters, dst.Parameters)
	}
	if v == nil {
		if src.Optional && !dst.Optional {
			if dst.Default == nil {
				return nil, projectionError("Writer schema is optional, however, target schema does not provide a default value.")
			}
			return dst.Default, nil
		}
		return nil, nil
	}
	switch dst.Type {
	case connect.TypeStruct:
		st, ok := v.(*connect.Struct)
		if !ok {
			return nil, projectionError("a %T is not a Struct", v)
		}
		return projectStruct(src, st, dst)
	case connect.TypeArray:
		list, ok := v.([]any)
		if !ok {
			return nil, projectionError("a %T is not an array", v)
		}
		out := make([]any, len(list))
		for i, e := range list {
			var err error
			if out[i], err = project(src.ValueSchema, e, dst.ValueSchema); err != nil {
				return nil, err
			}
		}
		return out, nil
	case connect.TypeMap:
		return projectMap(src, v, dst)
	}
	return promote(v, dst.Type), nil
}

func projectStruct(src *connect.Schema, st *connect.Struct, dst *connect.Schema) (any, error) {
	out := connect.NewStruct(dst)
	for i := range dst.Fields {
		df := &dst.Fields[i]
		sf := src.Field(df.Name)
		switch {
		case sf != nil:
			v, err := project(sf.Schema, st.GetField(sf), df.Schema)
			if err != nil {
				return nil, fmt.Errorf("Error projecting %s: %w", df.Name, err)
			}
			out.Set(df, v)
		case df.Schema.Optional: // missing optional field: null
		case df.Schema.Default != nil:
			out.Set(df, df.Schema.Default)
		default:
			return nil, projectionError("Required field `%s` is missing from source schema: %s", df.Name, src)
		}
	}
	return out, nil
}

func projectMap(src *connect.Schema, v any, dst *connect.Schema) (any, error) {
	switch m := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			pv, err := project(src.ValueSchema, e, dst.ValueSchema)
			if err != nil {
				return nil, err
			}
			out[k] = pv
		}
		return out, nil
	case map[any]any:
		out := make(map[any]any, len(m))
		for k, e := range m {
			pk, err := project(src.KeySchema, k, dst.KeySchema)
			if err != nil {
				return nil, err
			}
			pv, err := project(src.ValueSchema, e, dst.ValueSchema)
			if err != nil {
				return nil, err
			}
			out[pk] = pv
		}
		return out, nil
	}
	return nil, projectionError("a %T is not a map", v)
}

// promote widens a number to type t as Java's Number.xxxValue() does; any
// other value (a logical type's time.Time, a string) stays as it is.
func promote(v any, t connect.Type) any {
	var i int64
	var f float64
	isFloat := false
	switch x := v.(type) {
	case int8:
		i = int64(x)
	case int16:
		i = int64(x)
	case int32:
		i = int64(x)
	case int64:
		i = x
	case float32:
		f, isFloat = float64(x), true
	case float64:
		f, isFloat = x, true
	default:
		return v
	}
	if isFloat {
		switch t {
		case connect.TypeFloat32:
			return float32(f)
		case connect.TypeFloat64:
			return f
		}
		return v // a float never widens to an integer type
	}
	switch t {
	case connect.TypeInt8:
		return int8(i)
	case connect.TypeInt16:
		return int16(i)
	case connect.TypeInt32:
		return int32(i)
	case connect.TypeInt64:
		return i
	case connect.TypeFloat32:
		return float32(i)
	case connect.TypeFloat64:
		return float64(i)
	}
	return v
}
