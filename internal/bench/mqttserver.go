package bench

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MQTTServerOptions configure [MQTTServer]: one MqttServerSourceConnector
// task in an in-process worker, driven by MQTT 3.1.1 clients publishing
// QoS 1 messages with many in flight, each acknowledged only once durable.
type MQTTServerOptions struct {
	Brokers    []string
	Topic      string
	Partitions int
	// Messages are published, Size payload bytes each, from Clients
	// connections with at most Inflight unacknowledged on each.
	Messages, Size, Clients, Inflight int
}

// MQTTServerResult is what an mqtt-server run measured.
type MQTTServerResult struct {
	Messages int
	Size     int
	Clients  int
	Elapsed  time.Duration // from the first PUBLISH to the last PUBACK
	CPU      time.Duration // this process: clients, worker, connector
}

// MsgsPerSec is the rate of acknowledged messages.
func (r MQTTServerResult) MsgsPerSec() float64 { return perSecond(float64(r.Messages), r.Elapsed) }

// Summary renders the result.
func (r MQTTServerResult) Summary() string {
	s := fmt.Sprintf("mqtt-server: %d QoS 1 messages of %d B from %d clients in %s: %.0f msgs/s, %.2f MB/s (MiB), PUBACK after durable (acks=all), 1 task",
		r.Messages, r.Size, r.Clients, seconds(r.Elapsed), r.MsgsPerSec(), perSecond(float64(r.Messages*r.Size)/(1<<20), r.Elapsed))
	if r.CPU > 0 {
		s += fmt.Sprintf(", %.2f µs CPU per message in this process (clients, worker, connector)", float64(r.CPU.Nanoseconds())/float64(r.Messages)/1e3)
	}
	return s
}

