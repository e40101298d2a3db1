package connect

import (
	"context"
	"log/slog"
)

// Logging for plugins. The worker hands every connector and task a logger
// whose records name the plugin's class (attribute logger, so its level is
// set through /admin/loggers as Kafka's class loggers are), the connector
// and, for a task, the task id — what Kafka's LoggingContext adds to every
// line a connector thread logs. A plugin finds it two ways:
//
//   - on the context.Context the worker passes to Poll, Put and Flush:
//     Logger(ctx);
//   - on the handle passed to Start (ConnectorContext, SourceTaskContext,
//     SinkTaskContext), whose worker implementation is also a Logging.
//
// Both give a logger that discards when there is none (a test's fake
// context), so a plugin never needs a nil check.

// Logging is implemented by the worker's ConnectorContext,
// SourceTaskContext and SinkTaskContext.
type Logging interface {
	// Logger returns the plugin's logger, naming the connector (and task).
	Logger() *slog.Logger
}

type loggerKey struct{}

// WithLogger returns a copy of ctx carrying l; the worker calls it for the
// contexts it passes to plugins, and tests to capture a plugin's logs.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Logger returns the logger the worker put in ctx, or one that discards.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return discard
}

// LoggerOf returns the logger of a handle the worker passed to Start, or
// one that discards when the handle is not a Logging.
func LoggerOf(handle any) *slog.Logger {
	if l, ok := handle.(Logging); ok {
		if lg := l.Logger(); lg != nil {
			return lg
		}
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)
