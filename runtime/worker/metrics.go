package worker

import (
	"fmt"
	"github.com/sluicehq/sluice/runtime/connect"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// taskMetrics are one task's counters since it started on this worker
// (Kafka's source-task, sink-task and task-error metric groups).
type taskMetrics struct {
	polled    atomic.Int64 // source: records returned by poll
	written   atomic.Int64 // source: records the broker acknowledged
	read      atomic.Int64 // sink: records consumed
	put       atomic.Int64 // sink: records handed to put
	commits   atomic.Int64 // offset commits that succeeded
	commitErr atomic.Int64 // offset commits that failed
}

// metricsRegistry holds the counters of the tasks this worker runs.
type metricsRegistry struct {
	mu    sync.Mutex
	tasks map[ConnectorTaskID]*taskRun
}

// taskRun pairs a task's counters with its error handler's, and the
// task's own status facts (a connect.TaskInfo) when it has some.
type taskRun struct {
	m    *taskMetrics
	tol  *tolerance
	info connect.TaskInfo
}

func (r *metricsRegistry) register(id ConnectorTaskID, m *taskMetrics, tol *tolerance, task any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tasks == nil {
		r.tasks = map[ConnectorTaskID]*taskRun{}
	}
	info, _ := task.(connect.TaskInfo)
	r.tasks[id] = &taskRun{m: m, tol: tol, info: info}
}

// info returns what task id, when this worker runs it, says about itself
// (connect.TaskInfo), or nil.
func (r *metricsRegistry) info(id ConnectorTaskID) map[string]string {
	r.mu.Lock()
	run := r.tasks[id]
	r.mu.Unlock()
	if run == nil || run.info == nil {
		return nil
	}
	return run.info.Info()
}

func (r *metricsRegistry) unregister(id ConnectorTaskID, m *taskMetrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur, ok := r.tasks[id]; ok && cur.m == m {
		delete(r.tasks, id)
	}
}

// WriteMetrics writes the worker's metrics in the Prometheus text format:
// connector and task states (as this worker sees the cluster) and the
// counters of the tasks it runs.
func (h *Herder) WriteMetrics(w io.Writer) error {
	var b strings.Builder
	snap := h.configs.Snapshot()
	names := slices.Sorted(maps.Keys(snap.Connectors))

	b.WriteString("# HELP sluice_connect_connector_state Connector state (1 for the current state).\n# TYPE sluice_connect_connector_state gauge\n")
	for _, n := range names {
		st, ok := h.status.Connector(n)
		if !ok {
			st.State = StateUnassigned
		}
		fmt.Fprintf(&b, "sluice_connect_connector_state{connector=%s,state=%s,worker_id=%s} 1\n", label(n), label(string(st.State)), label(st.WorkerID))
	}
	b.WriteString("# HELP sluice_connect_task_state Task state (1 for the current state).\n# TYPE sluice_connect_task_state gauge\n")
	for _, n := range names {
		for i := range snap.Tasks[n] {
			st, ok := h.status.Task(ConnectorTaskID{Connector: n, Task: i})
			if !ok {
				st.State = StateUnassigned
			}
			fmt.Fprintf(&b, "sluice_connect_task_state{connector=%s,task=\"%d\",state=%s,worker_id=%s} 1\n", label(n), i, label(string(st.State)), label(st.WorkerID))
		}
	}

	h.metrics.mu.Lock()
	ids := slices.SortedFunc(maps.Keys(h.metrics.tasks), func(a, b ConnectorTaskID) int {
		return strings.Compare(a.String(), b.String())
	})
	runs := make([]*taskRun, len(ids))
	for i, id := range ids {
		runs[i] = h.metrics.tasks[id]
	}
	h.metrics.mu.Unlock()
	counters := []struct {
		name, help string
		get        func(*taskRun) int64
	}{
		{"sluice_connect_source_records_polled_total", "Records returned by the source task's poll.", func(r *taskRun) int64 { return r.m.polled.Load() }},
		{"sluice_connect_source_records_written_total", "Source records the broker acknowledged.", func(r *taskRun) int64 { return r.m.written.Load() }},
		{"sluice_connect_sink_records_read_total", "Records the sink task's consumer read.", func(r *taskRun) int64 { return r.m.read.Load() }},
		{"sluice_connect_sink_records_put_total", "Records handed to the sink task's put.", func(r *taskRun) int64 { return r.m.put.Load() }},
		{"sluice_connect_offset_commits_total", "Offset commits that succeeded.", func(r *taskRun) int64 { return r.m.commits.Load() }},
		{"sluice_connect_offset_commit_failures_total", "Offset commits that failed.", func(r *taskRun) int64 { return r.m.commitErr.Load() }},
		{"sluice_connect_record_failures_total", "Records that failed a stage (converter, transform, put).", func(r *taskRun) int64 { return r.tol.failed.Load() }},
		{"sluice_connect_records_skipped_total", "Records skipped under errors.tolerance=all.", func(r *taskRun) int64 { return r.tol.skipped.Load() }},
		{"sluice_connect_retries_total", "Retries of failed operations.", func(r *taskRun) int64 { return r.tol.retries.Load() }},
		{"sluice_connect_deadletterqueue_records_total", "Records written to the dead letter queue.", func(r *taskRun) int64 { return r.tol.dlqWritten.Load() }},
	}
	for _, c := range counters {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
		for i, id := range ids {
			fmt.Fprintf(&b, "%s{connector=%s,task=\"%d\"} %d\n", c.name, label(id.Connector), id.Task, c.get(runs[i]))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// label quotes a Prometheus label value (escaping \\, \" and newlines
// only, as the text format wants).
func label(v string) string {
	return `"` + labelEscaper.Replace(v) + `"`
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
