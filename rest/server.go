// Package rest serves the Apache Kafka Connect REST API (Kafka 3.9) over a
// Herder: the same paths, methods, status codes, JSON shapes and
// {"error_code","message"} errors, so curl scripts, UIs and operators
// written for Kafka Connect work unchanged.
//
// Every herder call runs under the request timeout (90 s by default, as in
// Kafka); when it passes the client gets 500 "Request timed out" even if the
// herder is still busy. Errors are turned into HTTP answers in one place
// (errorResponse in errors.go).
//
// Writes must declare a JSON body (415 otherwise, see media.go), and a
// client may hold a connection only so long (see limits.go).
//
// The worker-to-worker endpoints (POST /connectors/{name}/tasks, PUT
// /connectors/{name}/fence) are not served.
package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sluicehq/sluice/internal/logging"
	"github.com/sluicehq/sluice/internal/netlimit"
)

// Defaults, as in Kafka's RestServerConfig and RestServer.
const (
	DefaultListen          = ":8083"
	DefaultRequestTimeout  = 90 * time.Second
	DefaultHealthTimeout   = 10 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Listen is the TCP address to serve on (":8083"); port 0 picks one.
	Listen string
	// Logger receives request and error logs; nil discards them.
	Logger *slog.Logger
	// Levels is what /admin/loggers reads and changes; nil gives the API
	// levels of its own that no handler uses.
	Levels *logging.Levels
	// RequestTimeout bounds every herder call (rest.request.timeout.ms).
	RequestTimeout time.Duration
	// HealthTimeout bounds the herder's health check in GET /health.
	HealthTimeout time.Duration
	// ShutdownTimeout is how long Run lets requests in flight finish once
	// its context ends, before it cancels them.
	ShutdownTimeout time.Duration
	// ReadTimeout bounds reading a request's headers and body
	// (DefaultReadTimeout).
	ReadTimeout time.Duration
	// IdleTimeout bounds a keep-alive connection between requests
	// (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxConnections bounds the connections Run serves at once
	// (DefaultMaxConnections).
	MaxConnections int
	// HealthChecks are the embedding process's own checks, run by GET
	// /health after the herder's: the first to fail makes the worker
	// unhealthy (500), its error becoming the message's details. Each runs
	// under HealthTimeout and must be safe to call concurrently.
	HealthChecks []func(context.Context) error
}

func (o Options) withDefaults() Options {
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Levels == nil {
		o.Levels = logging.NewLevels(slog.LevelInfo, nil)
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = DefaultHealthTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	return o
}

// Server is the Connect REST API of one worker.
type Server struct {
	herder  Herder
	opts    Options
	log     *slog.Logger
	handler http.Handler

	// base is the parent of every request context; Run cancels it when the
	// grace period ends so herder calls in flight give up.
	base       context.Context
	cancelBase context.CancelFunc
	// calls tracks the goroutines that run herder calls (see call).
	calls sync.WaitGroup

	mu sync.Mutex
	ln net.Listener
}

// New makes a server for herder. It starts nothing; call Run, or serve
// Handler yourself.
func New(herder Herder, opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{herder: herder, opts: opts, log: opts.Logger}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.handler = s.routes()
	return s
}

// Handler returns the API as an http.Handler (for tests, or to mount it in
// another server).
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the configured address. Run serves it; calling Listen first
// lets a caller learn the port before serving.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr(), nil
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	// More connections wait in the kernel's accept queue. An accept
	// error (EMFILE) reaches net/http unchanged, which retries it.
	s.ln = netlimit.Listen(ln, s.opts.MaxConnections)
	return ln.Addr(), nil
}

// Addr is the bound address, nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx ends, then stops accepting, lets requests in flight
// finish for ShutdownTimeout, cancels the rest, and returns after every
// goroutine it started (herder calls included) has exited. A herder call
// that ignores its context delays the return until it comes back.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	// ReadTimeout covers headers and body (keepBody lifts it once the body
	// is in); WriteTimeout lets the longest request, bounded by
	// handlerTimeout, still be answered.
	srv := &http.Server{
		Handler:        s.handler,
		ReadTimeout:    s.opts.ReadTimeout,
		IdleTimeout:    s.opts.IdleTimeout,
		WriteTimeout:   s.handlerTimeout() + writeAllowance,
		MaxHeaderBytes: MaxHeaderBytes,
		BaseContext:    func(net.Listener) context.Context { return s.base },
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// Debug: the embedding command logs the worker's REST address once the
	// worker is ready ("sluice worker REST listening").
	s.log.Debug("REST server listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		if serr := srv.Shutdown(shutdownCtx); serr != nil {
			s.log.Warn("REST requests still in flight at shutdown; cancelling them", "err", serr)
		}
		cancel()
		s.cancelBase()
		srv.Close()
		err = <-served
	}
	s.cancelBase()
	s.calls.Wait()
	s.log.Info("REST server stopped")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("serve REST on %s: %w", ln.Addr(), err)
	}
	return nil
}

// handlerTimeout bounds a whole request, forwarding included.
func (s *Server) handlerTimeout() time.Duration { return s.opts.RequestTimeout + forwardAllowance }

// bound gives every request a deadline of handlerTimeout. Herder calls
// have their own, shorter one; this bounds forwarding and its retries.
func (s *Server) bound(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.handlerTimeout())
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// routes builds the router: Kafka's resources, in Kafka's order. Requests
// that take a body go through requireJSON (see media.go) once routed.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(stripSlash, s.recoverer, s.logRequests, s.bound, s.keepBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errRouteNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errMethodNotAllowed) })

	write := func(r chi.Router) chi.Router { return r.With(s.requireJSON) }

	r.Get("/", s.serverInfo)
	r.Get("/health", s.health)
	r.Get("/metrics", s.metrics)

	r.Route("/connectors", func(r chi.Router) {
		r.Get("/", s.listConnectors)
		write(r).Post("/", s.createConnector)
		r.Route("/{connector}", func(r chi.Router) {
			r.Get("/", s.getConnector)
			write(r).Delete("/", s.deleteConnector)
			r.Get("/config", s.getConnectorConfig)
			write(r).Put("/config", s.putConnectorConfig)
			write(r).Patch("/config", s.patchConnectorConfig)
			r.Get("/status", s.getConnectorStatus)
			r.Get("/tasks", s.getTasks)
			write(r).Post("/tasks", s.putTaskConfigs)
			r.Get("/tasks-config", s.getTasksConfig)
			r.Get("/tasks/{task}/status", s.getTaskStatus)
			write(r).Post("/tasks/{task}/restart", s.restartTask)
			write(r).Post("/restart", s.restartConnector)
			write(r).Put("/pause", s.pauseConnector)
			write(r).Put("/resume", s.resumeConnector)
			write(r).Put("/stop", s.stopConnector)
			r.Get("/topics", s.getConnectorTopics)
			write(r).Put("/topics/reset", s.resetConnectorTopics)
			r.Get("/offsets", s.getOffsets)
			write(r).Patch("/offsets", s.alterOffsets)
			write(r).Delete("/offsets", s.resetOffsets)
		})
	})

	r.Route("/connector-plugins", func(r chi.Router) {
		r.Get("/", s.listPlugins)
		r.Get("/{plugin}/config", s.getPluginConfig)
		write(r).Put("/{plugin}/config/validate", s.validateConfig)
	})

	r.Route("/admin/loggers", func(r chi.Router) {
		r.Get("/", s.listLoggers)
		r.Get("/{logger}", s.getLogger)
		write(r).Put("/{logger}", s.setLogLevel)
	})
	return r
}
