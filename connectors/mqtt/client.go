package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
)

// Errors a connection attempt ends with, for callers that name the key at
// fault (the validate answer).
var (
	// ErrAuth is the server refusing the credentials or the client id
	// (the username, password or client id is wrong).
	ErrAuth = errors.New("mqtt server refused the credentials")
	// ErrUnreachable is no server answering within max.retry.time.ms.
	ErrUnreachable = errors.New("mqtt server unreachable")
	// ErrProtocol is the server refusing the protocol version.
	ErrProtocol = errors.New("mqtt server refused the protocol version")
	// ErrClientClosed is an operation on a client after Close.
	ErrClientClosed = errors.New("mqtt client closed")
)

// Received is one message the server delivered. Ack acknowledges it
// (PUBACK, or PUBREC for QoS 2); the caller must Ack messages in the order
// they were received, and only once it is done with them for good.
type Received struct {
	Message
	ack func()
}

// Ack acknowledges the message to the server. It is a no-op for QoS 0,
// and for a message received over a connection that has since been lost:
// the server redelivers such a message (with the duplicate flag) over the
// next connection of the same session.
func (r *Received) Ack() {
	if r.ack != nil {
		r.ack()
	}
}

// Handler is called with each message, one at a time, in receive order,
// on the client's own goroutine: while it blocks no other message is read
// (back-pressure onto the server; a block much longer than the keep-alive
// may cost the connection, and the server then redelivers).
type Handler func(*Received)

// ClientOptions are what a user of the connection adds to ConnConfig.
type ClientOptions struct {
	// Subscriptions are (re)made, at QoS, on every connection: a
	// persistent session keeps them anyway, a clean one needs them.
	Subscriptions []string
	QoS           byte
	// OnMessage receives messages; messages are acknowledged manually
	// (Received.Ack) when it is set.
	OnMessage Handler
	Logger    *slog.Logger
}

// Client is a connection to an MQTT server that reconnects by itself,
// MQTT 5 (eclipse/paho.golang) or 3.1.1 (eclipse/paho.mqtt.golang) behind
// one face. Publish may be called from several goroutines.
type Client interface {
	// Connect connects, retrying with backoff for up to ConnConfig's
	// MaxRetry, and returns once the server accepted the connection; the
	// subscriptions are made in the background (a persistent session's
	// server may send queued messages before the SUBACK), and one the
	// server refuses ends the client (Done). An error wraps ErrAuth,
	// ErrProtocol or ErrUnreachable.
	Connect(ctx context.Context) error
	// Publish sends one message and, for QoS 1 and 2, waits until the
	// server acknowledged it (PUBACK, PUBCOMP) or ctx ends. A message
	// whose connection was lost before its acknowledgement returns an
	// error: publish it again (at-least-once).
	Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error
	// Subscribed is closed once the server granted the subscriptions
	// on the first connection (at once without subscriptions).
	Subscribed() <-chan struct{}
	// Done is closed when the client gave up: the connection stayed
	// lost for MaxRetry. Err then says why.
	Done() <-chan struct{}
	Err() error
	// Version is the protocol version in use, 5 or 3.1.1, once
	// connected.
	Version() string
	// Close disconnects, leaving unacknowledged messages unacknowledged
	// (a persistent session's server redelivers them). It is
	// idempotent.
	Close() error
}

// NewClient returns a client of cfg's version; it does not connect. With
// version auto, Connect tries MQTT 5 and falls back to 3.1.1 when the
// server refuses 5.
func NewClient(cfg ConnConfig, opts ClientOptions) Client {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	switch cfg.Version {
	case version311:
		return newClient3(cfg, opts)
	case version5:
		return newClient5(cfg, opts)
	}
	return &autoClient{cfg: cfg, opts: opts}
}

// autoClient picks the version at Connect.
type autoClient struct {
	cfg  ConnConfig
	opts ClientOptions

	mu     sync.Mutex
	c      Client
	closed bool
}

func (a *autoClient) Connect(ctx context.Context) error {
	c5 := newClient5(a.cfg, a.opts)
	if !a.set(c5) {
		return ErrClientClosed
	}
	err := c5.Connect(ctx)
	if !errors.Is(err, ErrProtocol) {
		return err
	}
	_ = c5.Close()
	a.opts.Logger.Info("mqtt server refused MQTT 5, falling back to 3.1.1", "error", err)
	c3 := newClient3(a.cfg, a.opts)
	if !a.set(c3) {
		return ErrClientClosed
	}
	return c3.Connect(ctx)
}

