package connecttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/storage"
	"github.com/sluicehq/sluice/runtime/worker"
)

// Offsets holds committed source offsets in memory and hands them back as
// a task reads them from the offsets topic: every partition and offset is
// validated, encoded and decoded as runtime/storage does, so a test sees
// int64 where it stored an int, base64 text where it stored bytes, and the
// worker's error for a value the topic cannot hold. The zero value is
// empty and ready; it is safe for concurrent use.
type Offsets struct {
	mu sync.Mutex
	m  map[string]map[string]any // canonical partition → offset
}

// Put stores the offset of a source partition, as the worker commits it;
// a nil offset removes the partition.
func (o *Offsets) Put(partition, offset map[string]any) error {
	key, err := partitionKey(partition)
	if err != nil {
		return err
	}
	stored, err := storage.RoundTripOffset(offset)
	if err != nil {
		return fmt.Errorf("source offset of partition %s: %w", key, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if stored == nil {
		delete(o.m, key)
		return nil
	}
	if o.m == nil {
		o.m = map[string]map[string]any{}
	}
	o.m[key] = stored
	return nil
}

// Get returns the committed offset of a source partition, or nil.
func (o *Offsets) Get(partition map[string]any) (map[string]any, error) {
	key, err := partitionKey(partition)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return maps.Clone(o.m[key]), nil
}

// Len returns how many source partitions have an offset.
func (o *Offsets) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.m)
}

