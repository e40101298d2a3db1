package httpsource

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Task serves its share of the listeners and hands the events it
// receives to the worker. It keeps no source offsets: a push source's
// clients resend what was not acknowledged, so a record carries no
// SourcePartition; the worker still calls CommitRecord once the broker
// has it, which answers the request.
type Task struct {
	q   *kit.AckQueue
	srv *server
	// bound are the bound listeners as URLs while the task serves; the
	// worker reads them (Info) from its REST goroutines.
	bound kit.Bound

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
	t.bound.Set(props["name"]+"/"+props[taskIDKey], t.srv.addrs)
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
		t.bound.Clear()
		t.q.Close()
		t.srv.close()
	})
	return nil
}

// Addrs returns the task's bound listeners as URLs
// (http://127.0.0.1:4318), nil when it does not serve.
func (t *Task) Addrs() []string {
	return t.bound.Addrs()
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
