package httpsource

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Task serves its share of the listeners and hands the events it
// receives to the worker. It keeps no source offsets: a push source's
// clients resend what was not acknowledged, so a record carries no
// SourcePartition; the worker still calls CommitRecord once the broker
// has it, which answers the request.
type Task struct {
	q    *kit.AckQueue
	srv  *server
	name string // connector name and task id, for listenAddrs
	// addrs are the bound listeners as URLs while the task serves; the
	// worker reads them (Info) from its REST goroutines.
	addrs atomic.Pointer[[]string]

	stopOnce sync.Once
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
	t.q = kit.NewAckQueue(opts)
	t.srv = newServer(c, t.q, ctx.Logger())
	if err := t.srv.listen(); err != nil {
		t.q.Close()
		return fmt.Errorf("start HttpSourceTask: %w", err)
	}
	t.name = props["name"] + "/" + props[taskIDKey]
	addrs := slices.Clone(t.srv.addrs)
	t.addrs.Store(&addrs)
	setListenAddrs(t.name, addrs)
	return nil
}

// Poll returns the queued records.
func (t *Task) Poll(ctx context.Context) ([]*connect.Record, error) { return t.q.Poll(ctx) }

// CommitRecord tells the request waiting for r that the broker has it.
func (t *Task) CommitRecord(r *connect.Record) error {
	t.q.Ack(r)
	return nil
}

// Commit has nothing to do: there are no source offsets.
func (t *Task) Commit([]connect.SourceOffset) error { return nil }

// Stop answers the waiting requests 503, then closes the listeners. It
// is idempotent.
func (t *Task) Stop() error {
	t.stopOnce.Do(func() {
		if t.q == nil {
			return
		}
		t.addrs.Store(nil)
		t.q.Close()
		t.srv.close()
		setListenAddrs(t.name, nil)
	})
	return nil
}

// Addrs returns the task's bound listeners as URLs
// (http://127.0.0.1:4318), nil when it does not serve.
func (t *Task) Addrs() []string {
	if a := t.addrs.Load(); a != nil {
		return slices.Clone(*a)
	}
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

// bound holds the listening addresses of the running tasks, by connector
// name and task id, for tests and tools in this process to find a port 0
// listener.
var bound sync.Map // string -> []string

func setListenAddrs(name string, addrs []string) {
	if addrs == nil {
		bound.Delete(name)
		return
	}
	bound.Store(name, slices.Clone(addrs))
}

// listenAddrs returns the bound listeners of task id of connector name,
// as URLs, or nil when it does not run in this process.
func listenAddrs(name string, id int) []string {
	v, ok := bound.Load(fmt.Sprintf("%s/%d", name, id))
	if !ok {
		return nil
	}
	return v.([]string)
}
