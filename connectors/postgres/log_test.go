package postgres

import (
	"bytes"
	"log"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// The task logs on the logger the worker's context gives it, which names
// the connector and the task, under the logger name /admin/loggers knows;
// nothing reaches the default logger or the standard library's log
// package (whose "2026/12/07 10:00:00 INFO ..." lines ignored
// SLUICE_LOG_LEVEL). LSNs print as Postgres prints them.
func TestTaskLogsOnTheWorkersLogger(t *testing.T) {
	pg := setupShop(t)
	var std bytes.Buffer
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(&std)
	t.Cleanup(func() { log.SetOutput(prevOut); log.SetFlags(prevFlags) })
	execApp(t, pg, "ALTER TABLE customers ADD COLUMN area polygon") // a type without mapping: a warning

	logs := &testenv.SyncBuffer{}
	ctx := &workerContext{logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("connector", "inventory", "task", 0)}
	cfg := namedConfig(pg, "inventory", "shop")
	task := Plugin.NewSourceTask().(*sourceTask)
	ctx.Props = cfg
	require.NoError(t, task.Start(ctx, cfg))
	ctx.commit(t, task, pollN(t, task, 350))
	require.NoError(t, task.Stop())

	out := logs.String()
	assert.Regexp(t, `level=INFO msg="replication slot created" connector=inventory task=0 logger=io.sluice.connect.postgres slot=sluice_test consistent_point=[0-9A-F]+/[0-9A-F]+\n`, out)
	assert.Contains(t, out, `level=WARN msg="replication slot keeps the server's WAL`)
	assert.Regexp(t, `level=WARN msg="column of a type without mapping left out of change events; include.unknown.datatypes=true includes it as bytes" `+
		`connector=inventory task=0 logger=io.sluice.connect.postgres table=public.customers column=area type=polygon`, out)
	assert.Empty(t, std.String(), "nothing went through the default logger or the log package")
}

// silentContext is a handle without a logger.
type silentContext struct{ taskContext }

func (*silentContext) Logger() *slog.Logger { return nil }

// A handle without a logger silences the task: it never falls back to the
// default logger, which names no connector.
func TestTaskWithoutLoggerLogsNothing(t *testing.T) {
	pg := setupShop(t)
	logs := captureLogs(t)
	ctx := &silentContext{}
	cfg := namedConfig(pg, "inventory", "shop")
	ctx.Props = cfg
	task := Plugin.NewSourceTask().(*sourceTask)
	require.NoError(t, task.Start(ctx, cfg))
	t.Cleanup(func() { _ = task.Stop() })
	pollN(t, task, 350)
	assert.Empty(t, logs.String())
}