func parseMQTTServerFlags(args []string, stderr io.Writer) (MQTTServerOptions, error) {
	o := MQTTServerOptions{Brokers: []string{DefaultBroker}, Partitions: 1, Messages: 1_000_000, Size: 200, Clients: 4, Inflight: 4096}
	fs := flag.NewFlagSet("sluice bench mqtt-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var((*addrList)(&o.Brokers), "brokers", "comma-separated seed `addresses`")
	fs.StringVar(&o.Topic, "topic", "", "`topic` to ingest into (default: a new one per run)")
	fs.IntVar(&o.Partitions, "partitions", o.Partitions, "partitions of the topic the run creates")
	fs.IntVar(&o.Messages, "messages", o.Messages, "QoS 1 messages to publish")
	fs.IntVar(&o.Size, "size", o.Size, "payload `bytes` per message")
	fs.IntVar(&o.Clients, "clients", o.Clients, "concurrent MQTT connections")
	fs.IntVar(&o.Inflight, "inflight", o.Inflight, "unacknowledged messages per connection (the server's mqtt.receive.maximum)")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if o.Topic == "" {
		o.Topic = fmt.Sprintf("bench-mqtt-server-%d", time.Now().UnixNano())
	}
	return o, o.Validate()
}

// Validate reports every problem with o at once.
func (o MQTTServerOptions) Validate() error {
	errs := validateTarget(o.Brokers, o.Topic)
	if o.Messages <= 0 {
		errs = append(errs, fmt.Errorf("--messages %d: want more than 0", o.Messages))
	}
	if o.Size < 0 || o.Size > 1<<20 {
		errs = append(errs, fmt.Errorf("--size %d: want 0 to 1048576", o.Size))
	}
	if o.Clients <= 0 {
		errs = append(errs, fmt.Errorf("--clients %d: want more than 0", o.Clients))
	}
	if o.Inflight <= 0 || o.Inflight > 65535 {
		errs = append(errs, fmt.Errorf("--inflight %d: want 1 to 65535", o.Inflight))
	}
	if o.Partitions <= 0 {
		errs = append(errs, fmt.Errorf("--partitions %d: want more than 0", o.Partitions))
	}
	return errors.Join(errs...)
}

// MQTTServer runs the connector and the clients.
func MQTTServer(ctx context.Context, o MQTTServerOptions, progress io.Writer) (MQTTServerResult, error) {
	if err := o.Validate(); err != nil {
		return MQTTServerResult{}, err
	}
	if _, err := ensureTopic(ctx, o.Brokers, o.Topic, o.Partitions); err != nil {
		return MQTTServerResult{}, err
	}
	w, err := startWorker(ctx, o.Brokers)
	if err != nil {
		return MQTTServerResult{}, err
	}
	defer w.close()
	const name = "bench-mqtt-server"
	_, err = w.herder.CreateConnector(ctx, name, map[string]string{
		"connector.class": "io.sluice.connect.mqtt.MqttServerSourceConnector", "tasks.max": "1",
		"listeners": "127.0.0.1:0", "kafka.topic": o.Topic, "mqtt.receive.maximum": strconv.Itoa(o.Inflight),
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
	}, "")
	if err != nil {
		return MQTTServerResult{}, err
	}
	url, err := waitListener(ctx, w, name)
	if err != nil {
		return MQTTServerResult{}, err
	}
	addr := strings.TrimPrefix(url, "mqtt://")
	clients := make([]*benchMQTTClient, o.Clients)
	for i := range clients {
		if clients[i], err = dialBenchMQTT(ctx, addr, fmt.Sprintf("bench-%d", i)); err != nil {
			return MQTTServerResult{}, err
		}
		defer clients[i].nc.Close()
	}
	r := MQTTServerResult{Messages: o.Messages, Size: o.Size, Clients: o.Clients}
	var done counter
	stop := startProgress(progress, progressInterval, "mqtt-server", int64(o.Messages), &done)
	start, cpu := time.Now(), processCPU()
	var wg sync.WaitGroup
	errs := make([]error, o.Clients)
	for i, c := range clients {
		n := o.Messages / o.Clients
		if i < o.Messages%o.Clients {
			n++
		}
		wg.Go(func() { errs[i] = c.run(ctx, n, o.Size, o.Inflight, &done) })
	}
	wg.Wait()
	r.Elapsed, r.CPU = time.Since(start), processCPU()-cpu
	stop()
	return r, errors.Join(errs...)
}

// benchMQTTClient is a minimal pipelined MQTT 3.1.1 publisher: a writer
// keeps up to inflight QoS 1 PUBLISHes unacknowledged, a reader counts
// the PUBACKs.
type benchMQTTClient struct {
	nc net.Conn
	br *bufio.Reader
}

func dialBenchMQTT(ctx context.Context, addr, id string) (*benchMQTTClient, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to the MQTT listener %s: %w", addr, err)
	}
	// CONNECT: protocol MQTT level 4, clean session, keep-alive 60 s.
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, byte(len(id) >> 8), byte(len(id))}, id...)
	pkt := append(appendHeader(nil, 0x10, len(body)), body...)
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(pkt); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	ack := make([]byte, 4)
	if _, err := io.ReadFull(br, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		nc.Close()
		return nil, fmt.Errorf("MQTT CONNECT to %s refused (%x): %v", addr, ack, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return &benchMQTTClient{nc: nc, br: br}, nil
}

// appendHeader appends a fixed header of type and flags b and length n.
func appendHeader(p []byte, b byte, n int) []byte {
	p = append(p, b)
	for {
		d := byte(n % 128)
		if n /= 128; n > 0 {
			d |= 0x80
		}
		p = append(p, d)
		if n == 0 {
			return p
		}
	}
}

// run publishes n messages of size bytes and waits for their PUBACKs.
func (c *benchMQTTClient) run(ctx context.Context, n, size, inflight int, done *counter) error {
	window := make(chan struct{}, inflight)
	readErr := make(chan error, 1)
	go func() {
		var hdr [4]byte
		for i := 0; i < n; i++ {
			if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
				readErr <- fmt.Errorf("read PUBACK %d of %d: %w", i+1, n, err)
				return
			}
			if hdr[0] != 0x40 {
				readErr <- fmt.Errorf("packet %x where a PUBACK was due", hdr)
				return
			}
			<-window
			done.add(1, int64(size))
		}
		readErr <- nil
	}()
	const topic = "bench/readings"
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = payloadText[i%len(payloadText)]
	}
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	var id uint16
	for i := 0; i < n; i++ {
		select {
		case window <- struct{}{}:
		default:
			if err := bw.Flush(); err != nil {
				return err
			}
			select {
			case window <- struct{}{}:
			case err := <-readErr:
				return errors.Join(err, errors.New("connection ended early"))
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if id++; id == 0 {
			id = 1
		}
		var hdr [16]byte
		p := appendHeader(hdr[:0], 0x32, 2+len(topic)+2+size)
		p = append(p, 0, byte(len(topic)))
		p = append(p, topic...)
		p = append(p, byte(id>>8), byte(id))
		_, _ = bw.Write(p)
		_, _ = bw.Write(payload)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	select {
	case err := <-readErr:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func mainMQTTServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runSummarized(ctx, "mqtt-server", args, stdout, stderr, parseMQTTServerFlags, MQTTServer)
}
