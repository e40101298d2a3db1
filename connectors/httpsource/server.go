package httpsource

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/internal/netlimit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// protocols are the protocols compiled in, by name, each with the
// function that adds its routes to a listener's mux. The protocols key
// picks among them.
var protocols = []struct {
	name   string
	routes func(*http.ServeMux, endpoint)
}{
	{ProtoES, routesES},
	{ProtoHEC, routesHEC},
	{ProtoLoki, routesLoki},
	{ProtoOTLP, routesOTLP},
	{ProtoGeneric, routesJSON},
}

// The http.Server's bounds that no key sets.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second // a whole request, body included
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 5 * time.Second
)

// server is the endpoint the protocols' handlers use, and the listeners
// that serve them.
type server struct {
	c     *config
	b     builder
	q     *kit.AckQueue
	log   *slog.Logger
	slots chan struct{} // a request holds one while it reads and delivers
	done  chan struct{} // closed when the task stops

	servers []*http.Server
	addrs   []string // the bound addresses, as listeners lists them
	wg      sync.WaitGroup
}

var _ endpoint = (*server)(nil)

// newServer returns the server of c, delivering through q.
func newServer(c *config, q *kit.AckQueue, log *slog.Logger) *server {
	return &server{c: c, b: builder{c}, q: q, log: log, slots: make(chan struct{}, c.maxRequests), done: make(chan struct{})}
}

