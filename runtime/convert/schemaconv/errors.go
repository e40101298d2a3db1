package schemaconv

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// ErrIncompatible is wrapped (together with connect.ErrData) when the
// registry refuses to register a schema as incompatible with the
// subject's earlier versions.
var ErrIncompatible = errors.New("incompatible schema")

// dataErr returns an error wrapping connect.ErrData (Kafka's
// DataException).
func dataErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", connect.ErrData, fmt.Sprintf(format, args...))
}

// dataErrCause is dataErr keeping cause for errors.Is and errors.As.
func dataErrCause(cause error, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %w", connect.ErrData, fmt.Sprintf(format, args...), cause)
}
