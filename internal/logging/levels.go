// Package logging gives slog the per-logger levels that Kafka Connect's
// /admin/loggers API (KIP-495) adjusts at run time.
//
// A logger is named by its "logger" attribute, bound once with
// slog.Logger.With("logger", "sluice.worker"). Names are dotted; a level set
// on a name applies to that logger and to every logger below it
// ("sluice" covers "sluice.worker" and "sluice.broker.fetch") unless a
// descendant has its own level. Loggers with no level of their own, and
// records with no logger name, use the root level.
//
//	levels := logging.NewLevels(slog.LevelInfo, nil)
//	log := slog.New(logging.NewHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logging.LevelAll}), levels))
//	wlog := log.With("logger", "sluice.worker")
//	levels.Set("sluice", slog.LevelDebug) // wlog now logs at DEBUG
//
// Levels are shown by their Log4j names (TRACE, DEBUG, INFO, WARN, ERROR,
// FATAL, OFF, ALL), as Kafka shows them.
package logging

import (
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RootLogger is the name Kafka's logging API gives the root logger.
const RootLogger = "root"

// The Log4j levels that slog has no constant for.
const (
	// LevelAll enables everything (Log4j ALL).
	LevelAll = slog.Level(math.MinInt32)
	// LevelTrace is Log4j TRACE, one step below DEBUG.
	LevelTrace = slog.LevelDebug - 4
	// LevelFatal is Log4j FATAL, one step above ERROR.
	LevelFatal = slog.LevelError + 4
	// LevelOff disables everything (Log4j OFF).
	LevelOff = slog.Level(math.MaxInt32)
)

// ParseLevel reads a Log4j level name, in any case.
func ParseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(s) {
	case "ALL":
		return LevelAll, true
	case "TRACE":
		return LevelTrace, true
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARN":
		return slog.LevelWarn, true
	case "ERROR":
		return slog.LevelError, true
	case "FATAL":
		return LevelFatal, true
	case "OFF":
		return LevelOff, true
	}
	return 0, false
}

// LevelName is the Log4j name of a level; a level between two names takes
// the lower one.
func LevelName(l slog.Level) string {
	switch {
	case l >= LevelOff:
		return "OFF"
	case l >= LevelFatal:
		return "FATAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	case l >= slog.LevelInfo:
		return "INFO"
	case l >= slog.LevelDebug:
		return "DEBUG"
	case l >= LevelTrace:
		return "TRACE"
	}
	return "ALL"
}

// LoggerLevel is one logger's level as Kafka's REST API shows it.
// LastModified is the time of the last change in Unix milliseconds, nil if
// the level was never changed at run time.
type LoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

// setting is a level set on a logger; modified is Unix ms, 0 for never.
type setting struct {
	level    slog.Level
	modified int64
}

func (s setting) show() LoggerLevel {
	out := LoggerLevel{Level: LevelName(s.level)}
	if s.modified != 0 {
		m := s.modified
		out.LastModified = &m
	}
	return out
}

// Levels holds the level of every logger. It is safe for concurrent use;
// handlers read it on every log call, so reads are cheap and writes rare.
type Levels struct {
	now func() time.Time
	// gen changes on every Set, so handlers can cache their effective level.
	gen atomic.Uint32

	mu       sync.RWMutex
	root     setting
	explicit map[string]setting
	known    map[string]struct{}
}

// NewLevels starts with every logger at root. now is the clock for
// last_modified; nil means time.Now.
func NewLevels(root slog.Level, now func() time.Time) *Levels {
	if now == nil {
		now = time.Now
	}
	l := &Levels{now: now, root: setting{level: root},
		explicit: map[string]setting{}, known: map[string]struct{}{}}
	l.gen.Store(1)
	return l
}

func isRoot(name string) bool { return name == "" || strings.EqualFold(name, RootLogger) }

// inNamespace reports whether name is ns or below it.
func inNamespace(name, ns string) bool {
	return name == ns || strings.HasPrefix(name, ns) && name[len(ns)] == '.'
}

// Set sets the level of namespace and every known logger below it (every
// logger, for "root"), and returns their names sorted. A logger whose level
// changes gets a last_modified time; as in Kafka, loggers already at the
// level are listed but keep their time.
func (l *Levels) Set(namespace string, level slog.Level) []string {
	now := l.now().UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.gen.Add(1)
	if isRoot(namespace) {
		namespace = RootLogger
		if l.root.level != level {
			l.root = setting{level: level, modified: now}
		}
	} else {
		l.known[namespace] = struct{}{}
	}
	var names []string
	for name := range l.known {
		if namespace == RootLogger || inNamespace(name, namespace) {
			names = append(names, name)
		}
	}
	old := make(map[string]slog.Level, len(names))
	for _, name := range names {
		old[name] = l.effectiveLocked(name)
	}
	for _, name := range names {
		if old[name] != level {
			l.explicit[name] = setting{level: level, modified: now}
		}
	}
	if namespace == RootLogger {
		names = append(names, RootLogger)
	}
	slices.Sort(names)
	return names
}

// Get returns a known logger's level: its own if set, else the one it
// inherits. Unknown names (never used by a handler nor set) are not found.
func (l *Levels) Get(name string) (LoggerLevel, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if isRoot(name) {
		return l.root.show(), true
	}
	if s, ok := l.explicit[name]; ok {
		return s.show(), true
	}
	if _, ok := l.known[name]; ok {
		return setting{level: l.effectiveLocked(name)}.show(), true
	}
	return LoggerLevel{}, false
}

// List returns the loggers whose level was set explicitly, and root.
func (l *Levels) List() map[string]LoggerLevel {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]LoggerLevel, len(l.explicit)+1)
	for name, s := range l.explicit {
		out[name] = s.show()
	}
	out[RootLogger] = l.root.show()
	return out
}

// Known returns the names of the loggers handlers have used or Set has
// named, sorted.
func (l *Levels) Known() []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Sorted(maps.Keys(l.known))
}

// Effective returns the level a logger logs at.
func (l *Levels) Effective(name string) slog.Level {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.effectiveLocked(name)
}

func (l *Levels) effectiveLocked(name string) slog.Level {
	for name != "" {
		if s, ok := l.explicit[name]; ok {
			return s.level
		}
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			break
		}
		name = name[:i]
	}
	return l.root.level
}

// register records a logger name a handler uses, so Get finds it.
func (l *Levels) register(name string) {
	if isRoot(name) {
		return
	}
	l.mu.RLock()
	_, ok := l.known[name]
	l.mu.RUnlock()
	if ok {
		return
	}
	l.mu.Lock()
	l.known[name] = struct{}{}
	l.mu.Unlock()
}
