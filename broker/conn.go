package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// api is one served Kafka API: its key, the version range advertised in
// ApiVersions, and its handler.
type api struct {
	key      int16
	min, max int16
	handle   func(c *conn, req kmsg.Request) *pending
}

// apiTable is indexed by API key; built once per server.
type apiTable map[int16]api

// newAPITable lists every API the broker serves. A duplicate key is a
// programming error and panics at start.
func newAPITable(apis ...api) apiTable {
	t := apiTable{}
	for _, a := range apis {
		if _, dup := t[a.key]; dup {
			panic(fmt.Sprintf("broker: API key %d registered twice", a.key))
		}
		if kmsg.RequestForKey(a.key) == nil || a.max > kmsg.RequestForKey(a.key).MaxVersion() {
			panic(fmt.Sprintf("broker: API key %d v%d is not known to kmsg", a.key, a.max))
		}
		t[a.key] = a
	}
	return t
}

// pending is a response being prepared. The connection writes responses in
// request order; each waits for its done channel.
type pending struct {
	resp   kmsg.Response // nil: send nothing (acks=0)
	corrID int32
	done   chan struct{}
	// release, if set, runs once the response is encoded (or dropped):
	// the handler's pooled buffers go back then.
	release func()
	// written, if set, runs once the response is written (or dropped):
	// what the response holds until it has left (the pool bytes of its
	// records, the connection's fetch slot) goes back then.
	written func()
	// charge is the pool bytes reserved for the request, given back
	// once the response is written.
	charge int64
}

func ready(resp kmsg.Response) *pending {
	p := &pending{resp: resp, done: make(chan struct{})}
	close(p.done)
	return p
}

// later returns a pending response computed by fn in its own goroutine, so
// the connection can go on reading (pipelined produce, long-poll fetch).
func (c *conn) later(fn func() kmsg.Response) *pending {
	p := &pending{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.resp = fn()
	}()
	return p
}

// conn serves one client connection.
type conn struct {
	s        *Server
	nc       net.Conn
	log      *slog.Logger
	clientID string
	ctx      context.Context // ends when the connection or server closes
	// fetchSlot is held by the one fetch of this connection being
	// answered: as in Kafka, which handles one request per connection at
	// a time, a client pipelining fetches on a socket it never reads
	// holds at most one fetch response.
	fetchSlot chan struct{}
	// lastActive (unix nanoseconds) is when a byte was last read or a
	// response last written; inflight counts responses not yet written.
	// Together they say whether the connection is idle.
	lastActive atomic.Int64
	inflight   atomic.Int32
}

// maxInflight bounds the responses a connection may have pending; the reader
// stops reading past it (backpressure on pipelining clients).
const maxInflight = 64

// maxKeptBuffer is the largest response buffer a connection keeps for the
// next response; fetch responses of a few MiB are common, and regrowing the
// buffer for each one costs a copy per doubling.
const maxKeptBuffer = 16 << 20

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, log: s.log.With("remote", nc.RemoteAddr().String()), fetchSlot: make(chan struct{}, 1)}
	c.touch()
	return c
}

func (c *conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

func (c *conn) serve(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.ctx = ctx
	queue := make(chan *pending, maxInflight)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(queue)
		cancel()
		c.nc.Close()
	}()
	err := c.readLoop(ctx, queue)
	close(queue)
	switch {
	case errors.Is(err, errIdle):
		c.log.Debug("closing idle connection", "client", clientIDAttr(c.clientID), "idle", c.s.cfg.IdleTimeout)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil:
		c.log.Debug("closing connection", "client", clientIDAttr(c.clientID), "err", err)
	}
	<-writerDone
	c.nc.Close()
}

func (c *conn) readLoop(ctx context.Context, queue chan<- *pending) error {
	r := bufio.NewReaderSize(idleReader{c}, 64<<10)
	for {
		p, err := c.readRequest(ctx, r)
		if err != nil {
			return err
		}
		c.inflight.Add(1)
		select {
		case queue <- p:
		case <-ctx.Done():
			<-p.done
			p.finish(c)
			return ctx.Err()
		}
	}
}

// readRequest reads one request frame, reserving its bytes in the pool
// first, decodes it and starts its handler. Any error closes the
// connection, as Kafka does for requests it cannot parse.
func (c *conn) readRequest(ctx context.Context, r *bufio.Reader) (*pending, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 8 || int(n) > c.s.cfg.MaxRequestBytes {
		return nil, fmt.Errorf("request of %d bytes, limit socket.request.max.bytes=%d", n, c.s.cfg.MaxRequestBytes)
	}
	head, err := r.Peek(2)
	if err != nil {
		return nil, fmt.Errorf("truncated request: %w", err)
	}
	key := int16(binary.BigEndian.Uint16(head))
	charge, err := c.s.requestCharge(key, int(n))
	if err != nil {
		return nil, err
	}
	if err := c.waitPool(ctx, charge); err != nil {
		return nil, err
	}
	p, err := c.readAndDispatch(r, int(n), charge)
	if err != nil {
		c.s.pool.release(charge)
		return nil, err
	}
	return p, nil
}

