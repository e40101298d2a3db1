package mqtt

import (
	"bufio"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/sluicehq/sluice/connectors/kit"
)

// ack is one packet the writer sends: an acknowledgement once its
// ticket is done, or an answer (PINGRESP, SUBACK) at once.
type ack struct {
	t     *kit.Ticket // nil: nothing to wait for
	kind  byte        // packet type; 0 for none (a QoS 0 message)
	id    uint16
	code  byte   // v5 reason code (0: success)
	raw   []byte // the whole packet, when kind's encoding is not built here
	quota bool   // sending it ends one message's place in receive.maximum
}

// writeLoop sends the acknowledgements in the order the read loop handed
// them over, each once its ticket is done: MQTT wants them in receive
// order, and the tickets complete in that order anyway, as the queue is
// FIFO. It flushes when it has nothing ready, so a burst of ready acks
// goes out in one write. It ends when the read loop does, or closes the
// connection when a ticket failed (the task is stopping: the client
// resends what it did not get an ack for), or a write timed out (a
// client that does not read its acks).
func (c *mqttConn) writeLoop() {
	defer c.cancel() // a read loop waiting to hand over an ack gives up
	bw := bufio.NewWriterSize(c.nc, 8<<10)
	flush := func() bool {
		if bw.Buffered() == 0 {
			return true
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.c.writeTimeout))
		if err := bw.Flush(); err != nil {
			c.s.log.Debug("MQTT acknowledgements not written; disconnecting", "client", c.clientID, "error", err)
			_ = c.nc.Close()
			return false
		}
		return true
	}
	var last *kit.Ticket // the last ticket seen done
	for {
		var a ack
		select {
		case a = <-c.acks:
		default:
			if !flush() {
				return
			}
			select {
			case a = <-c.acks:
			case <-c.done:
				return
			}
		}
		if a.t != nil && a.t != last {
			select {
			case <-a.t.Done():
			default:
				if !flush() {
					return
				}
				select {
				case <-a.t.Done():
				case <-c.done:
					return
				}
			}
			if err := a.t.Wait(c.ctx); err != nil {
				c.s.log.Debug("MQTT messages not acknowledged by the broker; disconnecting", "client", c.clientID, "error", err)
				_ = c.nc.Close()
				return
			}
			last = a.t
		}
		if bw.Available() < 16+len(a.raw) && !flush() {
			return
		}
		c.encode(bw, a)
		if a.quota {
			c.inflight.Add(-1)
		}
	}
}

// encode writes a's packet.
func (c *mqttConn) encode(bw *bufio.Writer, a ack) {
	switch {
	case a.raw != nil:
		_, _ = bw.Write(a.raw)
	case a.kind == packets.Pingresp:
		_ = bw.WriteByte(packets.Pingresp << 4)
		_ = bw.WriteByte(0)
	default:
		// PUBACK, PUBREC, PUBCOMP: a v5 success needs no reason code.
		_ = bw.WriteByte(a.kind << 4)
		if a.code != 0 {
			_ = bw.WriteByte(3)
		} else {
			_ = bw.WriteByte(2)
		}
		_ = bw.WriteByte(byte(a.id >> 8))
		_ = bw.WriteByte(byte(a.id))
		if a.code != 0 {
			_ = bw.WriteByte(a.code)
		}
	}
}
