package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/internal/netlimit"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Options configures a Server.
type Options struct {
	// ClientOpts connect to the Kafka-compatible cluster holding the topic
	// (at least kgo.SeedBrokers). The caller's slice is not modified.
	ClientOpts []kgo.Opt
	// Topic is the compacted state topic; default "_schemas".
	Topic string
	// Listen is the HTTP address (host:port) Listen binds.
	Listen string
	// Logger receives lifecycle and failure logs; nil discards.
	Logger *slog.Logger
	// GroupID is the consumer group instances join to elect the primary;
	// default "schema-registry".
	GroupID string
	// AdvertisedURL is how other instances reach this one's REST API when
	// it is primary; default "http://" + the listener's address.
	AdvertisedURL string
	// StoreTimeout bounds each step of a write on the topic: reading it to
	// its end, the broker's acknowledgement, and reading the write back.
	// A write that takes longer fails with 50002. Confluent's
	// kafkastore.timeout.ms; default 500ms.
	StoreTimeout time.Duration
	// MaxRequestBodyBytes caps a request body; a larger one is refused
	// with 413 without being read. Confluent's
	// size.limit.filter.max.request.body.size (there off by default);
	// default 16 MiB, as the Connect REST API.
	MaxRequestBodyBytes int64
	// IdleTimeout bounds reading a whole request (headers and body) and
	// how long a keep-alive connection may sit idle. Confluent's
	// idle.timeout.ms; default 30s.
	IdleTimeout time.Duration
	// MaxConnections bounds the connections served at once; more wait in
	// the kernel's accept queue, so a flood of slow clients cannot take the
	// file descriptors of the broker and worker sharing the process.
	// Confluent's Jetty has no such cap by default; default 256, as the
	// Connect REST API.
	MaxConnections int
}

// Defaults of Options.
const (
	DefaultStoreTimeout        = 500 * time.Millisecond
	DefaultMaxRequestBodyBytes = 16 << 20
	DefaultIdleTimeout         = 30 * time.Second
	DefaultMaxConnections      = 256
)

func (o Options) withDefaults() Options {
	if o.Topic == "" {
		o.Topic = "_schemas"
	}
	if o.GroupID == "" {
		o.GroupID = "schema-registry"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StoreTimeout == 0 {
		o.StoreTimeout = DefaultStoreTimeout
	}
	if o.MaxRequestBodyBytes == 0 {
		o.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	return o
}

// validate reports every problem with o at once.
func (o Options) validate() error {
	var errs []error
	if len(o.ClientOpts) == 0 {
		errs = append(errs, errors.New("ClientOpts must name the brokers"))
	}
	if o.StoreTimeout < 0 {
		errs = append(errs, fmt.Errorf("StoreTimeout (kafkastore.timeout.ms) %v is negative", o.StoreTimeout))
	}
	if o.MaxRequestBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxRequestBodyBytes %d is negative", o.MaxRequestBodyBytes))
	}
	if o.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("IdleTimeout (idle.timeout.ms) %v is negative", o.IdleTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("schema registry options: %w", err)
	}
	return nil
}

// Server is a schema registry instance. New starts nothing; Run reads the
// topic, serves HTTP on the listener (if Listen was called) and returns
// when its context ends.
type Server struct {
	opts    Options
	log     *slog.Logger
	formats map[string]Format
	state   *state
	store   *store
	handler http.Handler
	parsed  *parsedCache // parsed stored schemas

	// writeLock (capacity 1) serializes writes on this instance; a
	// channel, so waiting for it ends with the request's context.
	writeLock chan struct{}

	// elector is set by Run when serving on a listener: instances elect
	// one primary and forward writes to it. Without a listener the
	// server writes itself (single instance).
	elector    atomic.Pointer[elector]
	httpClient *http.Client

	mu       sync.Mutex
	listener net.Listener
	ran      bool
}

// New returns a server for opts.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	st := newState(log)
	s := &Server{
		opts:       opts,
		log:        log,
		formats:    Formats(),
		state:      st,
		store:      newStore(opts.Topic, opts.ClientOpts, opts.StoreTimeout, st, log),
		httpClient: &http.Client{Timeout: forwardTimeout},
		writeLock:  make(chan struct{}, 1),
		parsed:     newParsedCache(parsedCacheSize),
	}
	s.handler = s.routes()
	return s, nil
}

// Listen binds the HTTP listener and returns its address (useful with
// port 0). Serving starts in Run.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener != nil {
		return s.listener.Addr(), nil
	}
	l, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen for schema registry on %s: %w", s.opts.Listen, err)
	}
	s.listener = netlimit.Listen(l, s.opts.MaxConnections)
	return l.Addr(), nil
}

// Handler returns the REST API. Its writes need Run to have read the
// topic; until then they fail with a store error.
func (s *Server) Handler() http.Handler { return s.handler }

// Run reads the topic to its end, then serves until ctx ends. It returns
// after every goroutine it started has exited; a server runs once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("run schema registry: already run")
	}
	s.ran = true
	listener := s.listener
	s.mu.Unlock()
	defer s.store.close()
	if err := s.store.start(ctx); err != nil {
		if listener != nil {
			listener.Close()
		}
		return fmt.Errorf("start schema registry: %w", err)
	}
	s.log.Info("schema registry ready", "topic", s.opts.Topic)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- s.store.run(ctx) })
	if listener != nil {
		url := s.opts.AdvertisedURL
		if url == "" {
			url = "http://" + listener.Addr().String()
		}
		e := newElector(s.store.client(), s.opts.GroupID, url, s)
		s.elector.Store(e)
		wg.Go(func() { e.run(ctx) })
		srv := s.httpServer()
		wg.Go(func() {
			if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- fmt.Errorf("serve schema registry: %w", err)
			}
		})
		wg.Go(func() {
			<-ctx.Done()
			shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
			defer done()
			_ = srv.Shutdown(shutdown)
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	cancel()
	wg.Wait()
	return err
}

// maxHeaderBytes caps a request's header block: Go's default is 1 MiB,
// Jetty's (Confluent's) 8 KiB; 64 KiB leaves room for large bearer tokens.
const maxHeaderBytes = 64 << 10

// handlerTimeout bounds one request's handling (its context's deadline):
// the longest is a forwarded write, bounded by forwardTimeout.
const handlerTimeout = forwardTimeout + 5*time.Second

// httpServer builds the REST server with every timeout set, so a client
// that sends slowly, or stops, cannot keep a connection, its goroutine and
// its buffers for good: a request (headers and body) must arrive within
// IdleTimeout, its answer must be written within handlerTimeout plus a
// margin, and an idle keep-alive connection is closed after IdleTimeout.
func (s *Server) httpServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: min(10*time.Second, s.opts.IdleTimeout),
		ReadTimeout:       s.opts.IdleTimeout,
		WriteTimeout:      handlerTimeout + 5*time.Second,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
