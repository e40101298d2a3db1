package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func newTestLogger(levels *Levels) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	next := slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: LevelAll,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(NewHandler(next, levels)), &buf
}

func TestHandlerFiltersByLogger(t *testing.T) {
	levels := NewLevels(slog.LevelInfo, nil)
	log, buf := newTestLogger(levels)
	worker := log.With("logger", "sluice.worker")
	broker := log.With("logger", "sluice.broker")

	worker.Debug("hidden")
	levels.Set("sluice.worker", slog.LevelDebug)
	worker.Debug("shown")
	broker.Debug("hidden too")
	log.Debug("root hidden")
	worker.Log(context.Background(), LevelTrace, "trace hidden")
	levels.Set("root", LevelTrace)
	log.Log(context.Background(), LevelTrace, "root trace shown")

	out := buf.String()
	assert.NotContains(t, out, "hidden")
	assert.Contains(t, out, `level=DEBUG msg=shown logger=sluice.worker`)
	assert.Contains(t, out, `msg="root trace shown"`)
	assert.Equal(t, 2, strings.Count(out, "\n"), out)
}

func TestHandlerRegistersLoggers(t *testing.T) {
	levels := NewLevels(slog.LevelInfo, nil)
	log, _ := newTestLogger(levels)
	_ = log.With("logger", "sluice.a").With("x", 1)
	_ = log.WithGroup("g").With("logger", "in.group")
	assert.Equal(t, []string{"sluice.a"}, levels.Known(), "a logger attribute inside a group does not name the logger")
	_, ok := levels.Get("sluice.a")
	assert.True(t, ok)
}

func TestHandlerLaterAttrRenames(t *testing.T) {
	levels := NewLevels(slog.LevelInfo, nil)
	levels.Set("b", slog.LevelDebug)
	log, buf := newTestLogger(levels)
	log.With("logger", "a").With("logger", "b").Debug("as b")
	assert.Contains(t, buf.String(), "as b")
}

func TestHandlerConcurrentSetAndLog(t *testing.T) {
	levels := NewLevels(slog.LevelInfo, nil)
	log := slog.New(NewHandler(slog.NewTextHandler(io.Discard, nil), levels)).With("logger", "sluice.x")
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 200 {
				if i == 0 && j%10 == 0 {
					levels.Set("sluice", slog.Level(j%8-4))
				}
				log.Debug("x")
			}
		})
	}
	wg.Wait()
}

func BenchmarkHandlerEnabled(b *testing.B) {
	levels := NewLevels(slog.LevelInfo, nil)
	h := NewHandler(slog.NewTextHandler(io.Discard, nil), levels).WithAttrs([]slog.Attr{slog.String("logger", "sluice.worker.sink")})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.Enabled(ctx, slog.LevelDebug)
	}
}

// A logger named below another shows one name, the new one, first; the
// attributes added around the names keep their order.
func TestHandlerShowsOneLoggerName(t *testing.T) {
	levels := NewLevels(slog.LevelInfo, nil)
	log, buf := newTestLogger(levels)
	worker := log.With("logger", "sluice.worker", "worker_id", "w1")
	group := worker.With("a", 1).With("logger", "sluice.worker.group", "b", 2)
	group.Info("joined", "c", 3)
	worker.Info("started")
	group.WithGroup("g").With("logger", "in.group").Info("grouped", "d", 4)
	log.With("x", 0).Info("unnamed")

	assert.Equal(t, `level=INFO msg=joined logger=sluice.worker.group worker_id=w1 a=1 b=2 c=3
level=INFO msg=started logger=sluice.worker worker_id=w1
level=INFO msg=grouped logger=sluice.worker.group worker_id=w1 a=1 b=2 g.logger=in.group g.d=4
level=INFO msg=unnamed x=0
`, buf.String())
}
