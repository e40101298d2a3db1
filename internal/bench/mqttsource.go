package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/connectors/mqtt"
)

// MQTTSourceOptions configure [MQTTSource]: QoS 1 readings queued in
// Mosquitto for three persistent sessions, drained by one MQTT source
// task into the broker and, before and after it in the same run, by a
// plain subscriber (the same paho.golang library through the same client,
// acknowledging each message at once).
type MQTTSourceOptions struct {
	Brokers     []string
	MQTTURL     string // tcp://host:port of a Mosquitto with large queues
	Topic       string // Kafka topic (default: a new one per run)
	Messages    int
	MessageSize int
	Timeout     time.Duration
}

// MQTTSourceResult is what an mqtt-source run measured.
type MQTTSourceResult struct {
	Messages, MessageSize int
	Source, Subscriber    time.Duration
}

// SourceRate and SubscriberRate are messages per second; Ratio is the
// source's rate over the subscriber's.
func (r MQTTSourceResult) SourceRate() float64 { return perSecond(float64(r.Messages), r.Source) }
func (r MQTTSourceResult) SubscriberRate() float64 {
	return perSecond(float64(r.Messages), r.Subscriber)
}
func (r MQTTSourceResult) Ratio() float64 { return r.SourceRate() / r.SubscriberRate() }

// Summary renders the result.
func (r MQTTSourceResult) Summary() string {
	return fmt.Sprintf("mqtt-source: %d QoS 1 messages of %d B queued in Mosquitto: source task into the broker %.0f msg/s in %s "+
		"(acks to Mosquitto after the broker's acks=all); plain subscriber (paho.golang, acking at once; mean of a drain before and one after) %.0f msg/s in %s; "+
		"source/subscriber ratio %.2f",
		r.Messages, r.MessageSize, r.SourceRate(), seconds(r.Source), r.SubscriberRate(), seconds(r.Subscriber), r.Ratio())
}

func parseMQTTSourceFlags(args []string, stderr io.Writer) (MQTTSourceOptions, error) {
	o := MQTTSourceOptions{Brokers: []string{DefaultBroker}, MQTTURL: "tcp://127.0.0.1:1883", Messages: 200_000, MessageSize: 200,
		Timeout: DefaultTimeout}
	fs := flag.NewFlagSet("sluice bench mqtt-source", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*addrList)(&o.Brokers), "brokers", "comma-separated seed `addresses`")
	fs.StringVar(&o.MQTTURL, "mqtt-url", o.MQTTURL, "Mosquitto `URL` (tcp://host:port); it must queue every message for an offline "+
		"persistent session: max_queued_messages 0 (or above --messages) and max_inflight_messages 0 in mosquitto.conf")
	fs.StringVar(&o.Topic, "topic", "", "Kafka `topic` the source writes to (default: a new one per run)")
	fs.IntVar(&o.Messages, "messages", o.Messages, "messages to move, in each phase")
	fs.IntVar(&o.MessageSize, "message-size", o.MessageSize, "payload `bytes` of each message (a JSON reading, padded)")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if o.Topic == "" {
		o.Topic = fmt.Sprintf("bench-mqtt-source-%d", time.Now().UnixNano())
	}
	return o, o.Validate()
}

// minReading is the shortest reading the generator writes.
const minReading = 64

// Validate reports every problem with o at once.
func (o MQTTSourceOptions) Validate() error {
	errs := validateTarget(o.Brokers, o.Topic)
	if u, err := url.Parse(o.MQTTURL); err != nil || (u.Scheme != "tcp" && u.Scheme != "mqtt") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--mqtt-url %q: want tcp://host:port", o.MQTTURL))
	}
	if o.Messages <= 0 {
		errs = append(errs, fmt.Errorf("--messages %d: want more than 0", o.Messages))
	}
	if o.MessageSize < minReading {
		errs = append(errs, fmt.Errorf("--message-size %d: want %d or more", o.MessageSize, minReading))
	}
	return errors.Join(errs...)
}

