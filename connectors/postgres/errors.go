package postgres

import "errors"

// ErrNotImplemented is returned by Start until snapshotting and streaming
// are implemented.
var ErrNotImplemented = errors.New("postgres connector: snapshot and streaming are not implemented yet; only config validation is available")

// ErrUnsupportedType is wrapped when a column's type has no mapping.
var ErrUnsupportedType = errors.New("unsupported column type")
