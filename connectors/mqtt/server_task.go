package mqtt

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// ServerTask runs the MQTT server on its share of the listeners and hands
// the messages it receives to the worker. It keeps no source offsets: a
// client resends what was not acknowledged, so a record carries no
// SourcePartition; the worker still calls CommitRecord once the broker
// has it, which lets the client's PUBACK or PUBREC go.
type ServerTask struct {
	kit.ServingTask
	srv *mqttServer
}

var (
	_ connect.SourceTaskCommitter = (*ServerTask)(nil)
	_ connect.TaskInfo            = (*ServerTask)(nil)
)

// Start binds the task's listeners and starts serving; a listener that
// cannot be bound fails the start.
func (t *ServerTask) Start(ctx connect.SourceTaskContext, props map[string]string) error {
	c, err := parseServerConfig(props)
	if err != nil {
		return fmt.Errorf("start MqttServerSourceTask: %w", err)
	}
	opts := kit.QueueOptions{MaxRecords: c.queueRecords}
	if c.queueBytes > 0 {
		opts.MaxBytes, opts.Size = c.queueBytes, messageSize
	}
	t.Queue = kit.NewAckQueue(opts)
	t.srv = newMQTTServer(c, t.Queue, ctx.Logger())
	if err := t.srv.listen(); err != nil {
		t.Queue.Close()
		return fmt.Errorf("start MqttServerSourceTask: %w", err)
	}
	t.Serving(props["name"]+"/"+props[srvTaskIDKey], t.srv.addrs, t.srv.close)
	return nil
}

// messageSize estimates a record's bytes for max.queue.size.in.bytes.
func messageSize(r *connect.Record) int64 {
	n := int64(128 + len(r.Topic))
	if k, ok := r.Key.(string); ok {
		n += int64(len(k))
	}
	if v, ok := r.Value.([]byte); ok {
		n += int64(len(v))
	}
	for _, h := range r.Headers[min(4, len(r.Headers)):] {
		s, _ := h.Value.(string)
		n += int64(len(h.Key) + len(s) + 16)
	}
	return n
}

// Info reports, for the task's status, the listeners the task serves,
// the clients connected, and the messages received with the DUP flag
// (resent by their client, perhaps already written):
// {"listeners": "mqtt://10.0.0.5:1883", "clients": "12", "duplicates": "3"}.
func (t *ServerTask) Info() map[string]string {
	a := t.Addrs()
	if a == nil {
		return nil
	}
	return map[string]string{"listeners": strings.Join(a, ","),
		"clients":    strconv.Itoa(t.srv.clientCount()),
		"duplicates": strconv.FormatInt(t.srv.duplicates.Load(), 10)}
}