// reading appends reading i: a sensor's JSON reading padded to size.
func reading(b []byte, i, size int) []byte {
	start := len(b)
	b = fmt.Appendf(b, `{"device":"sensor-%d","seq":%d,"temp":%d.%d,"note":"`, i%64, i, 15+i%20, i%10)
	for j := range max(size-(len(b)-start)-2, 0) {
		b = append(b, payloadText[(i+j)%len(payloadText)])
	}
	return append(b, `"}`...)
}

// mqttConn is a v5 connection to the bench's Mosquitto.
func (o MQTTSourceOptions) mqttConn(id string) (mqtt.ConnConfig, error) {
	u, err := url.Parse(o.MQTTURL)
	if err != nil {
		return mqtt.ConnConfig{}, err
	}
	u.Scheme = "tcp"
	return mqtt.ConnConfig{Servers: []*url.URL{u}, ClientID: id, ConnectTimeout: 10 * time.Second, KeepAlive: 60 * time.Second,
		MaxRetry: 30 * time.Second, Version: "5", SessionExpiry: 3600}, nil
}

// MQTTSource queues the messages for both sessions, then times the plain
// subscriber draining its session and the source task draining its own
// into the broker.
func MQTTSource(ctx context.Context, o MQTTSourceOptions, progress io.Writer) (MQTTSourceResult, error) {
	if err := o.Validate(); err != nil {
		return MQTTSourceResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	run := time.Now().UnixNano()
	filter := fmt.Sprintf("bench/%d/#", run)
	subID, srcID, sub2ID := fmt.Sprintf("bench-sub-%d", run), fmt.Sprintf("bench-src-%d", run), fmt.Sprintf("bench-sub2-%d", run)
	if _, err := ensureTopic(ctx, o.Brokers, o.Topic, 1); err != nil {
		return MQTTSourceResult{}, err
	}
	// The sessions exist, subscribed, before anything is published: the
	// server queues every message for each while it is offline.
	for _, id := range []string{subID, srcID, sub2ID} {
		if err := o.session(ctx, id, filter); err != nil {
			return MQTTSourceResult{}, err
		}
	}
	if err := o.publish(ctx, fmt.Sprintf("bench/%d/readings", run), progress); err != nil {
		return MQTTSourceResult{}, err
	}
	// The subscriber drains before and after the source, and its time is
	// the mean of the two: a machine whose load changes during the run
	// then weighs on both sides alike.
	r := MQTTSourceResult{Messages: o.Messages, MessageSize: o.MessageSize}
	before, err := o.drainSubscriber(ctx, subID, filter, progress)
	if err != nil {
		return r, fmt.Errorf("plain subscriber: %w", err)
	}
	if r.Source, err = o.drainSource(ctx, srcID, filter, progress); err != nil {
		return r, fmt.Errorf("source task: %w", err)
	}
	after, err := o.drainSubscriber(ctx, sub2ID, filter, progress)
	if err != nil {
		return r, fmt.Errorf("plain subscriber: %w", err)
	}
	r.Subscriber = (before + after) / 2
	return r, nil
}

// session creates client id's persistent session subscribed to filter
// at QoS 1, and leaves it.
func (o MQTTSourceOptions) session(ctx context.Context, id, filter string) error {
	cfg, err := o.mqttConn(id)
	if err != nil {
		return err
	}
	c := mqtt.NewClient(cfg, mqtt.ClientOptions{Subscriptions: []string{filter}, QoS: 1, OnMessage: func(*mqtt.Received) {}})
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("session %s: %w", id, err)
	}
	select { // Connect returns before the SUBACK: the session needs the subscription
	case <-c.Subscribed():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session %s: no SUBACK: %w", id, ctx.Err())
	}
}

