package httpsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Bounds on what a task buffers between flushes, whatever the batch
// keys: past either, every batch is sent, so that many distinct keys
// (batch.key.pattern=${key}) cannot grow memory without limit.
const (
	maxGroups        = 1024
	maxBufferedBytes = 64 << 20
)

// batch is the records waiting to go in one request: same method, URL,
// batch key and (Confluent) Kafka headers.
type batch struct {
	key   string
	url   string
	recs  []*connect.Record
	parts [][]byte
	bytes int64
}

// sinkTask buffers records into batches in Put and sends them when full
// and in Flush, so the offsets the worker commits are only those of
// records the endpoint accepted (or that were reported or skipped per
// behavior.on.error).
type sinkTask struct {
	ctx    connect.SinkTaskContext
	s      *settings
	eng    *engine
	log    *slog.Logger
	rep    *reporter
	groups map[string]*batch
	order  []*batch // groups in the order they were opened, sent in that order
	bytes  int64
}

func newSinkTask() *sinkTask { return &sinkTask{} }

// Start implements connect.SinkTask.
func (t *sinkTask) Start(ctx connect.SinkTaskContext, config map[string]string) error {
	s, eng, err := build(config, ctx.Logger())
	if err != nil {
		return fmt.Errorf("start HTTP sink task: %w", err)
	}
	t.ctx, t.s, t.eng, t.log = ctx, s, eng, ctx.Logger()
	t.groups = map[string]*batch{}
	if s.reporter != nil {
		if t.rep, err = newReporter(context.Background(), s.reporter, ctx, t.log); err != nil {
			return fmt.Errorf("start HTTP sink task: %w", err)
		}
	}
	return nil
}

// build resolves config into settings and an engine, or fails naming
// every bad key.
func build(config map[string]string, log *slog.Logger) (*settings, *engine, error) {
	s, cfg, err := resolve(config)
	if cfg.Raw() == nil {
		return nil, nil, err
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.NewConfigError(key, "%s: %s", key, fmt.Sprintf(format, args...)))
	}
	client := newClient(cfg, s.front, bad)
	auth := newAuth(cfg, s.front, client, bad)
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return s, &engine{s: s, client: client, auth: auth, log: connect.OrDiscard(log), now: time.Now}, nil
}

// Put implements connect.SinkTask: it adds records to their batches and
// sends every batch that became full.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	err := t.put(ctx, records)
	if err != nil && errors.Is(err, connect.ErrRetriable) {
		// Records of this call may already be buffered: the worker's
		// redelivery of the batch would send them twice. The unsent
		// batches stay buffered; the task fails, and a restart redelivers
		// from the last commit.
		return fmt.Errorf("HTTP sink put: %s", err.Error())
	}
	return err
}

