package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Bounds of the server that no key sets.
const (
	// topicAliasMax is the Topic Alias Maximum offered to v5 clients.
	topicAliasMax = 64
	// preConnectMaxPacket bounds the CONNECT packet: an unauthenticated
	// client cannot make the server hold more.
	preConnectMaxPacket = 256 << 10
	// growChunk is how much of a large packet's body is allocated ahead
	// of the bytes that arrived.
	growChunk = 64 << 10
	// maxBatch is the most messages read from one client that go to the
	// queue together.
	maxBatch = 256
)

// errDisconnect ends a connection after an answer was queued for it.
var errDisconnect = errors.New("disconnected")

// protocolError is a client's breach of the protocol: the connection is
// ended, a v5 client told why with a DISCONNECT reason code.
type protocolError struct {
	code packets.Code
	msg  string
}

func (e *protocolError) Error() string {
	return fmt.Sprintf("%s (reason 0x%02X): %s", e.code.Reason, e.code.Code, e.msg)
}

func violation(code packets.Code, format string, args ...any) error {
	return &protocolError{code: code, msg: fmt.Sprintf(format, args...)}
}

// mqttConn is one client connection.
type mqttConn struct {
	s     *mqttServer
	nc    net.Conn
	br    *bufio.Reader
	since time.Time // when accepted
	shed  bool      // closed to make room; guarded by s.mu

	connected atomic.Bool // CONNECT accepted
	version   byte        // 3 (3.1), 4 (3.1.1) or 5
	clientID  string
	keepAlive time.Duration // 0: none

	aliases map[uint16]string      // v5 topic aliases
	qos2    map[uint16]*kit.Ticket // QoS 2 packet ids received and not yet released
	batch   []pending              // messages read, not yet queued

	// inflight counts QoS 1 and 2 messages not yet acknowledged (QoS 2:
	// until PUBCOMP), against mqtt.receive.maximum.
	inflight atomic.Int32
	acks     chan ack      // to the writer, in receive order
	done     chan struct{} // closed when the read loop ends
	ctx      context.Context
	cancel   context.CancelFunc
	takeover atomic.Bool // another connection took the client id
}

// pending is one message read and not yet queued.
type pending struct {
	rec *connect.Record
	ack ack // kind 0 for QoS 0
}

func newMQTTConn(s *mqttServer, nc net.Conn) *mqttConn {
	ctx, cancel := context.WithCancel(s.ctx)
	return &mqttConn{s: s, nc: nc, br: bufio.NewReaderSize(nc, 32<<10), since: time.Now(), ctx: ctx, cancel: cancel,
		qos2: map[uint16]*kit.Ticket{}, done: make(chan struct{})}
}

// serve runs the connection to its end: the CONNECT, then the read loop
// beside the writer.
func (c *mqttConn) serve() {
	defer c.cancel()
	defer func() { _ = c.nc.Close() }()
	_ = c.nc.SetDeadline(time.Now().Add(c.s.c.connectTimeout))
	if tc, ok := c.nc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(c.ctx); err != nil {
			c.s.log.Debug("TLS handshake failed", "remote", c.nc.RemoteAddr().String(), "error", err)
			return
		}
	}
	if err := c.connect(); err != nil {
		c.s.log.Debug("MQTT connection refused", "remote", c.nc.RemoteAddr().String(), "error", err)
		return
	}
	_ = c.nc.SetDeadline(time.Time{})
	c.acks = make(chan ack, c.s.c.receiveMax+16)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writeLoop()
	}()
	err := c.readLoop()
	close(c.done)
	wg.Wait()
	var pe *protocolError
	switch {
	case c.takeover.Load():
		c.s.log.Info("MQTT client id taken over by a new connection", "client", c.clientID, "remote", c.nc.RemoteAddr().String())
		c.disconnect(packets.ErrSessionTakenOver)
	case errors.As(err, &pe):
		c.s.log.Info("MQTT client disconnected for a protocol error", "client", c.clientID, "remote", c.nc.RemoteAddr().String(), "error", err)
		c.disconnect(pe.code)
	case c.s.ctx.Err() != nil:
		c.disconnect(packets.ErrServerShuttingDown)
	case err != nil && !errors.Is(err, errDisconnect) && !errors.Is(err, io.EOF):
		c.s.log.Debug("MQTT connection ended", "client", c.clientID, "error", err)
	}
}

// disconnect tells a v5 client why the server ends the connection, once
// the writer has stopped.
func (c *mqttConn) disconnect(code packets.Code) {
	if c.version != 5 {
		return
	}
	var b bytes.Buffer
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: 5, ReasonCode: code.Code}
	_ = pk.DisconnectEncode(&b)
	_ = c.writeNow(b.Bytes())
}

