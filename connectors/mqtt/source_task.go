package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// SourceTask subscribes with a persistent session and turns each message
// into a record. MQTT has no offsets to resume from (§6.5): what makes a
// restart lose nothing is the server's session. Records carry the client
// id as source partition and the packet id as offset, for observability
// only; the task never reads them back.
// A QoS 1 or 2 message is acknowledged to the server only after the
// worker's CommitRecord for its record and for every record received
// before it (acknowledgements go in receive order, as MQTT requires): a
// task stopped or crashed before then leaves the message unacknowledged,
// and the server redelivers it to the next connection of the session.
type SourceTask struct {
	s      sourceSettings
	q      *kit.AckQueue
	client Client
	log    *slog.Logger

	// unacked holds, in receive order, the QoS 1 and 2 messages not yet
	// acknowledged to the server, each with the ticket of its record;
	// the acker acknowledges the head once its ticket is done. Its
	// capacity bounds the messages between receipt and commit.
	unacked chan pendingAck
	ctx     context.Context // ends at Stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	partition map[string]any // the records' SourcePartition

	received   atomic.Int64
	duplicates atomic.Int64
	stopOnce   sync.Once
}

type pendingAck struct {
	ticket *kit.Ticket
	msg    *Received
}

var (
	_ connect.SourceTaskCommitter = (*SourceTask)(nil)
	_ connect.TaskInfo            = (*SourceTask)(nil)
)

// Start connects and subscribes; it fails when no connection is made
// within max.retry.time.ms, or at once on refused credentials.
func (t *SourceTask) Start(ctx connect.SourceTaskContext, props map[string]string) error {
	s, err := parseSource(props)
	if err != nil {
		return fmt.Errorf("start MqttSourceTask: %w", err)
	}
	t.s = s
	t.log = ctx.Logger().With("mqtt.client.id", s.conn.ClientID)
	t.partition = map[string]any{"mqtt.client.id": s.conn.ClientID}
	t.q = kit.NewAckQueue(kit.QueueOptions{MaxRecords: s.queueSize, Batch: s.batch})
	// Every message waiting for its acknowledgement holds a record in the
	// queue or at the worker; twice the queue leaves room for the latter.
	t.unacked = make(chan pendingAck, 2*s.queueSize)
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.client = NewClient(s.conn, ClientOptions{
		Subscriptions: s.subscriptions(), QoS: s.qos, OnMessage: t.onMessage, Logger: t.log,
	})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.ackLoop()
	}()
	if err := t.client.Connect(t.ctx); err != nil {
		t.stopOnce.Do(t.shutdown)
		return fmt.Errorf("start MqttSourceTask %s: %w", s.conn.ClientID, err)
	}
	t.log.Info("mqtt source task started", "version", t.client.Version(), "subscriptions", s.subscriptions(), "qos", s.qos)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		select {
		case <-t.client.Done():
			t.q.Fail(fmt.Errorf("mqtt source %s: %w", s.conn.ClientID, t.client.Err()))
		case <-t.ctx.Done():
		}
	}()
	return nil
}

// onMessage runs on the client's goroutine, one message at a time: it
// queues the record and, for QoS 1 and 2, the message's place in the
// acknowledgement order. Blocking here while the queue is full holds the
// server back.
func (t *SourceTask) onMessage(m *Received) {
	t.received.Add(1)
	if m.Duplicate {
		if t.duplicates.Add(1) == 1 {
			t.log.Info("mqtt server redelivered a message (duplicate flag): counted in the task's mqtt.duplicates", "topic", m.Topic, "packet.id", m.PacketID)
		}
		t.log.Debug("mqtt duplicate", "topic", m.Topic, "packet.id", m.PacketID)
	}
	rec := m.record(t.s.topics.kafkaTopic(m.Topic), time.Now())
	// For observability only (§6.5): nothing is resumed from it, and
	// MQTT packet ids are 16-bit and reused.
	rec.SourcePartition = t.partition
	rec.SourceOffset = map[string]any{"mqtt.message.id": int32(m.PacketID)}
	var ticket *kit.Ticket
	for {
		var err error
		if t.q.Len() < t.s.queueSize {
			// Room in the queue, and this goroutine is the only one
			// adding: Submit does not block, so no timer is needed.
			ticket, err = t.q.Submit(t.ctx, rec)
		} else {
			ctx, cancel := context.WithTimeout(t.ctx, t.s.fullTimeout)
			ticket, err = t.q.Submit(ctx, rec)
			cancel()
		}
		if err == nil {
			break
		}
		if errors.Is(err, context.DeadlineExceeded) && t.ctx.Err() == nil {
			t.log.Warn("the record queue stayed full (records.buffer.queue.full.timeout); still waiting, the MQTT server holds the messages meanwhile",
				"records.buffer.queue.size", t.s.queueSize)
			continue
		}
		return // stopping, or failed: the message stays unacknowledged
	}
	if m.QoS == 0 {
		return
	}
	select {
	case t.unacked <- pendingAck{ticket: ticket, msg: m}:
	case <-t.ctx.Done():
	}
}

// ackLoop acknowledges messages in receive order, each once its record is
// committed. A record that can no longer be committed (the task stops or
// failed) ends the loop: neither it nor any later message is acknowledged.
func (t *SourceTask) ackLoop() {
	for {
		var p pendingAck
		select {
		case p = <-t.unacked:
		case <-t.ctx.Done():
			return
		}
		select {
		case <-p.ticket.Done():
		case <-t.ctx.Done():
			return
		}
		if p.ticket.Wait(t.ctx) != nil {
			return
		}
		p.msg.Ack()
	}
}

// Poll returns the queued records, waiting up to
// records.buffer.queue.empty.timeout for some.
func (t *SourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.s.emptyTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.s.emptyTimeout)
		defer cancel()
	}
	recs, err := t.q.Poll(ctx)
	if errors.Is(err, kit.ErrClosed) {
		return nil, nil
	}
	return recs, err
}

// CommitRecord lets the message of r be acknowledged (in order).
func (t *SourceTask) CommitRecord(r *connect.Record) error {
	t.q.Ack(r)
	return nil
}

// Commit has nothing to do: there are no source offsets.
func (t *SourceTask) Commit([]connect.SourceOffset) error { return nil }

// Stop disconnects without acknowledging the messages whose records were
// not committed; the server redelivers them to the next task of the
// session. It is idempotent.
func (t *SourceTask) Stop() error {
	t.stopOnce.Do(t.shutdown)
	return nil
}

func (t *SourceTask) shutdown() {
	if t.q == nil {
		return
	}
	t.q.Close() // fails the waiting tickets first: the acker acknowledges nothing more
	t.cancel()
	t.wg.Wait()
	_ = t.client.Close()
	t.log.Info("mqtt source task stopped", "received", t.received.Load(), "duplicates", t.duplicates.Load())
}

// Info reports the task's client id, protocol version and how many
// redelivered (duplicate) messages it received.
func (t *SourceTask) Info() map[string]string {
	if t.client == nil {
		return nil
	}
	return map[string]string{
		"mqtt.client.id":  t.s.conn.ClientID,
		"mqtt.version":    t.client.Version(),
		"mqtt.received":   strconv.FormatInt(t.received.Load(), 10),
		"mqtt.duplicates": strconv.FormatInt(t.duplicates.Load(), 10),
	}
}