func (t *sinkTask) put(ctx context.Context, records []*connect.Record) error {
	for _, r := range records {
		if r.Value == nil {
			if err := t.tombstone(ctx, r); err != nil {
				return err
			}
			continue
		}
		part, err := t.s.recordBody(r)
		if err != nil {
			if rerr := t.ctx.Report(r, err); rerr != nil {
				return rerr
			}
			continue
		}
		b := t.group(r)
		b.recs = append(b.recs, r)
		b.parts = append(b.parts, part)
		size := int64(len(part) + len(t.s.separator))
		b.bytes += size
		t.bytes += size
		if len(b.recs) >= t.s.maxRecords || b.bytes >= t.s.maxBytes {
			if err := t.sendBatch(ctx, b); err != nil {
				return err
			}
		}
		if len(t.groups) > maxGroups || t.bytes > maxBufferedBytes {
			if err := t.sendAll(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// group returns the open batch r belongs in, opening one if needed.
func (t *sinkTask) group(r *connect.Record) *batch {
	u := t.s.url.render(r)
	var k strings.Builder
	k.WriteString(u)
	k.WriteByte(0)
	if t.s.batchKey != nil {
		k.WriteString(t.s.batchKey.render(r))
	}
	if t.s.byHeaders {
		for _, h := range r.Headers {
			k.WriteByte(0)
			k.WriteString(h.Key)
			k.WriteByte('=')
			k.Write(javavalue.Append(nil, h.Schema, h.Value))
		}
	}
	key := k.String()
	b, ok := t.groups[key]
	if !ok {
		b = &batch{key: key, url: u}
		t.groups[key] = b
		t.order = append(t.order, b)
	}
	return b
}

// tombstone handles a record with a null value per behavior.on.null.values
// (Aiven: always fail).
func (t *sinkTask) tombstone(ctx context.Context, r *connect.Record) error {
	switch t.s.nullPolicy {
	case "ignore":
		return nil
	case "log":
		t.log.Info("HTTP sink skipped a record with a null value (behavior.on.null.values=log)", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset)
		return nil
	case "delete":
		if t.s.deletesInOrder {
			if err := t.sendAll(ctx); err != nil {
				return err
			}
		}
		err := t.eng.send(ctx, http.MethodDelete, t.s.url.render(r), nil)
		return t.outcome(ctx, []*connect.Record{r}, nil, err)
	}
	msg := "record value must not be null"
	if t.s.front == aiven {
		msg += " (the Aiven HTTP sink cannot send tombstones: drop them with a Filter transform and the RecordIsTombstone predicate, or use " + ConfluentClass + " with behavior.on.null.values)"
	} else {
		msg += " (behavior.on.null.values=fail)"
	}
	return t.ctx.Report(r, fmt.Errorf("%w: %s-%d@%d: %s", connect.ErrData, r.Topic, r.Partition, r.Offset, msg))
}

// sendBatch sends b and closes it, unless its failure is returned: then
// b stays buffered, so its records are neither lost nor committed.
func (t *sinkTask) sendBatch(ctx context.Context, b *batch) error {
	body := t.body(b)
	err := t.eng.send(ctx, t.s.method, b.url, body)
	if err := t.outcome(ctx, b.recs, b.parts, err); err != nil {
		return err
	}
	t.log.Debug("HTTP sink sent a batch", "records", len(b.recs), "bytes", len(body))
	t.close(b)
	return nil
}

// body renders b as prefix + parts joined by separator + suffix.
func (t *sinkTask) body(b *batch) []byte {
	var buf bytes.Buffer
	buf.Grow(int(b.bytes) + len(t.s.prefix) + len(t.s.suffix))
	buf.WriteString(t.s.prefix)
	for i, p := range b.parts {
		if i > 0 {
			buf.WriteString(t.s.separator)
		}
		buf.Write(p)
	}
	buf.WriteString(t.s.suffix)
	return buf.Bytes()
}

func (t *sinkTask) close(b *batch) {
	delete(t.groups, b.key)
	for i, o := range t.order {
		if o == b {
			t.order = append(t.order[:i], t.order[i+1:]...)
			break
		}
	}
	t.bytes -= b.bytes
}

// outcome settles the records of one request after send returned err:
// nil on success (reported to the result topic), else per
// behavior.on.error. It returns an error only when the records are not
// settled: the task must stop (or ctx ended) and they stay unsent.
func (t *sinkTask) outcome(ctx context.Context, recs []*connect.Record, parts [][]byte, err error) error {
	if err == nil {
		return t.rep.success(ctx, recs)
	}
	if ctx.Err() != nil || !isRequestError(err) {
		return err
	}
	switch t.s.onError {
	case "ignore":
		t.log.Debug("HTTP sink request failed, records skipped (behavior.on.error=ignore)", "records", len(recs), "error", err)
	case "log":
		t.log.Error("HTTP sink request failed, records skipped (behavior.on.error=log)", "records", len(recs), "error", err)
	default:
		for _, r := range recs {
			if rerr := t.ctx.Report(r, err); rerr != nil {
				return rerr
			}
		}
	}
	return t.rep.failure(ctx, recs, err)
}

// sendAll sends every open batch, oldest first.
func (t *sinkTask) sendAll(ctx context.Context) error {
	for len(t.order) > 0 {
		if err := t.sendBatch(ctx, t.order[0]); err != nil {
			return err
		}
	}
	return nil
}

// Flush implements connect.SinkTask: it sends every open batch and
// returns current only when all were settled; on an error nothing is
// committed and the unsent batches stay buffered.
func (t *sinkTask) Flush(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.sendAll(ctx); err != nil {
		if ctx.Err() != nil && !errors.Is(err, connect.ErrRetriable) {
			// The worker's flush timeout (offset.flush.timeout.ms) ended
			// retries that may yet succeed: the worker tries again at
			// its next flush, the batches still buffered.
			return nil, connect.Retriable(fmt.Errorf("HTTP sink flush: %w", err))
		}
		return nil, err
	}
	return current, nil
}

// Stop implements connect.SinkTask. Calling it again does nothing.
func (t *sinkTask) Stop() error {
	if t.eng != nil {
		t.eng.client.CloseIdleConnections()
	}
	t.rep.close()
	t.rep = nil
	return nil
}