// partitionKey is a partition's lookup key: its JSON as the topic holds
// it, fields sorted.
func partitionKey(partition map[string]any) (string, error) {
	p, err := storage.RoundTripOffset(partition)
	if err != nil {
		return "", fmt.Errorf("source partition: %w", err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("source partition: %w", err)
	}
	return string(b), nil
}

// SourceContext is a connect.SourceTaskContext for unit tests. Its zero
// value works (no config, no offsets, a logger that discards);
// NewSourceContext gives one that logs to the test.
type SourceContext struct {
	// Offsets are the committed offsets Offset answers from; contexts
	// sharing one act as a worker before and after a task restart. nil
	// is an empty set, made on first use.
	Offsets *Offsets
	// Props is what Config returns.
	Props map[string]string
	// Log is what Logger returns; nil discards.
	Log *slog.Logger

	mu sync.Mutex
}

var (
	_ connect.SourceTaskContext = (*SourceContext)(nil)
)

// NewSourceContext returns a context with config whose logger writes to
// the test's log.
func NewSourceContext(t testing.TB, config map[string]string) *SourceContext {
	return &SourceContext{Offsets: &Offsets{}, Props: config, Log: TestLogger(t)}
}

// Restarted returns a context sharing c's offsets, config and logger: the
// one a worker hands a task it restarts.
func (c *SourceContext) Restarted() *SourceContext {
	return &SourceContext{Offsets: c.offsets(), Props: c.Props, Log: c.Log}
}

func (c *SourceContext) offsets() *Offsets {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Offsets == nil {
		c.Offsets = &Offsets{}
	}
	return c.Offsets
}

// Offset implements connect.SourceTaskContext.
func (c *SourceContext) Offset(partition map[string]any) (connect.Offset, error) {
	return c.offsets().Get(partition)
}

// Config implements connect.SourceTaskContext.
func (c *SourceContext) Config() map[string]string { return c.Props }

// Logger implements connect.SourceTaskContext.
func (c *SourceContext) Logger() *slog.Logger { return connect.OrDiscard(c.Log) }

// Commit does what the worker does once the broker acknowledged records:
// CommitRecord for each (when the task is a connect.SourceTaskCommitter),
// their offsets stored in order (the last of a partition wins), then
// Commit with the offsets stored (the last of each partition, as the
// worker hands them). It returns every error met.
func (c *SourceContext) Commit(task connect.SourceTask, records []*connect.Record) error {
	committer, _ := task.(connect.SourceTaskCommitter)
	var errs []error
	for _, r := range records {
		if committer != nil {
			if err := committer.CommitRecord(r); err != nil {
				errs = append(errs, fmt.Errorf("commit record %s: %w", r, err))
			}
		}
	}
	var committed []connect.SourceOffset
	last := map[string]int{} // partition key → index in committed
	for _, r := range records {
		if r.SourceOffset == nil {
			continue
		}
		if err := c.offsets().Put(r.SourcePartition, r.SourceOffset); err != nil {
			errs = append(errs, err)
			continue
		}
		key, _ := partitionKey(r.SourcePartition)
		if i, ok := last[key]; ok {
			committed[i].Offset = r.SourceOffset
			continue
		}
		last[key] = len(committed)
		committed = append(committed, connect.SourceOffset{Partition: r.SourcePartition, Offset: r.SourceOffset})
	}
	if committer != nil && len(records) > 0 {
		if err := committer.Commit(committed); err != nil {
			errs = append(errs, fmt.Errorf("commit: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Reported is one record a sink task handed to SinkContext.Report.
type Reported struct {
	Record *connect.Record
	Err    error
}

// SinkContext is a connect.SinkTaskContext for unit tests. Its zero value
// works: Report answers as the worker does under errors.tolerance=none.
type SinkContext struct {
	// Props is what Config returns.
	Props map[string]string
	// Log is what Logger returns; nil discards.
	Log *slog.Logger
	// Tolerate makes Report keep the record and return nil, as the worker
	// does under errors.tolerance=all; otherwise Report returns an error
	// wrapping worker.ErrToleranceExceeded.
	Tolerate bool

	mu       sync.Mutex
	reported []Reported
	rewinds  map[connect.TopicPartition]int64
}

var (
	_ connect.SinkTaskContext = (*SinkContext)(nil)
)

// NewSinkContext returns a context with config whose logger writes to the
// test's log.
func NewSinkContext(t testing.TB, config map[string]string) *SinkContext {
	return &SinkContext{Props: config, Log: TestLogger(t)}
}

// Report implements connect.SinkTaskContext.
func (c *SinkContext) Report(r *connect.Record, err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reported = append(c.reported, Reported{Record: r, Err: err})
	if c.Tolerate {
		return nil
	}
	return fmt.Errorf("%w: task reported %s: %w", worker.ErrToleranceExceeded, r, err)
}

// Rewind implements connect.SinkTaskContext.
func (c *SinkContext) Rewind(tp connect.TopicPartition, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rewinds == nil {
		c.rewinds = map[connect.TopicPartition]int64{}
	}
	c.rewinds[tp] = offset
}

// Config implements connect.SinkTaskContext.
func (c *SinkContext) Config() map[string]string { return c.Props }

// Logger returns the logger the test set, or one that discards.
func (c *SinkContext) Logger() *slog.Logger { return connect.OrDiscard(c.Log) }

// ReportedRecords returns what the task reported, in order.
func (c *SinkContext) ReportedRecords() []Reported {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Reported(nil), c.reported...)
}

// Rewinds returns the last offset the task asked to rewind each partition
// to.
func (c *SinkContext) Rewinds() map[connect.TopicPartition]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.rewinds)
}

// TestLogger returns a logger writing to t's log (at debug level when
// SLUICE_TEST_LOG is set, info otherwise); lines logged after the test
// ended, by goroutines still stopping, are dropped rather than failing
// the run.
func TestLogger(t testing.TB) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("SLUICE_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// testWriter passes log lines to t.Log until the test ends.
type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSuffix(string(bytes.Clone(p)), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// ConnectorContext is a connect.ConnectorContext for unit tests; it
// records what the connector asked of the worker. Its zero value works.
type ConnectorContext struct {
	// Log is what Logger returns; nil discards.
	Log *slog.Logger

	mu        sync.Mutex
	reconfigs int
	raised    []error
}

var (
	_ connect.ConnectorContext = (*ConnectorContext)(nil)
)

// NewConnectorContext returns a context whose logger writes to the test's
// log.
func NewConnectorContext(t testing.TB) *ConnectorContext {
	return &ConnectorContext{Log: TestLogger(t)}
}

// RequestTaskReconfiguration implements connect.ConnectorContext.
func (c *ConnectorContext) RequestTaskReconfiguration() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reconfigs++
}

// RaiseError implements connect.ConnectorContext.
func (c *ConnectorContext) RaiseError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raised = append(c.raised, err)
}

// Logger returns the logger the test set, or one that discards.
func (c *ConnectorContext) Logger() *slog.Logger { return connect.OrDiscard(c.Log) }

// Reconfigurations returns how often the connector asked for new task
// configs.
func (c *ConnectorContext) Reconfigurations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reconfigs
}

// Raised returns the errors the connector raised.
func (c *ConnectorContext) Raised() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.raised...)
}
