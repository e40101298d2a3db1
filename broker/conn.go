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
}

// maxInflight bounds the responses a connection may have pending; the reader
// stops reading past it (backpressure on pipelining clients).
const maxInflight = 64

// maxKeptBuffer is the largest response buffer a connection keeps for the
// next response; fetch responses of a few MiB are common, and regrowing the
// buffer for each one costs a copy per doubling.
const maxKeptBuffer = 16 << 20

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{s: s, nc: nc, log: s.log.With("remote", nc.RemoteAddr().String())}
}

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
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("closing connection", "client", clientIDAttr(c.clientID), "err", err)
	}
	<-writerDone
	c.nc.Close()
}

func (c *conn) readLoop(ctx context.Context, queue chan<- *pending) error {
	r := bufio.NewReaderSize(c.nc, 64<<10)
	var size [4]byte
	for {
		if _, err := io.ReadFull(r, size[:]); err != nil {
			return err
		}
		n := int32(binary.BigEndian.Uint32(size[:]))
		if n < 8 || int(n) > c.s.cfg.MaxRequestBytes {
			return fmt.Errorf("request of %d bytes, limit socket.request.max.bytes=%d", n, c.s.cfg.MaxRequestBytes)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("truncated request: %w", err)
		}
		p, err := c.dispatch(body)
		if err != nil {
			return err
		}
		select {
		case queue <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
	w := bufio.NewWriterSize(c.nc, 64<<10)
	buf := make([]byte, 0, 4096)
	for p := range queue {
		select {
		case <-p.done:
		default:
			// Do not hold written responses while waiting for this one.
			if w.Buffered() > 0 && w.Flush() != nil {
				c.drain(queue)
				return
			}
			<-p.done
		}
		if p.resp == nil {
			p.finish()
			continue
		}
		buf = appendResponse(buf[:0], p.corrID, p.resp)
		p.finish()
		if _, err := w.Write(buf); err != nil {
			c.drain(queue)
			return
		}
		if len(queue) == 0 {
			if err := w.Flush(); err != nil {
				c.drain(queue)
				return
			}
		}
		if cap(buf) > maxKeptBuffer {
			buf = make([]byte, 0, 4096) // do not pin one huge fetch's buffer
		}
	}
}

// drain waits out the remaining handlers after the connection broke, so
// their goroutines end before the connection is considered closed.
func (c *conn) drain(queue <-chan *pending) {
	c.nc.Close()
	for p := range queue {
		<-p.done
		p.finish()
	}
}

// finish releases what the handler pooled, after the response was encoded.
func (p *pending) finish() {
	if p.release != nil {
		p.release()
		p.release = nil
	}
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