// takenOver ends c because another connection took its client id: its
// read loop wakes and returns, and serve says why.
func (c *mqttConn) takenOver() {
	c.takeover.Store(true)
	_ = c.nc.SetReadDeadline(time.Now())
	c.cancel()
}

// readPacket reads one packet, refusing one larger than limit.
func (c *mqttConn) readPacket(limit int) (packets.FixedHeader, []byte, error) {
	var fh packets.FixedHeader
	b, err := c.br.ReadByte()
	if err != nil {
		return fh, nil, err
	}
	if err := fh.Decode(b); err != nil {
		return fh, nil, violation(packets.ErrMalformedPacket, "fixed header 0x%02X: %v", b, err)
	}
	n, lenBytes, err := packets.DecodeLength(c.br)
	if err != nil {
		if errors.Is(err, packets.ErrMalformedVariableByteInteger) {
			return fh, nil, violation(packets.ErrMalformedPacket, "remaining length: %v", err)
		}
		return fh, nil, err
	}
	if 1+lenBytes+n > limit {
		return fh, nil, violation(packets.ErrPacketTooLarge, "packet of %d bytes is larger than %d", 1+lenBytes+n, limit)
	}
	fh.Remaining = n
	if n <= growChunk {
		buf := make([]byte, n)
		_, err = io.ReadFull(c.br, buf)
		return fh, buf, err
	}
	// A large packet's memory is taken as its bytes arrive, not on the
	// word of its header.
	var bb bytes.Buffer
	bb.Grow(growChunk)
	m, err := bb.ReadFrom(io.LimitReader(c.br, int64(n)))
	if err == nil && int(m) < n {
		err = io.ErrUnexpectedEOF
	}
	return fh, bb.Bytes(), err
}

// readLoop reads packets until the client leaves or breaks the protocol.
// Messages read in one go (what the socket had buffered) are queued
// together; the loop blocks only while the queue or the acknowledgements
// in flight are full, which is the backpressure a slow broker gives.
func (c *mqttConn) readLoop() error {
	for {
		if c.br.Buffered() == 0 {
			if err := c.flush(); err != nil {
				return err
			}
			_ = c.nc.SetReadDeadline(time.Now().Add(c.keepAlive * 3 / 2))
		}
		fh, body, err := c.readPacket(c.s.c.maxPacket)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return violation(packets.ErrKeepAliveTimeout, "nothing received for 1.5 times the keep-alive of %s", c.keepAlive)
			}
			return err
		}
		if fh.Type != packets.Publish {
			if err := c.flush(); err != nil {
				return err
			}
		}
		switch fh.Type {
		case packets.Publish:
			err = c.publish(fh, body)
		case packets.Pubrel:
			err = c.pubrel(fh, body)
		case packets.Pingreq:
			err = c.send(ack{kind: packets.Pingresp})
		case packets.Subscribe, packets.Unsubscribe:
			err = c.refuseSubscription(fh, body)
		case packets.Disconnect:
			return errDisconnect
		case packets.Puback, packets.Pubrec, packets.Pubcomp:
			// The server sends no messages, so there is nothing to ack.
			err = violation(packets.ErrProtocolViolation, "packet type %d for a message the server never sent", fh.Type)
		case packets.Connect:
			err = violation(packets.ErrProtocolViolationSecondConnect, "a second CONNECT")
		case packets.Auth:
			err = violation(packets.ErrProtocolViolation, "AUTH without an authentication method")
		default:
			err = violation(packets.ErrProtocolViolation, "packet type %d is not sent by clients", fh.Type)
		}
		if err != nil {
			return err
		}
		if len(c.batch) >= maxBatch {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
}

