package postgres

import (
	"log/slog"

	"github.com/sluicehq/sluice/runtime/connect"
)

// loggerName names the connector's logger for /admin/loggers and
// SLUICE_LOG_LEVEL, after its class's package as Kafka names loggers after
// classes: setting io.sluice.connect.postgres to DEBUG shows this
// connector's debug lines.
const loggerName = "io.sluice.connect.postgres"

// pluginLogger returns the logger of the connector or task that ctx, the
// handle the worker passed to Start, belongs to: the worker's contexts
// name the connector and the task already (Kafka's LoggingContext); the
// connector adds only its logger name. Without a handle (a test starting
// a task on its own) it discards.
func pluginLogger(ctx interface{ Logger() *slog.Logger }) *slog.Logger {
	if ctx == nil {
		return discard
	}
	return orDiscard(ctx.Logger()).With("logger", loggerName)
}

// discard is the logger of code run without a task (tests of parts).
var discard = connect.OrDiscard(nil)

// orDiscard returns l, or a logger that drops everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger { return connect.OrDiscard(l) }
