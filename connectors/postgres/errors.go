package postgres

import "errors"

// ErrUnsupportedType is wrapped when a column's type has no mapping.
var ErrUnsupportedType = errors.New("unsupported column type")
