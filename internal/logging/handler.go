package logging

import (
	"context"
	"log/slog"
	"slices"
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
// change its level, because Enabled runs before the record exists. A
// record shows its logger's name once, as the first attribute: a logger
// named again below another (sluice.worker, then sluice.worker.group)
// shows only the new name.
type Handler struct {
	root    slog.Handler // the wrapped handler, before any WithAttrs or WithGroup
	ops     []handlerOp  // WithAttrs and WithGroup since, without the naming attributes
	next    slog.Handler // root with the logger's name, then ops
	levels  *Levels
	name    string
	grouped bool
	cache   *levelCache
}

// handlerOp is one WithAttrs (attrs) or WithGroup (group) call, replayed on
// the wrapped handler when the logger is renamed.
type handlerOp struct {
	attrs []slog.Attr
	group string
}

// levelCache holds a logger's effective level for one Levels generation,
// packed as gen<<32 | uint32(level) so one atomic load answers Enabled.
type levelCache struct{ v atomic.Uint64 }

// NewHandler wraps next; records without a logger name use the root level.
func NewHandler(next slog.Handler, levels *Levels) *Handler {
	return &Handler{root: next, next: next, levels: levels, cache: &levelCache{}}
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

// WithAttrs passes attrs on and, given a "logger" attribute outside any
// group, names the logger (replacing the name it had).
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	out := *h
	name, renamed := h.name, false
	if !h.grouped {
		rest := make([]slog.Attr, 0, len(attrs))
		for _, a := range attrs {
			if a.Key == LoggerKey {
				name, renamed = a.Value.Resolve().String(), true
				continue
			}
			rest = append(rest, a)
		}
		attrs = rest
	}
	out.ops = append(slices.Clip(h.ops), handlerOp{attrs: attrs})
	if !renamed {
		out.next = h.next.WithAttrs(attrs)
		return &out
	}
	out.name = name
	out.next = out.rebuild()
	if out.name != h.name {
		h.levels.register(out.name)
		out.cache = &levelCache{}
	}
	return &out
}

// rebuild applies the logger's name and then every WithAttrs and WithGroup
// to the wrapped handler, in their order.
func (h *Handler) rebuild() slog.Handler {
	next := h.root
	if h.name != "" {
		next = next.WithAttrs([]slog.Attr{slog.String(LoggerKey, h.name)})
	}
	for _, op := range h.ops {
		if op.group != "" {
			next = next.WithGroup(op.group)
		} else if len(op.attrs) > 0 {
			next = next.WithAttrs(op.attrs)
		}
	}
	return next
}

// WithGroup opens a group; "logger" attributes inside it are ordinary.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	out := *h
	out.next = h.next.WithGroup(name)
	out.ops = append(slices.Clip(h.ops), handlerOp{group: name})
	out.grouped = true
	return &out
}
