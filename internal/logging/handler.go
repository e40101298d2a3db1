package logging

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// LoggerKey is the attribute that names a logger.
const LoggerKey = "logger"

// Handler filters records by the level Levels gives the handler's logger
// and passes the rest to the handler it wraps. The wrapped handler's own
// level is never consulted, so give it a permissive one (LevelAll).
//
// The logger name is the last "logger" attribute added with WithAttrs
// outside any group; a "logger" attribute on a single record does not
// change its level, because Enabled runs before the record exists.
type Handler struct {
	next    slog.Handler
	levels  *Levels
	name    string
	grouped bool
	cache   *levelCache
}

// levelCache holds a logger's effective level for one Levels generation,
// packed as gen<<32 | uint32(level) so one atomic load answers Enabled.
type levelCache struct{ v atomic.Uint64 }

// NewHandler wraps next; records without a logger name use the root level.
func NewHandler(next slog.Handler, levels *Levels) *Handler {
	return &Handler{next: next, levels: levels, cache: &levelCache{}}
}

// Enabled reports whether level reaches the logger's effective level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level()
}

func (h *Handler) level() slog.Level {
	gen := h.levels.gen.Load()
	c := h.cache.v.Load()
	if uint32(c>>32) == gen {
		return slog.Level(int32(uint32(c)))
	}
	lvl := h.levels.Effective(h.name)
	h.cache.v.Store(uint64(gen)<<32 | uint64(uint32(int32(lvl))))
	return lvl
}

// Handle passes the record on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	return h.next.Handle(ctx, r)
}

// WithAttrs passes attrs on and, given a "logger" attribute, names the
// logger.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	out := *h
	out.next = h.next.WithAttrs(attrs)
	if !h.grouped {
		for _, a := range attrs {
			if a.Key == LoggerKey {
				out.name = a.Value.Resolve().String()
			}
		}
	}
	if out.name != h.name {
		h.levels.register(out.name)
		out.cache = &levelCache{}
	}
	return &out
}

// WithGroup opens a group; "logger" attributes inside it are ordinary.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	out := *h
	out.next = h.next.WithGroup(name)
	out.grouped = true
	return &out
}
