package mqtt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// client5 is an MQTT 5 client over eclipse/paho.golang's autopaho, which
// reconnects by itself (Clean Start only on the first connection) and
// sends manual acknowledgements in receive order.
type client5 struct {
	cfg  ConnConfig
	opts ClientOptions
	*lifeline

	mu     sync.Mutex
	cm     *autopaho.ConnectionManager
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
	acks   *ackSession // the session, routing acknowledgements to Send's waiters
}

func newClient5(cfg ConnConfig, opts ClientOptions) *client5 {
	return &client5{cfg: cfg, opts: opts, lifeline: newLifeline(), acks: newAckSession()}
}

func (c *client5) Version() string { return version5 }

func (c *client5) servers() string {
	s := make([]string, len(c.cfg.Servers))
	for i, u := range c.cfg.Servers {
		s[i] = u.String()
	}
	return strings.Join(s, ",")
}

// Connect starts autopaho and waits for the first subscription.
func (c *client5) Connect(ctx context.Context) error {
	pc, err := c.pahoConfig()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClientClosed
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	cm, err := autopaho.NewConnection(runCtx, pc)
	if err != nil {
		c.mu.Unlock()
		cancel()
		return fmt.Errorf("connect to %s: %w", c.servers(), err)
	}
	c.cm = cm
	c.mu.Unlock()
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

func (c *client5) pahoConfig() (autopaho.ClientConfig, error) {
	var pc autopaho.ClientConfig
	for _, u := range c.cfg.Servers {
		v := *u
		if v.Scheme == "ssl" {
			v.Scheme = "tls"
		} else {
			v.Scheme = "mqtt"
		}
		pc.ServerUrls = append(pc.ServerUrls, &v)
	}
	if c.cfg.usesTLS() {
		tc, err := c.cfg.TLS.Client()
		if err != nil {
			return pc, fmt.Errorf("mqtt TLS settings: %w", err)
		}
		pc.TlsCfg = tc
	}
	pc.KeepAlive = uint16(c.cfg.KeepAlive.Seconds())
	pc.CleanStartOnInitialConnection = c.cfg.CleanSession
	if !c.cfg.CleanSession {
		pc.SessionExpiryInterval = c.cfg.SessionExpiry
	}
	pc.ConnectTimeout = c.cfg.ConnectTimeout
	pc.ReconnectBackoff = func(attempt int) time.Duration {
		if attempt == 0 {
			return 0
		}
		return backoff.Delay(attempt - 1)
	}
	pc.ConnectUsername = c.cfg.Username
	if c.cfg.Password != "" {
		pc.ConnectPassword = []byte(c.cfg.Password)
	}
	recvMax := c.cfg.ReceiveMaximum
	pc.ConnectPacketBuilder = func(p *paho.Connect, _ *url.URL) (*paho.Connect, error) {
		if recvMax > 0 {
			if p.Properties == nil {
				p.Properties = &paho.ConnectProperties{}
			}
			p.Properties.ReceiveMaximum = &recvMax
		}
		return p, nil
	}
	pc.OnConnectionUp = c.up
	pc.OnConnectionDown = func() bool {
		c.setUp(false)
		c.opts.Logger.Warn("mqtt connection lost; reconnecting", "servers", c.servers())
		return true
	}
	pc.OnConnectError = func(err error) {
		err = classify5(err)
		c.setAttemptErr(err)
		c.opts.Logger.Warn("mqtt connection attempt failed; retrying", "servers", c.servers(), "error", err)
	}
	pc.ClientID = c.cfg.ClientID
	pc.Session = c.acks
	if c.opts.OnMessage != nil {
		pc.EnableManualAcknowledgment = true
		pc.OnPublishReceived = []func(paho.PublishReceived) (bool, error){c.received}
	}
	return pc, nil
}

// classify5 wraps a refused CONNACK's reason code in ErrAuth or
// ErrProtocol.
func classify5(err error) error {
	var ce *autopaho.ConnackError
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.ReasonCode {
	case 0x86, 0x87, 0x85, 0x8C, 0x04, 0x05: // bad user name or password, not authorized, client id not valid, bad auth method (and 3.1.1's 4, 5)
		return fmt.Errorf("%w (reason code 0x%02x %s): %v", ErrAuth, ce.ReasonCode, ce.Reason, err)
	case 0x84, 0x01: // unsupported protocol version (3.1.1's 1)
		return fmt.Errorf("%w (reason code 0x%02x): %v", ErrProtocol, ce.ReasonCode, err)
	}
	return err
}

// up subscribes on every new connection; it must not block autopaho.
func (c *client5) up(cm *autopaho.ConnectionManager, ack *paho.Connack) {
	c.setUp(true)
	c.setAttemptErr(nil)
	c.opts.Logger.Info("mqtt connected", "version", version5, "session.present", ack.SessionPresent, "client.id", c.cfg.ClientID)
	// Connect returns now: with a persistent session the server may send
	// queued messages before the SUBACK, and those wait for the task to
	// poll them.
	c.connected()
	if len(c.opts.Subscriptions) == 0 {
		c.subscribed()
		return
	}
	subs := make([]paho.SubscribeOptions, len(c.opts.Subscriptions))
	for i, f := range c.opts.Subscriptions {
		// Retained messages only for a new subscription, not again on
		// every reconnection of a persistent session.
		subs[i] = paho.SubscribeOptions{Topic: f, QoS: c.opts.QoS, RetainHandling: 1}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ConnectTimeout)
		defer cancel()
		sa, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs})
		if err == nil {
			for i, r := range sa.Reasons {
				if r >= 0x80 && i < len(subs) {
					err = fmt.Errorf("subscribe to %q: refused with reason code 0x%02x", subs[i].Topic, r)
					if r == 0x87 {
						err = fmt.Errorf("%w: %w", ErrAuth, err)
					}
					break
				}
			}
		}
		if err != nil {
			if strings.Contains(err.Error(), "refused") {
				c.fail(err)
				return
			}
			c.opts.Logger.Warn("mqtt subscribe failed; it is retried on the next connection", "error", err)
			c.setAttemptErr(err)
			return
		}
		c.opts.Logger.Debug("mqtt subscribed", "filters", c.opts.Subscriptions)
		c.subscribed()
	}()
}

