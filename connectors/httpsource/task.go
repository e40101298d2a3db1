package httpsource

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Task serves its share of the listeners and hands the events it
// receives to the worker. It keeps no source offsets: a push source's
// clients resend what was not acknowledged, so a record carries no
// SourcePartition; the worker still calls CommitRecord once the broker
// has it, which answers the request.
type Task struct {
	kit.ServingTask
	srv *server
}

var (
	_ connect.SourceTaskCommitter = (*Task)(nil)
	_ connect.TaskInfo            = (*Task)(nil)
)

// Start binds the task's listeners and starts serving; a listener that
// cannot be bound (its address in use) fails the start.
func (t *Task) Start(ctx connect.SourceTaskContext, props map[string]string) error {
	c, err := parseConfig(props)
	if err != nil {
		return fmt.Errorf("start HttpSourceTask: %w", err)
	}
	opts := kit.QueueOptions{MaxRecords: c.queueRecords}
	if c.queueBytes > 0 {
		opts.MaxBytes, opts.Size = c.queueBytes, recordSize
	}
	t.Queue = kit.NewAckQueue(opts)
	t.srv = newServer(c, t.Queue, ctx.Logger())
	if err := t.srv.listen(); err != nil {
		t.Queue.Close()
		return fmt.Errorf("start HttpSourceTask: %w", err)
	}
	t.Serving(props["name"]+"/"+props[taskIDKey], t.srv.addrs, t.srv.close)
	return nil
}

// Info reports the listeners the task serves, for the task's status:
// {"listeners": "http://10.0.0.5:9200,https://10.0.0.5:9443"}. A
// wildcard host (0.0.0.0, [::]) is reported as bound; the worker_id
// beside it says which host it is.
func (t *Task) Info() map[string]string {
	a := t.Addrs()
	if a == nil {
		return nil
	}
	return map[string]string{"listeners": strings.Join(a, ",")}
}
