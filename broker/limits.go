package broker

// Per-connection limits: the idle timeout (connections.max.idle.ms) and what
// a request costs the memory pool (queued.max.request.bytes).
//
// A connection is idle when no byte has been read from it and no response
// written to it for connections.max.idle.ms while no response is pending;
// a long-poll fetch or a produce waiting for fsync is not idle. A write
// that makes no progress for that long (a client that stopped reading)
// also closes the connection.
//
// Before reading a request body the reader reserves what the request may
// cost: the body plus what kmsg allocates decoding it. Decoding multiplies
// memory by up to decodeAmplification for requests made of arrays of small
// elements (10 M empty Metadata topic names: 20 MB on the wire, 480 MB
// decoded), so every request but Produce is charged that factor, and one
// whose charge exceeds the whole pool is refused. Produce requests carry
// record bytes that decode as slices of the body, so they are charged
// twice their size, and their shape is checked before decoding: the
// topics and partitions they name must fit in what was reserved.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var errIdle = errors.New("connection idle longer than connections.max.idle.ms")

// decodeAmplification is the most memory kmsg allocates decoding a request
// per byte of its body, reached by arrays of empty elements (a Metadata
// null topic name is 2 bytes and decodes to 48, 24.2 per byte with the
// allocator's rounding). TestDecodeAmplification measures every API
// against it.
const decodeAmplification = 25

// produceElementCost is the most kmsg allocates per topic or partition of a
// Produce request (64 bytes per topic, 40 per partition, measured).
const produceElementCost = 64

// requestCharge is what reading and decoding a request of n bytes for API
// key may cost, reserved in the pool before its body is read.
func (s *Server) requestCharge(key int16, n int) (int64, error) {
	if s.pool == nil {
		return 0, nil
	}
	if key == produceAPI.key {
		// Clamped: queued.max.request.bytes may be as small as
		// socket.request.max.bytes, as in Kafka.
		return min(2*int64(n), s.pool.size), nil
	}
	charge := int64(n) * decodeAmplification
	if charge > s.pool.size {
		return 0, fmt.Errorf("request of %d bytes for API key %d may take %d bytes to decode, more than queued.max.request.bytes=%d", n, key, charge, s.pool.size)
	}
	return charge, nil
}

// decodeCharge checks, before decoding, that a Produce request's topics and
// partitions fit in what was reserved for it, and reserves the rest without
// waiting when they do not. A request whose structure outweighs its records
// (no producer sends one: each partition carries a record batch of at least
// 61 bytes) is refused when the pool cannot cover it.
func (s *Server) decodeCharge(body []byte, charged int64) (int64, error) {
	if s.pool == nil || int16(binary.BigEndian.Uint16(body)) != produceAPI.key {
		return 0, nil
	}
	need := int64(len(body)) * decodeAmplification
	if elems, ok := produceElements(body); ok {
		need = int64(len(body)) + elems*produceElementCost
	}
	extra := need - charged
	if extra <= 0 {
		return 0, nil
	}
	if got := s.pool.takeUpTo(extra); got < extra {
		s.pool.release(got)
		return 0, fmt.Errorf("produce request of %d bytes needs %d bytes to decode, not free in queued.max.request.bytes=%d", len(body), need, s.pool.size)
	}
	return extra, nil
}

// produceElements counts the topics and partitions of a Produce request
// without decoding it; false if the request is malformed.
func produceElements(body []byte) (int64, bool) {
	rd := kbin.Reader{Src: body}
	rd.Int16()
	version := rd.Int16()
	rd.Int32()
	rd.UnsafeNullableString()
	if version > produceAPI.max {
		return 0, true // refused before decoding
	}
	flexible := version >= 9
	str := func() {
		if flexible {
			rd.UnsafeCompactNullableString()
		} else {
			rd.UnsafeNullableString()
		}
	}
	array := func() int32 {
		if flexible {
			return rd.CompactArrayLen()
		}
		return rd.ArrayLen()
	}
	tags := func() {
		if flexible {
			kmsg.SkipTags(&rd)
		}
	}
	tags()
	if version >= 3 {
		str() // transactional id
	}
	rd.Int16()
	rd.Int32()
	var n int64
	topics := array()
	for range max(topics, 0) {
		n++
		str()
		parts := array()
		for range max(parts, 0) {
			n++
			rd.Int32()
			if flexible {
				rd.CompactNullableBytes()
			} else {
				rd.NullableBytes()
			}
			tags()
			if !rd.Ok() {
				return n, false
			}
		}
		tags()
		if !rd.Ok() {
			return n, false
		}
	}
	return n, rd.Ok()
}

// idleReader reads from the connection, closing it (errIdle) once it has
// been idle for connections.max.idle.ms.
type idleReader struct{ c *conn }

func (r idleReader) Read(b []byte) (int, error) {
	idle := r.c.s.cfg.IdleTimeout
	if idle <= 0 {
		return r.c.nc.Read(b)
	}
	for {
		now := time.Now()
		deadline := time.Unix(0, r.c.lastActive.Load()).Add(idle)
		if r.c.inflight.Load() > 0 {
			deadline = now.Add(idle) // a pending response is activity
		}
		if !deadline.After(now) {
			return 0, errIdle
		}
		if err := r.c.nc.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		n, err := r.c.nc.Read(b)
		if n > 0 {
			r.c.touch()
			if isTimeout(err) {
				err = nil
			}
			return n, err
		}
		if !isTimeout(err) {
			return n, err
		}
	}
}

// deadlineWriter writes to the connection, failing a write that makes no
// progress for connections.max.idle.ms.
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(b []byte) (int, error) {
	if idle := w.c.s.cfg.IdleTimeout; idle > 0 {
		if err := w.c.nc.SetWriteDeadline(time.Now().Add(idle)); err != nil {
			return 0, err
		}
	}
	return w.c.nc.Write(b)
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}