func (a *autoClient) set(c Client) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.c = c
	return true
}

func (a *autoClient) get() Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.c
}

func (a *autoClient) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	c := a.get()
	if c == nil {
		return fmt.Errorf("publish to %s: not connected", topic)
	}
	return c.Publish(ctx, topic, payload, qos, retain)
}

func (a *autoClient) Done() <-chan struct{} {
	if c := a.get(); c != nil {
		return c.Done()
	}
	return nil
}

func (a *autoClient) Subscribed() <-chan struct{} {
	if c := a.get(); c != nil {
		return c.Subscribed()
	}
	return nil
}

func (a *autoClient) Err() error {
	if c := a.get(); c != nil {
		return c.Err()
	}
	return nil
}

func (a *autoClient) Version() string {
	if c := a.get(); c != nil {
		return c.Version()
	}
	return ""
}

func (a *autoClient) Close() error {
	a.mu.Lock()
	a.closed = true
	c := a.c
	a.mu.Unlock()
	if c != nil {
		return c.Close()
	}
	return nil
}

// backoff is the wait between connection attempts.
var backoff = kit.Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second}

// lifeline tracks the state both implementations share: whether the
// connection is up, since when it is down, and the final error.
type lifeline struct {
	mu       sync.Mutex
	up       bool
	downAt   time.Time
	err      error
	done     chan struct{}
	lastErr  error // the last connection attempt's failure
	upCh     chan struct{}
	upOnce   sync.Once
	subCh    chan struct{}
	subOnce  sync.Once
	doneOnce sync.Once
}

func newLifeline() *lifeline {
	return &lifeline{done: make(chan struct{}), upCh: make(chan struct{}), subCh: make(chan struct{}), downAt: time.Now()}
}

func (l *lifeline) setUp(up bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up && !up {
		l.downAt = time.Now()
	}
	l.up = up
}

func (l *lifeline) setAttemptErr(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastErr = err
}

func (l *lifeline) attemptErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

func (l *lifeline) subscribed() { l.subOnce.Do(func() { close(l.subCh) }) }

// Subscribed is closed once the first subscriptions were granted.
func (l *lifeline) Subscribed() <-chan struct{} { return l.subCh }

func (l *lifeline) connected() { l.upOnce.Do(func() { close(l.upCh) }) }

func (l *lifeline) fail(err error) {
	l.doneOnce.Do(func() {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		close(l.done)
	})
}

func (l *lifeline) Done() <-chan struct{} { return l.done }

func (l *lifeline) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// watch fails the lifeline once the connection stayed down for maxDown;
// it returns when ctx ends or the lifeline failed.
func (l *lifeline) watch(ctx context.Context, maxDown time.Duration, what string) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-t.C:
		}
		l.mu.Lock()
		down := !l.up && time.Since(l.downAt) > maxDown
		last := l.lastErr
		l.mu.Unlock()
		if down {
			l.fail(fmt.Errorf("%w: %s: no connection for %s (max.retry.time.ms): %v", ErrUnreachable, what, maxDown, last))
			return
		}
	}
}

// awaitFirst waits for the first connection, for an
// attempt error that retrying cannot fix, or for MaxRetry.
func (l *lifeline) awaitFirst(ctx context.Context, maxRetry time.Duration, what string) error {
	var timeout <-chan time.Time
	if maxRetry > 0 {
		t := time.NewTimer(maxRetry + time.Second)
		defer t.Stop()
		timeout = t.C
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-l.upCh:
			return nil
		case <-l.done:
			return l.Err()
		case <-ctx.Done():
			return fmt.Errorf("connect to %s: %w", what, ctx.Err())
		case <-timeout:
			return fmt.Errorf("%w: %s: not connected within %s (max.retry.time.ms): %v", ErrUnreachable, what, maxRetry, l.attemptErr())
		case <-tick.C:
			if err := l.attemptErr(); errors.Is(err, ErrAuth) || errors.Is(err, ErrProtocol) {
				return err
			}
		}
	}
}