// publish sends the messages at QoS 1, pipelined, and waits for every
// PUBACK.
func (o MQTTSourceOptions) publish(ctx context.Context, topic string, progress io.Writer) error {
	cfg, err := o.mqttConn(fmt.Sprintf("bench-pub-%d", time.Now().UnixNano()))
	if err != nil {
		return err
	}
	cfg.CleanSession = true
	c := mqtt.NewClient(cfg, mqtt.ClientOptions{})
	defer c.Close()
	if err := c.Connect(ctx); err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	p, ok := c.(mqtt.Pipeliner)
	if !ok {
		return errors.New("publisher: the client cannot pipeline")
	}
	waits := make([]mqtt.AckWait, 0, 1024)
	settle := func() error {
		for _, w := range waits {
			if err := w(ctx); err != nil {
				return err
			}
		}
		waits = waits[:0]
		return nil
	}
	start := time.Now()
	var buf []byte
	for i := range o.Messages {
		buf = reading(buf[:0], i, o.MessageSize)
		w, err := p.Send(ctx, topic, append([]byte(nil), buf...), 1, false)
		if err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
		if waits = append(waits, w); len(waits) == cap(waits) {
			if err := settle(); err != nil {
				return err
			}
		}
	}
	if err := settle(); err != nil {
		return err
	}
	fmt.Fprintf(progress, "published %d messages in %s (queued for both sessions)\n", o.Messages, seconds(time.Since(start)))
	return nil
}

// drainSubscriber times the plain subscriber receiving every queued
// message, acknowledging each at once.
func (o MQTTSourceOptions) drainSubscriber(ctx context.Context, id, filter string, progress io.Writer) (time.Duration, error) {
	cfg, err := o.mqttConn(id)
	if err != nil {
		return 0, err
	}
	var got atomic.Int64
	all := make(chan struct{})
	n := int64(o.Messages)
	c := mqtt.NewClient(cfg, mqtt.ClientOptions{Subscriptions: []string{filter}, QoS: 1, OnMessage: func(m *mqtt.Received) {
		m.Ack()
		if got.Add(1) == n {
			close(all)
		}
	}})
	defer c.Close()
	start := time.Now()
	if err := c.Connect(ctx); err != nil {
		return 0, err
	}
	err = waitCount(ctx, all, got.Load, n, "plain subscriber received", progress)
	return time.Since(start), err
}

// drainSource times one MQTT source task (the session's client id)
// writing every queued message to the topic.
func (o MQTTSourceOptions) drainSource(ctx context.Context, id, filter string, progress io.Writer) (time.Duration, error) {
	w, err := startWorker(ctx, o.Brokers)
	if err != nil {
		return 0, err
	}
	defer w.close()
	before := endSum(ctx, w.adm, o.Topic)
	start := time.Now()
	_, err = w.herder.CreateConnector(ctx, "bench-mqtt-source", map[string]string{
		"connector.class": "io.sluice.connect.mqtt.MqttSourceConnector", "tasks.max": "1",
		"mqtt.server.uri": o.MQTTURL, "mqtt.topics": filter, "mqtt.qos": "1", "mqtt.client.id": id,
		"mqtt.version": "5", "kafka.topic": o.Topic,
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	}, "")
	if err != nil {
		return 0, err
	}
	want := before + int64(o.Messages)
	count := func() int64 { return endSum(ctx, w.adm, o.Topic) - before }
	watchCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for watchCtx.Err() == nil && endSum(watchCtx, w.adm, o.Topic) < want {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	err = waitCount(ctx, done, count, int64(o.Messages), "source task wrote", progress)
	elapsed := time.Since(start)
	stop()
	<-done
	return elapsed, err
}

// stallAfter is how long a drain may make no progress before the run
// stops: Mosquitto dropped messages (a queue limit) or a client is stuck.
const stallAfter = 20 * time.Second

// waitCount waits for done, printing count every second, and fails when
// count stops growing.
func waitCount(ctx context.Context, done <-chan struct{}, count func() int64, want int64, what string, progress io.Writer) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, since := int64(-1), time.Now()
	for {
		select {
		case <-done:
			return ctx.Err()
		case <-ctx.Done():
			return fmt.Errorf("%s %d of %d: %w", what, count(), want, ctx.Err())
		case <-tick.C:
			n := count()
			fmt.Fprintf(progress, "%s %d of %d\n", what, n, want)
			if n != last {
				last, since = n, time.Now()
			} else if time.Since(since) > stallAfter {
				return fmt.Errorf("%s %d of %d, and nothing more for %s: did Mosquitto drop queued messages? "+
					"Set max_queued_messages 0 in mosquitto.conf", what, n, want, stallAfter)
			}
		}
	}
}

func mainMQTTSource(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "mqtt-source", args, stdout, stderr, parseMQTTSourceFlags, MQTTSource)
}