// publish decodes a PUBLISH and adds its message to the batch.
func (c *mqttConn) publish(fh packets.FixedHeader, body []byte) error {
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.version}
	if err := pk.PublishDecode(body); err != nil {
		return violation(packets.ErrMalformedPacket, "PUBLISH: %v", err)
	}
	var alias uint16
	if c.version == 5 {
		alias = topicAliasMax
	}
	if code := pk.PublishValidate(alias); code != packets.CodeSuccess {
		return violation(code, "PUBLISH to %q, packet id %d", pk.TopicName, pk.PacketID)
	}
	if a := pk.Properties.TopicAlias; pk.Properties.TopicAliasFlag && a > 0 {
		if pk.TopicName != "" {
			c.aliases[a] = pk.TopicName
		} else if pk.TopicName = c.aliases[a]; pk.TopicName == "" {
			return violation(packets.ErrTopicAliasInvalid, "topic alias %d was never set", a)
		}
	}
	if strings.ContainsRune(pk.TopicName, 0) {
		return violation(packets.ErrTopicNameInvalid, "topic %q holds a NUL character", pk.TopicName)
	}
	if fh.Qos == 2 {
		if t, ok := c.qos2[pk.PacketID]; ok {
			// A resent QoS 2 message already queued: acknowledged again,
			// not written twice (MQTT 4.3.3).
			return c.send(ack{kind: packets.Pubrec, id: pk.PacketID, t: t})
		}
	}
	if fh.Qos > 0 {
		if n := c.inflight.Add(1); int(n) > c.s.c.receiveMax && c.version == 5 {
			return violation(packets.ErrReceiveMaximum, "more than %d QoS 1 and 2 messages unacknowledged", c.s.c.receiveMax)
		}
	}
	if fh.Dup {
		c.s.duplicates.Add(1)
	}
	m := Message{Topic: pk.TopicName, Payload: pk.Payload, QoS: fh.Qos, Retained: fh.Retain, Duplicate: fh.Dup, PacketID: pk.PacketID}
	if c.version == 5 {
		m.ContentType = pk.Properties.ContentType
		for _, u := range pk.Properties.User {
			m.UserProperties = append(m.UserProperties, [2]string{u.Key, u.Val})
		}
	}
	p := pending{rec: m.record(c.s.c.topics.kafkaTopic(m.Topic), time.Now())}
	switch fh.Qos {
	case 1:
		p.ack = ack{kind: packets.Puback, id: pk.PacketID, quota: true}
	case 2:
		p.ack = ack{kind: packets.Pubrec, id: pk.PacketID}
	}
	c.batch = append(c.batch, p)
	if fh.Qos == 2 {
		// The ticket is needed for a resend's answer: queue now.
		return c.flush()
	}
	return nil
}

// flush queues the batch's records as one ticket and hands their
// acknowledgements to the writer in order.
func (c *mqttConn) flush() error {
	if len(c.batch) == 0 {
		return nil
	}
	recs := make([]*connect.Record, len(c.batch))
	for i, p := range c.batch {
		recs[i] = p.rec
	}
	t, err := c.s.q.Submit(c.ctx, recs...)
	if err != nil {
		return fmt.Errorf("queue %d messages of client %s: %w", len(recs), c.clientID, err)
	}
	for _, p := range c.batch {
		if p.ack.kind == 0 {
			continue
		}
		a := p.ack
		a.t = t
		if a.kind == packets.Pubrec {
			c.qos2[a.id] = t
		}
		if err := c.send(a); err != nil {
			return err
		}
	}
	clear(c.batch)
	c.batch = c.batch[:0]
	return nil
}

// pubrel releases a QoS 2 packet id and queues its PUBCOMP.
func (c *mqttConn) pubrel(fh packets.FixedHeader, body []byte) error {
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.version}
	if err := pk.PubrelDecode(body); err != nil {
		return violation(packets.ErrMalformedPacket, "PUBREL: %v", err)
	}
	a := ack{kind: packets.Pubcomp, id: pk.PacketID}
	if _, ok := c.qos2[pk.PacketID]; ok {
		delete(c.qos2, pk.PacketID)
		a.quota = true
	} else if c.version == 5 {
		a.code = packets.ErrPacketIdentifierNotFound.Code
	}
	return c.send(a)
}

// refuseSubscription answers SUBSCRIBE and UNSUBSCRIBE: the server
// forwards nothing to clients.
func (c *mqttConn) refuseSubscription(fh packets.FixedHeader, body []byte) error {
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.version}
	var out packets.Packet
	var b bytes.Buffer
	if fh.Type == packets.Subscribe {
		if err := pk.SubscribeDecode(body); err != nil {
			return violation(packets.ErrMalformedPacket, "SUBSCRIBE: %v", err)
		}
		out = packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, ProtocolVersion: c.version, PacketID: pk.PacketID}
		for _, f := range pk.Filters {
			code := packets.ErrUnspecifiedError.Code // 3.1.1's Failure, v5's Unspecified error
			if c.version == 5 && strings.HasPrefix(f.Filter, "$share/") {
				code = packets.ErrSharedSubscriptionsNotSupported.Code
			}
			out.ReasonCodes = append(out.ReasonCodes, code)
		}
		if c.version == 5 {
			out.Properties.ReasonString = "this server only receives messages: subscriptions are not supported"
		}
		_ = out.SubackEncode(&b)
	} else {
		if err := pk.UnsubscribeDecode(body); err != nil {
			return violation(packets.ErrMalformedPacket, "UNSUBSCRIBE: %v", err)
		}
		out = packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, ProtocolVersion: c.version, PacketID: pk.PacketID}
		if c.version == 5 {
			for range pk.Filters {
				out.ReasonCodes = append(out.ReasonCodes, packets.CodeNoSubscriptionExisted.Code)
			}
		}
		_ = out.UnsubackEncode(&b)
	}
	return c.send(ack{kind: fh.Type + 1, raw: b.Bytes()})
}

// send hands a to the writer, waiting while its queue is full.
func (c *mqttConn) send(a ack) error {
	select {
	case c.acks <- a:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}
