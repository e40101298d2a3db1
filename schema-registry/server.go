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
}

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
	return o
}

func (o Options) validate() error {
	if len(o.ClientOpts) == 0 {
		return errors.New("schema registry options: ClientOpts must name the brokers")
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

	// writeMu serializes writes on this instance.
	writeMu sync.Mutex

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
	log := opts.Logger.With("component", "schema-registry")
	st := newState(log)
	s := &Server{
		opts:       opts,
		log:        log,
		formats:    Formats(),
		state:      st,
		store:      newStore(opts.Topic, opts.ClientOpts, st, log),
		httpClient: &http.Client{Timeout: forwardTimeout},
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
	s.listener = l
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
		e := newElector(s.store.client, s.opts.GroupID, url, s)
		s.elector.Store(e)
		wg.Go(func() { e.run(ctx) })
		srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
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
