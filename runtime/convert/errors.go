package convert

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// dataErr returns an error wrapping connect.ErrData (Kafka's
// DataException) with a message in Kafka's words.
func dataErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", connect.ErrData, fmt.Sprintf(format, args...))
}

// dataErrCause is dataErr with an underlying cause, kept for errors.Is.
func dataErrCause(cause error, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %w", connect.ErrData, fmt.Sprintf(format, args...), cause)
}

// typeName names a Go value's type in messages where Kafka names the Java
// class.
func typeName(v any) string { return fmt.Sprintf("%T", v) }

// configErr is a config value Sluice refuses, in Kafka's ConfigException
// wording.
func configErr(name, value, msg string) error {
	return connect.NewConfigError(name, "Invalid value %s for configuration %s: %s", value, name, msg)
}
