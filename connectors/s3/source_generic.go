package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Generic mode: every object under topics.dir whose key matches a
// topic.regex.list pair, in key order, one record per line (or per
// object). One source partition for the prefix:
//
//	{"folder": "<topics.dir>"}  →  {"key": "<object>", "position": <byte after the last record produced>}
//
// A restart reopens the object at that byte (a ranged GET; a gzip object
// is read again from its start and skipped), and lists the objects after
// it. Objects added later are found by listing after the last key read;
// an object rewritten or added before it is not read again.

type genericReader struct {
	// life outlives Poll calls: objects stay open between them.
	life    context.Context
	s       *sourceSettings
	st      store
	ctx     connect.SourceTaskContext
	srcPart map[string]any
	// last is the key of the object being read or last read: listings
	// start after it.
	last string
	// after is where the next listing starts: the last key listed
	// while a listing goes on, the last matching key once it reached the
	// end (so an object added later after it is found).
	after string
	// lastMatch is the last matching key queued (or committed).
	lastMatch string
	cur       recordReader
	topic     string // of cur
	queue     []string
	// resumeAt, when not -1, is the byte of last to reopen at: a
	// committed offset's, or where a cut read stopped.
	resumeAt int64
	begun    bool
	listed   time.Time
	// exhausted is true when the last listing reached the end.
	exhausted bool
}

func newGenericReader(life context.Context, s *sourceSettings, st store, ctx connect.SourceTaskContext) *genericReader {
	return &genericReader{life: life, s: s, st: st, ctx: ctx, srcPart: map[string]any{"folder": s.topicsDir}, resumeAt: -1}
}

// route returns the topic of key, or false when no pair matches.
func (g *genericReader) route(key string) (string, bool) {
	for _, r := range g.s.routes {
		if r.re.MatchString(key) {
			return r.topic, true
		}
	}
	return "", false
}

// begin reads the committed offset: the object to reopen, at the byte
// after the last record produced.
func (g *genericReader) begin() error {
	g.begun = true
	off, err := g.ctx.Offset(g.srcPart)
	if err != nil || off == nil {
		return err
	}
	key, ok, err := off.String("key")
	if err != nil {
		return fmt.Errorf("committed offset of %v: %w", g.srcPart, err)
	}
	pos, pok, err := off.Int("position")
	if err != nil {
		return fmt.Errorf("committed offset of %v: %w", g.srcPart, err)
	}
	if !ok || !pok || pos < 0 {
		return fmt.Errorf("%w: committed offset %v needs a string key and a non-negative integer position", connect.ErrOffset, off)
	}
	g.last, g.after, g.lastMatch = key, key, key
	if _, routed := g.route(key); routed {
		g.resumeAt = pos
	}
	return nil
}

// list queues up to one page of matching keys after the last one.
func (g *genericReader) list(ctx context.Context) error {
	g.listed = time.Now()
	n := 0
	stop := errors.New("page full")
	err := listKeys(ctx, g.st.c, g.st.bucket, g.s.topicsPrefix(), g.after, func(key string) error {
		n++
		g.after = key
		if _, ok := g.route(key); ok {
			g.queue = append(g.queue, key)
			g.lastMatch = key
		}
		if n >= listPageSize {
			return stop
		}
		return nil
	})
	g.exhausted = err == nil
	if g.exhausted {
		g.after = g.lastMatch
	}
	if errors.Is(err, stop) {
		err = nil
	}
	return err
}

func (g *genericReader) poll(ctx context.Context, max int) (recs []*connect.Record, more bool, err error) {
	if !g.begun {
		if err := g.begin(); err != nil {
			return nil, false, err
		}
	}
	for len(recs) < max {
		if g.cur == nil {
			open, wait, err := g.openNext(ctx)
			if err != nil || wait {
				return recs, false, err
			}
			if !open {
				return recs, !g.exhausted, nil
			}
		}
		schema, v, err := g.cur.next()
		if errors.Is(err, io.EOF) {
			_ = g.cur.close()
			g.cur = nil
			continue
		}
		if isTransient(err) {
			// Reopen the object at the next record.
			g.resumeAt = g.cur.pos()
			_ = g.cur.close()
			g.cur = nil
			return recs, false, retriable(err)
		}
		if err != nil {
			return recs, false, err
		}
		recs = append(recs, g.record(schema, v))
	}
	return recs, true, nil
}

// openNext opens the object to read: the one to resume, or the next
// queued (listing when the queue is empty). open is false when there is
// none yet; wait when the poll interval has not passed since the last
// listing.
func (g *genericReader) openNext(ctx context.Context) (open, wait bool, err error) {
	for {
		if g.resumeAt >= 0 {
			rr, err := openLines(g.life, g.st, g.s.value, g.last, g.resumeAt, g.s.perObject)
			if errors.Is(err, errNoObject) {
				g.ctx.Logger().Warn("the object being read is gone; going on after it", "key", g.last)
				g.resumeAt = -1
				continue
			}
			if err != nil {
				return false, false, retriable(err)
			}
			g.cur, g.resumeAt = rr, -1
			g.topic, _ = g.route(g.last)
			return true, false, nil
		}
		if len(g.queue) == 0 {
			if g.exhausted && time.Since(g.listed) < g.s.poll {
				return false, true, nil
			}
			if err := g.list(ctx); err != nil {
				return false, false, retriable(err)
			}
			if len(g.queue) == 0 {
				return false, false, nil
			}
		}
		key := g.queue[0]
		rr, err := openLines(g.life, g.st, g.s.value, key, 0, g.s.perObject)
		if err != nil && !errors.Is(err, errNoObject) {
			return false, false, retriable(err)
		}
		g.queue, g.last = g.queue[1:], key
		if err != nil {
			continue // deleted since the listing
		}
		g.cur = rr
		g.topic, _ = g.route(key)
		return true, false, nil
	}
}

// record makes the record of one line or object.
func (g *genericReader) record(schema *connect.Schema, v any) *connect.Record {
	r := &connect.Record{
		Topic: g.topic, Partition: connect.AnyPartition, ValueSchema: schema, Value: v,
		SourcePartition: g.srcPart,
		SourceOffset:    map[string]any{"key": g.last, "position": g.cur.pos()},
	}
	if b, ok := v.([]byte); ok && g.s.valueAsString {
		r.ValueSchema, r.Value = connect.OptionalStringSchema, string(b)
	}
	if g.s.keyIsObjectKey {
		r.KeySchema, r.Key = connect.OptionalStringSchema, g.last
	}
	return r
}

func (g *genericReader) closeAll() {
	if g.cur != nil {
		_ = g.cur.close()
		g.cur = nil
	}
}
