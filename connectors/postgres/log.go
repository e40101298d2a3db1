package postgres

import (
	"log/slog"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// loggerName names the connector's logger for /admin/loggers and
// SLUICE_LOG_LEVEL, after its class's package as Kafka names loggers after
// classes: setting io.sluice.connect.postgres to DEBUG shows this
// connector's debug lines.
const loggerName = "io.sluice.connect.postgres"

// pluginLogger returns the logger for the connector or task that ctx
// belongs to: the worker's, when the context offers one, or else the
// default logger with the connector and task named from the config (the
// worker installs its logger as the default). The Postgres connector runs
// a single task, task 0.
func pluginLogger(ctx any, config map[string]string, task bool) *slog.Logger {
	// The worker's contexts name the connector and the task already
	// (Kafka's LoggingContext); the connector adds only its logger name.
	if cl, ok := ctx.(connect.Logging); ok {
		if l := cl.Logger(); l != nil {
			return l.With("logger", loggerName)
		}
	}
	attrs := []any{"logger", loggerName, "connector", strings.TrimSpace(config["name"])}
	if task {
		attrs = append(attrs, "task", 0)
	}
	return slog.Default().With(attrs...)
}

// discard is the logger of code run without a task (tests of parts).
var discard = slog.New(slog.DiscardHandler)

// orDiscard returns l, or a logger that drops everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}
