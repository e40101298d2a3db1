package connect

import (
	"context"
	"log/slog"
)

// Logging for plugins. The worker hands every plugin a logger whose
// records name the plugin's class (attribute logger, so its level is set
// through /admin/loggers as Kafka's class loggers are), the connector and,
// for a task and the plugins of its pipeline, the task id — what Kafka's
// LoggingContext adds to every line a connector thread logs. A plugin
// finds it:
//
//   - a connector or task: Logger() on the handle passed to Start
//     (ConnectorContext, SourceTaskContext, SinkTaskContext);
//   - a task, on the context.Context the worker passes to Poll, Put and
//     Flush: Logger(ctx);
//   - a converter, header converter, transform or predicate: by
//     implementing LoggerSetter.
//
// No plugin needs slog.Default(): a plugin run without a worker (a test
// that passes a nil logger) should log nowhere, which Logger(ctx) and
// OrDiscard give.

// LoggerSetter is an optional capability of a Converter, HeaderConverter,
// Transform or Predicate: the worker calls SetLogger once, before
// Configure, with a logger naming the connector, the task and the
// plugin's class. A plugin that is never given one must not log (or log
// to OrDiscard(nil)).
type LoggerSetter interface {
	SetLogger(l *slog.Logger)
}

// SetPluginLogger gives l to plugin when it is a LoggerSetter; the worker
// and the transform chain call it on every instance they create.
func SetPluginLogger(plugin any, l *slog.Logger) {
	if s, ok := plugin.(LoggerSetter); ok {
		s.SetLogger(OrDiscard(l))
	}
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

// OrDiscard returns l, or a logger that drops everything when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}

var discard = slog.New(slog.DiscardHandler)
