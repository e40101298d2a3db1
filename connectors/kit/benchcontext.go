package kit

import (
	"fmt"
	"log/slog"

	"github.com/sluicehq/sluice/runtime/connect"
)

// BenchSinkContext is the context of a sink task run outside a worker by
// a benchmark: the task gets Config, a record it reports fails the run
// (a benchmark has no dead letter queue), rewinds are ignored and logs
// are discarded.
type BenchSinkContext struct{ Cfg map[string]string }

// Report implements connect.SinkTaskContext: the record fails the run.
func (c BenchSinkContext) Report(r *connect.Record, err error) error {
	return fmt.Errorf("record %s-%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
}

// Rewind implements connect.SinkTaskContext; a benchmark does not rewind.
func (BenchSinkContext) Rewind(connect.TopicPartition, int64) {}

// Config implements connect.SinkTaskContext.
func (c BenchSinkContext) Config() map[string]string { return c.Cfg }

// Logger implements connect.SinkTaskContext: logs are discarded.
func (BenchSinkContext) Logger() *slog.Logger { return connect.OrDiscard(nil) }