func (c *conn) readAndDispatch(r io.Reader, n int, charge int64) (*pending, error) {
	body, err := readBody(r, n)
	if err != nil {
		return nil, fmt.Errorf("truncated request: %w", err)
	}
	extra, err := c.s.decodeCharge(body, charge)
	if err != nil {
		return nil, err
	}
	p, err := c.dispatch(body)
	if err != nil {
		c.s.pool.release(extra)
		return nil, err
	}
	p.charge = charge + extra
	return p, nil
}

// waitPool reserves a request's bytes, waiting while the pool is spent;
// waiting longer than connections.max.idle.ms closes the connection.
func (c *conn) waitPool(ctx context.Context, charge int64) error {
	if c.s.pool.tryAcquire(charge) {
		return nil
	}
	if c.s.cfg.IdleTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.s.cfg.IdleTimeout, errIdle)
		defer cancel()
	}
	if err := c.s.pool.acquire(ctx, charge); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errIdle) {
			return fmt.Errorf("waited %s for %d bytes of queued.max.request.bytes: %w", c.s.cfg.IdleTimeout, charge, errIdle)
		}
		return err
	}
	return nil
}

// readBody reads a request body of n bytes, growing the buffer as bytes
// arrive rather than allocating the declared size up front: a client that
// declares 100 MB and sends ten bytes costs ten bytes and a small buffer.
func readBody(r io.Reader, n int) ([]byte, error) {
	const first = 64 << 10
	body := make([]byte, 0, min(n, first))
	for len(body) < n {
		if len(body) == cap(body) {
			// Quadruple, so a 1 MiB body is copied twice, not four times.
			body = slices.Grow(body, min(3*cap(body), n-len(body)))
		}
		m, err := r.Read(body[len(body):min(cap(body), n)])
		body = body[:len(body)+m]
		if err != nil && len(body) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return body, nil
}

// dispatch decodes one request and starts its handler. An error closes the
// connection, as Kafka does for requests it cannot parse.
func (c *conn) dispatch(body []byte) (*pending, error) {
	rd := kbin.Reader{Src: body}
	key, version, corrID := rd.Int16(), rd.Int16(), rd.Int32()
	clientID := rd.NullableString()
	if !rd.Ok() {
		return nil, fmt.Errorf("truncated request header")
	}
	if clientID != nil {
		c.clientID = *clientID
	}
	a, ok := c.s.apis[key]
	if !ok {
		return nil, fmt.Errorf("unsupported API key %d", key)
	}
	req := kmsg.RequestForKey(key)
	if key == kmsg.ApiVersions.Int16() && version > a.max {
		// KIP-511: answer an ApiVersions we cannot parse with v0 and
		// UNSUPPORTED_VERSION, so the client retries at our version.
		p := ready(c.s.apiVersionsTooNew())
		p.corrID = corrID
		return p, nil
	}
	if version < a.min || version > a.max {
		return nil, fmt.Errorf("unsupported version %d of API key %d (serving %d to %d)", version, key, a.min, a.max)
	}
	req.SetVersion(version)
	if req.IsFlexible() {
		kmsg.SkipTags(&rd)
		if !rd.Ok() {
			return nil, fmt.Errorf("truncated request header tags")
		}
	}
	if err := req.ReadFrom(rd.Src); err != nil {
		return nil, fmt.Errorf("decode API key %d v%d: %w", key, version, err)
	}
	p := a.handle(c, req)
	p.corrID = corrID
	return p, nil
}

func (c *conn) writeLoop(queue <-chan *pending) {
	w := bufio.NewWriterSize(deadlineWriter{c}, 64<<10)
	buf := make([]byte, 0, 4096)
	for p := range queue {
		select {
		case <-p.done:
		default:
			// Do not hold written responses while waiting for this one.
			if w.Buffered() > 0 && w.Flush() != nil {
				c.drain(p, queue)
				return
			}
			<-p.done
		}
		if p.resp == nil {
			p.finish(c)
			continue
		}
		buf = appendResponse(buf[:0], p.corrID, p.resp)
		p.encoded()
		_, err := w.Write(buf)
		if err == nil && len(queue) == 0 {
			err = w.Flush()
		}
		if err != nil {
			c.drain(p, queue)
			return
		}
		p.finish(c)
		if cap(buf) > maxKeptBuffer {
			buf = make([]byte, 0, 4096) // do not pin one huge fetch's buffer
		}
	}
}

// drain waits out the remaining handlers after the connection broke, so
// their goroutines end and their bytes go back before the connection is
// considered closed.
func (c *conn) drain(p *pending, queue <-chan *pending) {
	c.nc.Close()
	p.finish(c)
	for p := range queue {
		<-p.done
		p.finish(c)
	}
}

// encoded releases what the handler pooled, once the response is encoded.
func (p *pending) encoded() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
}

// finish gives back everything the request held, once its response is
// written or will never be.
func (p *pending) finish(c *conn) {
	p.encoded()
	if p.written != nil {
		p.written()
		p.written = nil
	}
	c.s.pool.release(p.charge)
	p.charge = 0
	c.inflight.Add(-1)
	c.touch()
}

// appendResponse frames a response: size, correlation id, the response
// header's tag section for flexible versions (never for ApiVersions, whose
// response header is always v0), then the body.
func appendResponse(dst []byte, corrID int32, resp kmsg.Response) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(corrID))
	if resp.IsFlexible() && resp.Key() != kmsg.ApiVersions.Int16() {
		dst = append(dst, 0)
	}
	dst = resp.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}
