package mqtt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// Pipelined publishing, for the sink: many messages in flight, sent in
// the order they were given, each with its own acknowledgement.
//
// MQTT 5 (paho.golang): a blocking Publish from several goroutines would
// put the messages on the wire in whatever order the goroutines run, so
// messages go through autopaho's publish queue instead, whose one
// goroutine sends them in order without waiting (the session then holds
// each until its PUBACK or PUBCOMP, resending it over a new connection).
// The queue reports nothing back; the session does: ackSession wraps it
// and hands each PUBLISH's outcome to the waiter registered for it, the
// head of a FIFO in send order.
//
// MQTT 3.1.1 (paho.mqtt.golang): Publish already queues in order and
// returns a token that completes on the acknowledgement.

// AckWait waits until a pipelined message was acknowledged (PUBACK for
// QoS 1, PUBCOMP for QoS 2; written, for QoS 0) or ctx ends.
type AckWait func(ctx context.Context) error

// Pipeliner is the Client capability of pipelined publishing.
type Pipeliner interface {
	// Send puts one message on its way after those sent before it and
	// returns how to wait for its acknowledgement; it blocks only while
	// the client's queue is full or, for QoS 0, until the message is
	// written. Not safe for concurrent use: one goroutine sends.
	Send(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (AckWait, error)
}

// errDropped is a message the MQTT 5 publish queue dropped without
// sending it (paho.golang drops a message it finds invalid, such as a QoS
// above the server's maximum or a retained one where the server has no
// retained messages).
var errDropped = errors.New("the MQTT client dropped the message without sending it (QoS above the server's maximum QoS, or retain where the server offers no retained messages)")

// waiter is one message sent through the queue, waiting for its outcome.
type waiter struct {
	topic   string
	payload []byte
	done    chan packets.ControlPacket // buffered 1; a zero packet: the session ended
	err     error                      // set before done is closed, when dropped
	dropped chan struct{}
}

// ackSession is paho.golang's in-memory session, also routing each
// PUBLISH's acknowledgement to the waiter registered for it.
type ackSession struct {
	*state.State
	mu      sync.Mutex
	waiters []*waiter // in send order; the head is the next PUBLISH to enter the session
}

func newAckSession() *ackSession { return &ackSession{State: state.NewInMemory()} }

func (s *ackSession) push(w *waiter) {
	s.mu.Lock()
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
}

// AddToSession implements session.SessionManager: a PUBLISH of QoS 1 or 2
// entering the session is matched to its waiter, normally the head; the
// waiters before it were dropped by the queue and learn so. A PUBLISH no
// waiter matches (a blocking Publish) passes through.
func (s *ackSession) AddToSession(ctx context.Context, p session.Packet, resp chan<- packets.ControlPacket) error {
	pub, ok := p.(*packets.Publish)
	if !ok {
		return s.State.AddToSession(ctx, p, resp)
	}
	s.mu.Lock()
	var w *waiter
	for i, cand := range s.waiters {
		if cand.topic == pub.Topic && bytes.Equal(cand.payload, pub.Payload) {
			// The queue sends in order: the waiters before this one
			// were dropped.
			for _, d := range s.waiters[:i] {
				d.err = errDropped
				close(d.dropped)
			}
			s.waiters = s.waiters[i:]
			w = cand
			break
		}
	}
	s.mu.Unlock()
	if w == nil {
		return s.State.AddToSession(ctx, p, resp)
	}
	if err := s.State.AddToSession(ctx, p, w.done); err != nil {
		return err // the queue keeps the message and tries again
	}
	s.mu.Lock()
	if len(s.waiters) > 0 && s.waiters[0] == w {
		s.waiters = s.waiters[1:]
	}
	s.mu.Unlock()
	return nil
}

// wait is the AckWait of a message sent through the MQTT 5 queue.
func (w *waiter) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: no acknowledgement: %w", w.topic, ctx.Err())
	case <-w.dropped:
		return fmt.Errorf("publish to %s: %w", w.topic, w.err)
	case resp := <-w.done:
		return ackError(w.topic, resp)
	}
}

// ackError reads the final packet of a QoS 1 or 2 exchange.
func ackError(topic string, resp packets.ControlPacket) error {
	switch c := resp.Content.(type) {
	case *packets.Puback:
		if c.ReasonCode >= 0x80 {
			return fmt.Errorf("publish to %s: refused with reason code 0x%02x %s", topic, c.ReasonCode, c.Reason())
		}
		return nil
	case *packets.Pubcomp:
		if c.ReasonCode >= 0x80 {
			return fmt.Errorf("publish to %s: PUBCOMP with reason code 0x%02x", topic, c.ReasonCode)
		}
		return nil
	case *packets.Pubrec: // the session ends a QoS 2 exchange at PUBREC only when refused
		if c.ReasonCode >= 0x80 {
			return fmt.Errorf("publish to %s: refused with reason code 0x%02x %s", topic, c.ReasonCode, c.Reason())
		}
		return nil
	}
	return fmt.Errorf("publish to %s: the session ended before the server acknowledged the message", topic)
}

// Send implements Pipeliner.
func (c *client5) Send(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (AckWait, error) {
	if qos == 0 {
		// A QoS 0 publish returns once written, with no round trip.
		if err := c.Publish(ctx, topic, payload, 0, retain); err != nil {
			return nil, err
		}
		return func(context.Context) error { return nil }, nil
	}
	c.mu.Lock()
	cm := c.cm
	c.mu.Unlock()
	if cm == nil {
		return nil, fmt.Errorf("publish to %s: %w", topic, ErrClientClosed)
	}
	w := &waiter{topic: topic, payload: payload, done: make(chan packets.ControlPacket, 1), dropped: make(chan struct{})}
	c.acks.push(w)
	if err := cm.PublishViaQueue(ctx, &autopaho.QueuePublish{Publish: &paho.Publish{Topic: topic, Payload: payload, QoS: qos, Retain: retain}}); err != nil {
		return nil, fmt.Errorf("publish to %s: queue: %w", topic, err)
	}
	return w.wait, nil
}

// Send implements Pipeliner: paho.mqtt.golang queues publishes in order
// and completes each token on its acknowledgement.
func (c *client3) Send(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (AckWait, error) {
	c.mu.Lock()
	cli := c.cli
	c.mu.Unlock()
	if cli == nil {
		return nil, fmt.Errorf("publish to %s: %w", topic, ErrClientClosed)
	}
	// paho.mqtt.golang completes the tokens of messages published while
	// disconnected once they are merely stored: wait for the connection
	// instead (or for the client to give up), so that a completed token
	// means an acknowledgement.
	for !cli.IsConnectionOpen() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("publish to %s: not connected: %w", topic, ctx.Err())
		case <-c.Done():
			return nil, fmt.Errorf("publish to %s: %w", topic, c.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	tok := cli.Publish(topic, qos, retain, payload)
	return func(ctx context.Context) error {
		select {
		case <-tok.Done():
		case <-ctx.Done():
			return fmt.Errorf("publish to %s: no acknowledgement: %w", topic, ctx.Err())
		}
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		return nil
	}, nil
}

// Send implements Pipeliner for the version chosen at Connect.
func (a *autoClient) Send(ctx context.Context, topic string, payload []byte, qos byte, retain bool) (AckWait, error) {
	p, ok := a.get().(Pipeliner)
	if !ok {
		return nil, fmt.Errorf("publish to %s: not connected", topic)
	}
	return p.Send(ctx, topic, payload, qos, retain)
}
