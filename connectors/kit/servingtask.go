package kit

import (
	"context"
	"sync"

	"github.com/sluicehq/sluice/runtime/connect"
)

// ServingTask is the body of a source task that serves listeners its
// clients push to (the HTTP source, the MQTT server): their records go
// through Queue, a client hears back once the broker has them (the
// worker's CommitRecord), and no source offsets are kept, since a client
// resends what was not acknowledged. A task embeds it, sets Queue and
// calls Serving in Start; Poll, CommitRecord, Commit, Stop and Addrs are
// the task's.
type ServingTask struct {
	Queue *AckQueue

	bound    Bound
	close    func()
	stopOnce sync.Once
}

// Serving records that the task named name ("<connector>/<task id>")
// serves addrs, and what closes its listeners and connections at Stop.
func (s *ServingTask) Serving(name string, addrs []string, close func()) {
	s.close = close
	s.bound.Set(name, addrs)
}

// Poll returns the queued records.
func (s *ServingTask) Poll(ctx context.Context) ([]*connect.Record, error) { return s.Queue.Poll(ctx) }

// CommitRecord lets the answer to the client that sent r go.
func (s *ServingTask) CommitRecord(r *connect.Record) error {
	s.Queue.Ack(r)
	return nil
}

// Commit has nothing to do: there are no source offsets.
func (s *ServingTask) Commit([]connect.SourceOffset) error { return nil }

// Stop fails every waiting client (no answer goes out: the clients
// resend), then closes the listeners and connections. It is idempotent.
func (s *ServingTask) Stop() error {
	s.stopOnce.Do(func() {
		if s.Queue == nil {
			return
		}
		s.bound.Clear()
		s.Queue.Close()
		if s.close != nil {
			s.close()
		}
	})
	return nil
}

// Addrs returns the listeners served as URLs, nil when none.
func (s *ServingTask) Addrs() []string { return s.bound.Addrs() }
