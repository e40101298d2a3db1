package logging

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixedClock(ms int64) func() time.Time {
	return func() time.Time { return time.UnixMilli(ms) }
}

func ptr(v int64) *int64 { return &v }

func TestParseLevelAndName(t *testing.T) {
	for _, name := range []string{"ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"} {
		t.Run(name, func(t *testing.T) {
			l, ok := ParseLevel(name)
			require.True(t, ok)
			assert.Equal(t, name, LevelName(l))
			lower, ok := ParseLevel(strings.ToLower(name))
			require.True(t, ok)
			assert.Equal(t, l, lower)
		})
	}
	l, ok := ParseLevel("debug")
	require.True(t, ok, "case-insensitive")
	assert.Equal(t, slog.LevelDebug, l)
	_, ok = ParseLevel("VERBOSE")
	assert.False(t, ok)
	assert.Equal(t, LevelTrace, slog.LevelDebug-4)
	assert.Equal(t, "INFO", LevelName(slog.LevelInfo+2), "between names takes the lower")
}

func TestLevelsInheritance(t *testing.T) {
	tests := []struct {
		name string
		set  []setLevel // in order: a namespace set later overrides its descendants
		want map[string]slog.Level
	}{
		{"root only", nil, map[string]slog.Level{"sluice.worker": slog.LevelInfo, "": slog.LevelInfo}},
		{"prefix covers descendants", []setLevel{{"sluice", slog.LevelDebug}},
			map[string]slog.Level{"sluice.worker": slog.LevelDebug, "sluice.broker.fetch": slog.LevelDebug, "other": slog.LevelInfo}},
		{"dotted, not string prefix", []setLevel{{"sluice.work", slog.LevelDebug}},
			map[string]slog.Level{"sluice.worker": slog.LevelInfo, "sluice.work.x": slog.LevelDebug}},
		{"nearest ancestor wins", []setLevel{{"sluice", slog.LevelWarn}, {"sluice.broker", LevelTrace}},
			map[string]slog.Level{"sluice.broker.fetch": LevelTrace, "sluice.worker": slog.LevelWarn}},
		{"root changes the rest", []setLevel{{"root", slog.LevelError}},
			map[string]slog.Level{"anything": slog.LevelError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLevels(slog.LevelInfo, fixedClock(1))
			for _, sl := range tt.set {
				l.Set(sl.ns, sl.level)
			}
			for name, want := range tt.want {
				assert.Equal(t, want, l.Effective(name), name)
			}
		})
	}
}

func TestLevelsSetReturnsAffected(t *testing.T) {
	l := NewLevels(slog.LevelInfo, fixedClock(1000))
	for _, n := range []string{"sluice.worker", "sluice.worker.sink", "sluice.broker", "sluicex"} {
		l.register(n)
	}
	got := l.Set("sluice.worker", slog.LevelDebug)
	assert.Equal(t, []string{"sluice.worker", "sluice.worker.sink"}, got)

	got = l.Set("root", slog.LevelWarn)
	assert.Equal(t, []string{"root", "sluice.broker", "sluice.worker", "sluice.worker.sink", "sluicex"}, got)
	assert.Equal(t, slog.LevelWarn, l.Effective("sluice.worker"), "root sets every known logger, as Kafka does")
}

func TestLevelsGetAndList(t *testing.T) {
	now := int64(1000)
	l := NewLevels(slog.LevelInfo, func() time.Time { return time.UnixMilli(now) })
	l.register("sluice.worker")

	_, ok := l.Get("nope")
	assert.False(t, ok, "unknown logger")
	got, ok := l.Get("sluice.worker")
	require.True(t, ok)
	assert.Equal(t, LoggerLevel{Level: "INFO"}, got, "inherited level, never modified")
	assert.Equal(t, map[string]LoggerLevel{"root": {Level: "INFO"}}, l.List())

	l.Set("sluice", slog.LevelDebug)
	now = 2000
	l.Set("sluice", slog.LevelDebug) // unchanged: keeps its time
	got, ok = l.Get("ROOT")
	require.True(t, ok)
	assert.Equal(t, LoggerLevel{Level: "INFO"}, got)
	assert.Equal(t, map[string]LoggerLevel{
		"root":          {Level: "INFO"},
		"sluice":        {Level: "DEBUG", LastModified: ptr(1000)},
		"sluice.worker": {Level: "DEBUG", LastModified: ptr(1000)},
	}, l.List())
	assert.Equal(t, []string{"sluice", "sluice.worker"}, l.Known())
}

func TestLevelsSetSkipsLoggerAlreadyAtLevel(t *testing.T) {
	l := NewLevels(slog.LevelDebug, fixedClock(5))
	got := l.Set("sluice", slog.LevelDebug)
	assert.Equal(t, []string{"sluice"}, got)
	assert.Equal(t, map[string]LoggerLevel{"root": {Level: "DEBUG"}}, l.List(),
		"a logger already at the level is not set explicitly")
}

type setLevel struct {
	ns    string
	level slog.Level
}
