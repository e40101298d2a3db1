package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// client3 is an MQTT 3.1.1 client over eclipse/paho.mqtt.golang, with
// automatic acknowledgement off (the handler's Received.Ack sends the
// PUBACK) and its own reconnection.
type client3 struct {
	cfg  ConnConfig
	opts ClientOptions
	*lifeline

	// gen counts connections: an acknowledgement of a message received
	// over an earlier connection is not sent (the server redelivers it).
	gen atomic.Uint64

	mu     sync.Mutex
	cli    paho3.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

func newClient3(cfg ConnConfig, opts ClientOptions) *client3 {
	return &client3{cfg: cfg, opts: opts, lifeline: newLifeline()}
}

func (c *client3) Version() string { return version311 }

func (c *client3) servers() string {
	s := make([]string, len(c.cfg.Servers))
	for i, u := range c.cfg.Servers {
		s[i] = u.String()
	}
	return strings.Join(s, ",")
}

func (c *client3) options() (*paho3.ClientOptions, error) {
	o := paho3.NewClientOptions()
	for _, u := range c.cfg.Servers {
		o.AddBroker(u.String()) // tcp:// or ssl://
	}
	if c.cfg.usesTLS() {
		tc, err := c.cfg.TLS.Client()
		if err != nil {
			return nil, fmt.Errorf("mqtt TLS settings: %w", err)
		}
		o.SetTLSConfig(tc)
	}
	o.SetProtocolVersion(4)
	o.SetClientID(c.cfg.ClientID)
	o.SetUsername(c.cfg.Username)
	o.SetPassword(c.cfg.Password)
	o.SetCleanSession(c.cfg.CleanSession)
	o.SetKeepAlive(c.cfg.KeepAlive)
	o.SetConnectTimeout(c.cfg.ConnectTimeout)
	o.SetWriteTimeout(c.cfg.ConnectTimeout)
	o.SetAutoReconnect(true)
	o.SetMaxReconnectInterval(backoff.Max)
	o.SetConnectRetry(false)
	o.SetResumeSubs(false)
	o.SetOrderMatters(true)
	o.SetAutoAckDisabled(true)
	if c.opts.OnMessage != nil {
		// Messages of a persistent session can arrive before Subscribe
		// returns: the default handler takes every message.
		o.SetDefaultPublishHandler(c.received)
	}
	o.SetOnConnectHandler(c.up)
	o.SetConnectionLostHandler(func(_ paho3.Client, err error) {
		c.gen.Add(1)
		c.setUp(false)
		c.opts.Logger.Warn("mqtt connection lost; reconnecting", "servers", c.servers(), "error", err)
	})
	o.SetReconnectingHandler(func(paho3.Client, *paho3.ClientOptions) {
		c.opts.Logger.Debug("mqtt reconnecting", "servers", c.servers())
	})
	return o, nil
}

// Connect connects, retrying with backoff for up to MaxRetry; later
// losses are reconnected by the library.
func (c *client3) Connect(ctx context.Context) error {
	o, err := c.options()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	cli := paho3.NewClient(o)
	runCtx, cancel := context.WithCancel(context.Background())
	c.cli, c.cancel = cli, cancel
	c.mu.Unlock()

	start := time.Now()
	for attempt := 0; ; attempt++ {
		tok := cli.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			_ = c.Close()
			return fmt.Errorf("connect to %s: %w", c.servers(), ctx.Err())
		}
		err := tok.Error()
		if err == nil {
			break
		}
		err = classify3(err)
		c.setAttemptErr(err)
		if errors.Is(err, ErrAuth) || errors.Is(err, ErrProtocol) {
			_ = c.Close()
			return fmt.Errorf("connect to %s: %w", c.servers(), err)
		}
		wait := backoff.Delay(attempt)
		if c.cfg.MaxRetry > 0 && time.Since(start)+wait > c.cfg.MaxRetry {
			_ = c.Close()
			return fmt.Errorf("%w: %s: not connected within %s (max.retry.time.ms): %v", ErrUnreachable, c.servers(), c.cfg.MaxRetry, err)
		}
		c.opts.Logger.Warn("mqtt connection attempt failed; retrying", "servers", c.servers(), "error", err, "wait", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			_ = c.Close()
			return fmt.Errorf("connect to %s: %w", c.servers(), ctx.Err())
		}
	}
	if c.cfg.MaxRetry > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.watch(runCtx, c.cfg.MaxRetry, c.servers())
		}()
	}
	if err := c.awaitFirst(ctx, c.cfg.MaxRetry, c.servers()); err != nil {
		_ = c.Close()
		return err
	}
	return nil
}

func classify3(err error) error {
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised),
		errors.Is(err, packets.ErrorRefusedIDRejected):
		return fmt.Errorf("%w: %v", ErrAuth, err)
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return err
}

// up subscribes on every connection, off the library's goroutine.
func (c *client3) up(cli paho3.Client) {
	c.setUp(true)
	c.setAttemptErr(nil)
	c.opts.Logger.Info("mqtt connected", "version", version311, "client.id", c.cfg.ClientID)
	// Connect returns now: with a persistent session the server may send
	// queued messages before the SUBACK, and those wait for the task to
	// poll them.
	c.connected()
	if len(c.opts.Subscriptions) == 0 {
		c.subscribed()
		return
	}
	filters := make(map[string]byte, len(c.opts.Subscriptions))
	for _, f := range c.opts.Subscriptions {
		filters[f] = c.opts.QoS
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		tok := cli.SubscribeMultiple(filters, nil)
		if !tok.WaitTimeout(c.cfg.ConnectTimeout) {
			c.opts.Logger.Warn("mqtt subscribe timed out; it is retried on the next connection")
			return
		}
		if err := tok.Error(); err != nil {
			c.setAttemptErr(err)
			c.opts.Logger.Warn("mqtt subscribe failed; it is retried on the next connection", "error", err)
			return
		}
		if st, ok := tok.(*paho3.SubscribeToken); ok {
			for f, q := range st.Result() {
				if q == 0x80 {
					c.fail(fmt.Errorf("%w: subscribe to %q: refused by the server", ErrAuth, f))
					return
				}
			}
		}
		c.opts.Logger.Debug("mqtt subscribed", "filters", c.opts.Subscriptions)
		c.subscribed()
	}()
}

func (c *client3) received(_ paho3.Client, msg paho3.Message) {
	m := &Received{Message: Message{
		Topic: msg.Topic(), Payload: msg.Payload(), QoS: msg.Qos(), Retained: msg.Retained(),
		Duplicate: msg.Duplicate(), PacketID: msg.MessageID(),
	}}
	if msg.Qos() > 0 {
		g := c.gen.Load()
		m.ack = func() {
			if c.gen.Load() == g {
				msg.Ack()
			}
		}
	}
	c.opts.OnMessage(m)
}

// Publish sends one message; for QoS 1 and 2 it waits for the server's
// acknowledgement.
func (c *client3) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	c.mu.Lock()
	cli := c.cli
	c.mu.Unlock()
	if cli == nil {
		return fmt.Errorf("publish to %s: %w", topic, ErrClientClosed)
	}
	tok := cli.Publish(topic, qos, retain, payload)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return fmt.Errorf("publish to %s: %w", topic, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// Close disconnects without acknowledging what was not acknowledged.
func (c *client3) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cli, cancel := c.cli, c.cancel
	c.mu.Unlock()
	c.gen.Add(1) // no acknowledgement leaves after Close
	if cli != nil {
		cli.Disconnect(100)
		cancel()
	}
	c.wg.Wait()
	return nil
}