func (c *client5) received(pr paho.PublishReceived) (bool, error) {
	p := pr.Packet
	m := &Received{Message: Message{
		Topic: p.Topic, Payload: p.Payload, QoS: p.QoS, Retained: p.Retain,
		Duplicate: p.Duplicate(), PacketID: p.PacketID,
	}}
	if p.Properties != nil {
		m.ContentType = p.Properties.ContentType
		for _, u := range p.Properties.User {
			m.UserProperties = append(m.UserProperties, [2]string{u.Key, u.Value})
		}
	}
	if p.QoS > 0 {
		cli := pr.Client
		m.ack = func() { _ = cli.Ack(p) }
	}
	c.opts.OnMessage(m)
	return true, nil
}

// Publish sends one message; for QoS 1 and 2 it waits for the server's
// acknowledgement.
func (c *client5) Publish(ctx context.Context, topic string, payload []byte, qos byte, retain bool) error {
	c.mu.Lock()
	cm := c.cm
	c.mu.Unlock()
	if cm == nil {
		return fmt.Errorf("publish to %s: %w", topic, ErrClientClosed)
	}
	if err := cm.AwaitConnection(ctx); err != nil {
		return fmt.Errorf("publish to %s: not connected: %w", topic, err)
	}
	resp, err := cm.Publish(ctx, &paho.Publish{Topic: topic, Payload: payload, QoS: qos, Retain: retain})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		reason := ""
		if resp.Properties != nil {
			reason = resp.Properties.ReasonString
		}
		return fmt.Errorf("publish to %s: refused with reason code 0x%02x %s", topic, resp.ReasonCode, reason)
	}
	return nil
}

// Close disconnects without acknowledging what was not acknowledged.
func (c *client5) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	cm, cancel := c.cm, c.cancel
	c.mu.Unlock()
	if cm != nil {
		ctx, stop := context.WithTimeout(context.Background(), c.cfg.ConnectTimeout)
		_ = cm.Disconnect(ctx)
		stop()
		cancel()
		<-cm.Done()
	}
	c.wg.Wait()
	return nil
}
