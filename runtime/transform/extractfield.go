package transform

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// extractField is org.apache.kafka.connect.transforms.ExtractField: it
// replaces the key or value with one of its fields, nested ones included
// under field.syntax.version=V2. Null passes through.
type extractField struct {
	side        side
	original    string
	path        fieldPath
	replaceNull bool
}

const extractPurpose = "field extraction"

var extractFieldConfig = connect.ConfigDef{
	{Name: "field", Type: connect.ConfigString, Default: connect.NoDefault, Importance: connect.Medium,
		Doc: "Name (or, with syntax V2, dotted path) of the field to extract."},
	fieldSyntaxVersionKey,
	replaceNullWithDefaultKey,
}

func (e *extractField) Configure(props map[string]string) error {
	cfg, err := extractFieldConfig.Parse(props)
	if err != nil {
		return err
	}
	e.original = cfg.String("field")
	e.replaceNull = cfg.Bool(replaceNullWithDefaultKey.Name)
	e.path, err = newFieldPath(e.original, cfg.String(fieldSyntaxVersionKey.Name))
	return err
}

func (e *extractField) Apply(r *connect.Record) (*connect.Record, error) {
	s := e.side.schema(r)
	if s == nil {
		m, err := requireMapOrNull(e.side.value(r), extractPurpose)
		if err != nil {
			return nil, err
		}
		var v any
		if m != nil {
			if v, err = e.path.mapValue(m); err != nil {
				return nil, err
			}
		}
		return e.side.with(r, nil, v), nil
	}
	st, err := requireStructOrNull(e.side.value(r), extractPurpose)
	if err != nil {
		return nil, err
	}
	f := e.path.fieldFrom(s)
	if f == nil {
		return nil, fmt.Errorf("%w: Unknown field: %s", connect.ErrData, e.original)
	}
	var v any
	if st != nil {
		if v, err = e.path.structValue(st, e.replaceNull); err != nil {
			return nil, err
		}
	}
	return e.side.with(r, f.Schema, v), nil
}