// mux returns the routes of the configured protocols. The generic JSON
// paths get a mux of their own, consulted only for a request no other
// protocol's route matches: json.paths may then name a subtree (/logs/)
// that overlaps a pattern such as Elasticsearch's /{index}/_bulk, which
// one ServeMux refuses. A json.paths entry that another protocol serves
// exactly is an error.
func (s *server) mux() (h http.Handler, err error) {
	mux, jsonMux := http.NewServeMux(), http.NewServeMux()
	// A health check for load balancers, whatever the protocols.
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("protocols and json.paths: %v", p)
		}
	}()
	generic := false
	for _, name := range s.c.protocols {
		found := false
		for _, p := range protocols {
			if p.name != name {
				continue
			}
			found = true
			if name == ProtoGeneric {
				generic = true
				p.routes(jsonMux, s)
			} else {
				p.routes(mux, s)
			}
		}
		if !found {
			s.log.Warn("protocol not available in this build, not served", "protocol", name)
		}
	}
	if !generic {
		return mux, nil
	}
	for _, path := range s.Settings().JSONPaths {
		r, err := http.NewRequest(http.MethodPost, "http://sluice"+path, nil)
		if err != nil {
			return nil, fmt.Errorf("json.paths: %s: %w", path, err)
		}
		if _, pattern := mux.Handler(r); pattern != "" {
			return nil, fmt.Errorf("json.paths: %s is a route of another protocol (%s)", path, pattern)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			if _, pattern := jsonMux.Handler(r); pattern != "" {
				jsonMux.ServeHTTP(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// listen binds every listener, or none: a bind error (an address in use)
// closes what was bound and names the listener.
func (s *server) listen() error {
	routes, err := s.mux()
	if err != nil {
		return err
	}
	handler := s.wrap(routes)
	var lns []net.Listener
	for _, l := range s.c.listeners {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, o := range lns {
				_ = o.Close()
			}
			return fmt.Errorf("listeners: cannot listen on %s: %w", l.Addr, err)
		}
		lns = append(lns, ln)
	}
	for i, l := range s.c.listeners {
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			// Time to read, wait for a slot and for the acks, and answer:
			// a client that never reads its answer is cut off after it
			// (or request.timeout.ms after the answer began: see
			// answerWriter).
			WriteTimeout:   s.writeTimeout(),
			IdleTimeout:    idleTimeout,
			MaxHeaderBytes: maxHeaderBytes,
			ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
		scheme := "http"
		if l.TLS {
			scheme = "https"
			if srv.TLSConfig, err = s.c.tls.Server(); err != nil {
				for _, o := range lns {
					_ = o.Close()
				}
				s.servers, s.addrs = nil, nil
				return fmt.Errorf("listeners: %s: %w", l.Addr, err)
			}
		}
		s.servers = append(s.servers, srv)
		s.addrs = append(s.addrs, scheme+"://"+lns[i].Addr().String())
	}
	for i, srv := range s.servers {
		idle := newIdleConns()
		srv.ConnState = idle.track
		ln := netlimit.Listen(lns[i], s.c.maxConns, netlimit.OnFull(idle.shed))
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("listener stopped", "listener", s.addrs[i], "error", err)
			}
		}()
		s.log.Info("HTTP source listening", "listener", s.addrs[i], "protocols", strings.Join(s.c.protocols, ","))
	}
	return nil
}

// close stops the listeners, letting running requests end for a while
// (they end at once when the queue was closed first).
func (s *server) close() {
	close(s.done)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	s.wg.Wait()
}

// reqState is what the server keeps about one request.
type reqState struct {
	arrived time.Time
	slot    bool                     // the request holds one of slots
	rc      *http.ResponseController // sets the connection's read deadline
}

type stateKey struct{}

// wrap puts a reqState in each request's context and gives back its slot
// when the handler returns.
func (s *server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{arrived: time.Now(), rc: http.NewResponseController(w)}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		w = &answerWriter{ResponseWriter: w, st: st, timeout: s.c.timeout, last: st.arrived.Add(s.writeTimeout())}
		defer func() {
			if st.slot {
				<-s.slots
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// writeTimeout is the http.Server's WriteTimeout: the longest a request
// may take from its arrival to the end of its answer.
func (s *server) writeTimeout() time.Duration { return readTimeout + 2*s.c.timeout + 10*time.Second }

// answerWriter bounds the writing of an answer to request.timeout.ms from
// its first byte (and no later than the server's WriteTimeout): a client
// that does not read a large answer (an Elasticsearch _bulk's items)
// would otherwise keep the handler blocked writing, holding its slot of
// max.concurrent.requests, until the WriteTimeout (a minute or more).
type answerWriter struct {
	http.ResponseWriter
	st      *reqState
	timeout time.Duration
	last    time.Time // the server's WriteTimeout deadline
	started bool
}

// start sets the write deadline once, when the answer begins.
func (a *answerWriter) start() {
	if a.started {
		return
	}
	a.started = true
	d := time.Now().Add(a.timeout)
	if d.After(a.last) {
		d = a.last
	}
	_ = a.st.rc.SetWriteDeadline(d)
}

func (a *answerWriter) WriteHeader(code int) {
	a.start()
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerWriter) Write(b []byte) (int, error) {
	a.start()
	return a.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (a *answerWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// timeoutReader is a request body that notes a read failing on a
// deadline.
type timeoutReader struct {
	io.ReadCloser
	timedOut bool
}

func (t *timeoutReader) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		t.timedOut = true
	}
	return n, err
}

func state(r *http.Request) *reqState {
	st, _ := r.Context().Value(stateKey{}).(*reqState)
	return st
}

// Body implements endpoint: it waits for one of max.concurrent.requests
// slots (503 after request.timeout.ms), then reads the body within
// max.request.bytes and request.body.timeout.ms (408 past it: a client
// that sends its body slowly, or never finishes it, would otherwise hold
// its slot until the server's 60 s read timeout).
func (s *server) Body(r *http.Request) ([]byte, error) {
	st := state(r)
	if st != nil && !st.slot {
		t := time.NewTimer(s.c.timeout)
		defer t.Stop()
		select {
		case s.slots <- struct{}{}:
			st.slot = true
		case <-t.C:
			return nil, s.busy(http.StatusServiceUnavailable,
				fmt.Sprintf("max.concurrent.requests (%d) requests are being served; retry later", s.c.maxRequests))
		case <-r.Context().Done():
			return nil, s.busy(http.StatusServiceUnavailable, "the request was cancelled")
		case <-s.done:
			return nil, s.busy(http.StatusServiceUnavailable, "the connector task is stopping; retry later")
		}
	}
	if st == nil || st.rc == nil {
		return readBody(r, s.c.maxBytes)
	}
	// Where the connection cannot take deadlines (a test recorder), the
	// server's read timeout bounds the read alone.
	bounded := st.rc.SetReadDeadline(time.Now().Add(s.c.bodyTimeout)) == nil
	tr := &timeoutReader{ReadCloser: r.Body}
	r.Body = tr
	body, err := readBody(r, s.c.maxBytes)
	if !bounded {
		return body, err
	}
	if err != nil && tr.timedOut {
		// The deadline stays passed: net/http then gives up reading the
		// rest of the body at once, writes the 408 and closes.
		return nil, &Error{Status: http.StatusRequestTimeout,
			Msg: fmt.Sprintf("the body was not received within request.body.timeout.ms (%d ms)", s.c.bodyTimeout.Milliseconds())}
	}
	// Back to the server's bound: once the body is read, net/http reads
	// on in the background to see the client go, and a deadline passing
	// there would cancel the request's context.
	_ = st.rc.SetReadDeadline(st.arrived.Add(readTimeout))
	return body, err
}

// Authorize implements endpoint.
func (s *server) Authorize(r *http.Request) error {
	if len(s.c.tokens) == 0 && s.c.basicUser == "" {
		return nil
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return &Error{Status: http.StatusUnauthorized, Msg: "credentials are required (Authorization: Bearer, Splunk, ApiKey or Basic)"}
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer", "splunk", "apikey":
		for _, t := range s.c.tokens {
			if subtle.ConstantTimeCompare([]byte(t), []byte(cred)) == 1 {
				return nil
			}
		}
	case "basic":
		if u, p, ok := r.BasicAuth(); ok && s.c.basicUser != "" &&
			subtle.ConstantTimeCompare([]byte(u), []byte(s.c.basicUser))&
				subtle.ConstantTimeCompare([]byte(p), []byte(s.c.basicPwd)) == 1 {
			return nil
		}
	default:
		return &Error{Status: http.StatusUnauthorized, Msg: fmt.Sprintf("authorization scheme %q is not accepted (Bearer, Splunk, ApiKey or Basic are)", scheme)}
	}
	return &Error{Status: http.StatusForbidden, Msg: "the credentials are not valid"}
}

// Deliver implements endpoint: it queues the events' records and waits
// for the broker's acknowledgement of them all, both within
// request.timeout.ms.
func (s *server) Deliver(ctx context.Context, r *http.Request, proto string, events []Event) error {
	if len(events) > s.c.maxEvents {
		return &Error{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("the request holds %d events, more than max.events.per.request (%d)", len(events), s.c.maxEvents)}
	}
	if len(events) == 0 {
		return nil
	}
	reqMeta := requestMeta(r, proto)
	kept := s.b.keptHeaders(r)
	// Metadata shared by many events (a Loki stream's labels, an OTLP
	// resource's attributes, the request's tenant and kept headers) is
	// repeated in each record: a small body could make records of
	// gigabytes. Refuse, before building them, a request whose records
	// exceed the queue's bytes (or, when larger, eight bodies' worth,
	// which a request may always take).
	writeMeta := s.c.metaLoc != "none"
	var perEvent int64
	for _, h := range kept {
		v, _ := h.Value.(string)
		perEvent += int64(len(h.Key) + 16 + len(v))
	}
	if writeMeta {
		perEvent += fieldsSize(reqMeta)
	}
	limit := max(s.c.queueBytes, 8*s.c.maxBytes)
	n, big, over := eventsSize(events, writeMeta, perEvent, s.c.maxEventBytes, limit)
	switch {
	case big >= 0:
		// Refused here, not by the broker: its MESSAGE_TOO_LARGE would
		// fail the task, and the shipper's retries would fail it again.
		return &Error{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("event %d of the request would make a record of more than max.event.bytes (%d bytes)", big+1, s.c.maxEventBytes)}
	case over:
		return &Error{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("the records of the request's %d events come to more than %d bytes (%d counted), the larger of "+
				"max.queue.size.in.bytes and 8 × max.request.bytes: metadata shared by many events is repeated in each", len(events), limit, n)}
	}
	arrived := time.Now()
	if st := state(r); st != nil {
		arrived = st.arrived
	}
	recs := make([]*connect.Record, len(events))
	for i := range events {
		recs[i] = s.b.record(&events[i], reqMeta, kept, arrived)
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.timeout)
	defer cancel()
	t, err := s.q.Submit(ctx, recs...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return s.busy(http.StatusTooManyRequests,
				fmt.Sprintf("the queue stayed full for request.timeout.ms (%d ms): the broker is behind; retry later", s.c.timeout.Milliseconds()))
		}
		return s.stopped(err)
	}
	if err := t.Wait(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return s.busy(http.StatusServiceUnavailable,
				fmt.Sprintf("the broker did not acknowledge the events within request.timeout.ms (%d ms); retry later (some may arrive twice)", s.c.timeout.Milliseconds()))
		}
		return s.stopped(err)
	}
	return nil
}

// stopped is the answer when the queue refuses events: the task is
// stopping or failed, or the client went away.
func (s *server) stopped(err error) *Error {
	if errors.Is(err, context.Canceled) {
		return s.busy(http.StatusServiceUnavailable, "the request was cancelled before the events were acknowledged")
	}
	if errors.Is(err, kit.ErrClosed) {
		return s.busy(http.StatusServiceUnavailable, "the connector task is stopping; retry later")
	}
	return s.busy(http.StatusServiceUnavailable, "the events could not be written: "+err.Error())
}

// busy is a 429 or 503 with retry.after.seconds.
func (s *server) busy(status int, msg string) *Error {
	return &Error{Status: status, Msg: msg, RetryAfter: s.c.retryAfter}
}

// Settings implements endpoint.
func (s *server) Settings() *Settings { return &s.c.settings }

// eventsSize estimates the bytes of events' records as recordSize does,
// their metadata included when it is written, perEvent more for each
// (the request's own metadata and kept headers). It stops at the first
// event whose record would exceed eventLimit, returning its index as big
// (-1 when none does), or once the total passes limit, reporting over.
func eventsSize(events []Event, meta bool, perEvent, eventLimit, limit int64) (n int64, big int, over bool) {
	for i := range events {
		e := 64 + perEvent + sizeOf(events[i].Value)
		if meta {
			e += fieldsSize(events[i].Meta)
		}
		if e > eventLimit {
			return n, i, false
		}
		if n += e; n > limit {
			return n, -1, true
		}
	}
	return n, -1, false
}

// fieldsSize estimates the bytes of fields as record headers.
func fieldsSize(fs []Field) int64 {
	var n int64
	for _, f := range fs {
		n += int64(len(f.Name) + 16 + len(f.Value))
	}
	return n
}
