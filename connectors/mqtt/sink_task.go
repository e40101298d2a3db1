package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// maxInFlight bounds the messages published and not yet acknowledged:
// past it, Put waits for the oldest.
const maxInFlight = 10000

// inFlight is one published message waiting for its acknowledgement.
type inFlight struct {
	tp       connect.TopicPartition
	offset   int64
	wait     AckWait
	deadline time.Time // zero: none
}

// sinkTask publishes records in Put without waiting (in order, through
// the client's pipeline) and waits in Flush until every message sent
// before it was acknowledged, so the offsets the worker commits never run
// ahead of the server. A message that fails or times out rewinds its
// partition to it: the worker delivers the records again and they are
// published again (at least once).
type sinkTask struct {
	ctx     connect.SinkTaskContext
	s       *sinkSettings
	log     *slog.Logger
	client  Client
	pipe    Pipeliner
	pending []inFlight
	// rewound holds, per partition, the offset a failure rewound to, until
	// the next Flush: offsets past it are not safe to commit.
	rewound map[connect.TopicPartition]int64
}

// Start implements connect.SinkTask: it connects (retrying for up to
// max.retry.time.ms).
func (t *sinkTask) Start(ctx connect.SinkTaskContext, config map[string]string) error {
	s, err := resolveSink(config)
	if err != nil {
		return fmt.Errorf("start MQTT sink task: %w", err)
	}
	if s.conn.ClientID == "" {
		s.conn.ClientID = "sluice-" + config["name"]
	}
	t.ctx, t.s, t.log = ctx, s, ctx.Logger()
	t.rewound = map[connect.TopicPartition]int64{}
	c := NewClient(s.conn, ClientOptions{Logger: t.log})
	if err := c.Connect(context.Background()); err != nil {
		_ = c.Close()
		return fmt.Errorf("start MQTT sink task: %w", err)
	}
	p, ok := c.(Pipeliner)
	if !ok {
		_ = c.Close()
		return fmt.Errorf("start MQTT sink task: the %s client cannot pipeline", c.Version())
	}
	t.client, t.pipe = c, p
	t.log.Info("MQTT sink task started", "client.id", s.conn.ClientID, "version", c.Version(), "qos", s.qos, "retained", s.retain)
	return nil
}

// Put implements connect.SinkTask: each record's message is sent after
// the previous one's, without waiting for acknowledgements (beyond
// maxInFlight). A record that cannot become a message goes to the
// errant record reporter.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	for i, r := range records {
		if err := t.gaveUp(); err != nil {
			return err
		}
		topic, payload, skip, err := t.message(r)
		if err != nil {
			if rerr := t.ctx.Report(r, err); rerr != nil {
				return rerr
			}
			continue
		}
		if skip {
			continue
		}
		for len(t.pending) >= maxInFlight {
			if err := t.settleOldest(ctx); err != nil {
				return t.failed(ctx, err, records[i:])
			}
		}
		wait, err := t.pipe.Send(ctx, topic, payload, t.s.qos, t.s.retain)
		if err != nil {
			return t.failed(ctx, err, records[i:])
		}
		tp, off := origin(r)
		f := inFlight{tp: tp, offset: off, wait: wait}
		if t.s.timeout > 0 {
			f.deadline = time.Now().Add(t.s.timeout)
		}
		t.pending = append(t.pending, f)
	}
	return nil
}

// message is r's MQTT topic and payload, or skip for a tombstone that
// publishes nothing.
func (t *sinkTask) message(r *connect.Record) (topic string, payload []byte, skip bool, err error) {
	topic, err = t.s.topic.render(r)
	if err != nil {
		return "", nil, false, err
	}
	if r.Value == nil {
		switch t.s.nulls {
		case nullIgnore:
			return "", nil, true, nil
		case nullLog:
			t.log.Info("MQTT sink skipped a record with a null value (behavior.on.null.values=log)", "record", recordName(r))
			return "", nil, true, nil
		case nullFail:
			return "", nil, false, fmt.Errorf("%w: %s has a null value (behavior.on.null.values=fail)", connect.ErrData, recordName(r))
		}
		return topic, []byte{}, false, nil // delete: an empty retained message clears the topic's retained one
	}
	payload, err = t.s.payload(r)
	return topic, payload, false, err
}

// gaveUp is the client's final error once it stopped reconnecting
// (max.retry.time.ms): the task fails.
func (t *sinkTask) gaveUp() error {
	select {
	case <-t.client.Done():
		return fmt.Errorf("MQTT sink: %w", t.client.Err())
	default:
		return nil
	}
}

// settleOldest waits for the oldest message's acknowledgement, up to its
// deadline (mqtt.publish.timeout.ms) or ctx's end.
func (t *sinkTask) settleOldest(ctx context.Context) error {
	f := t.pending[0]
	wctx := ctx
	if !f.deadline.IsZero() {
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, f.deadline)
		defer cancel()
	}
	if err := f.wait(wctx); err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (mqtt.publish.timeout.ms=%d)", err, t.s.timeout.Milliseconds())
		}
		return fmt.Errorf("MQTT sink: %s-%d@%d: %w", f.tp.Topic, f.tp.Partition, f.offset, err)
	}
	t.pending = t.pending[1:]
	return nil
}

// failed handles a message that will not be acknowledged (or a send that
// failed): every partition is rewound to its oldest record not known to
// be published, both the messages in flight and the records of this Put
// not yet sent (rest), and forgotten; the worker delivers them again.
// When ctx ended (the worker stopping the task or its flush timeout), the
// messages stay in flight instead, as they may yet be acknowledged.
func (t *sinkTask) failed(ctx context.Context, err error, rest []*connect.Record) error {
	if ctx.Err() != nil {
		return connect.Retriable(fmt.Errorf("MQTT sink: %w", err))
	}
	if gerr := t.gaveUp(); gerr != nil {
		return gerr
	}
	to := map[connect.TopicPartition]int64{}
	note := func(tp connect.TopicPartition, off int64) {
		if cur, ok := to[tp]; !ok || off < cur {
			to[tp] = off
		}
	}
	for _, f := range t.pending {
		note(f.tp, f.offset)
	}
	for _, r := range rest {
		note(origin(r))
	}
	for tp, off := range to {
		t.ctx.Rewind(tp, off)
		if cur, ok := t.rewound[tp]; !ok || off < cur {
			t.rewound[tp] = off
		}
	}
	t.log.Warn("MQTT sink publish failed; publishing again from the first unacknowledged record", "error", err, "in_flight", len(t.pending), "rewound", to)
	t.pending = nil
	return nil
}

// Flush implements connect.SinkTask: it returns current once every
// message sent was acknowledged. After a failure it returns the offsets
// rewound to, for the partitions it rewound; when ctx ends first it
// returns a retriable error and commits nothing.
func (t *sinkTask) Flush(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	if err := t.gaveUp(); err != nil {
		return nil, err
	}
	for len(t.pending) > 0 {
		if err := t.settleOldest(ctx); err != nil {
			if ferr := t.failed(ctx, err, nil); ferr != nil {
				return nil, ferr
			}
		}
	}
	safe := make(map[connect.TopicPartition]int64, len(current))
	for tp, off := range current {
		if r, ok := t.rewound[tp]; ok && r < off {
			off = r
		}
		safe[tp] = off
	}
	clear(t.rewound)
	return safe, nil
}

// Stop implements connect.SinkTask: it disconnects; messages not yet
// acknowledged were not committed and are delivered again to the next
// task. Calling it again does nothing.
func (t *sinkTask) Stop() error {
	if t.client != nil {
		_ = t.client.Close()
	}
	t.pending = nil
	return nil
}
