package connecttest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// Spec describes a connector to the acceptance suite.
type Spec struct {
	// Plugin is the connector under test.
	Plugin connect.ConnectorPlugin
	// Config returns a valid connector config (without name and
	// connector.class). It is called once per check, so each can have its
	// own files, tables or topics.
	Config func(t *testing.T) map[string]string
	// Topic names the topic a source writes its records to, or a sink
	// reads them from, under config.
	Topic func(config map[string]string) string
	// ID returns the index of one record: for a source, from the value of
	// a record it wrote (decoded from schemaless JSON); for a sink, from
	// one item Written returned.
	ID func(value any) (int, error)

	// Produce makes records first, first+1, … first+n-1 appear at a
	// source (lines appended to a file, rows inserted); nil for a source
	// that generates records by itself.
	Produce func(t *testing.T, config map[string]string, first, n int)
	// OffsetFields names the committed offset fields a source task
	// resumes from, each of which the corrupt-offset check replaces with
	// values of the wrong type; nil means every non-null field.
	OffsetFields []string

	// Skip names checks (as "CorruptOffsetIsRefused/lsn=1.5", relative to
	// Acceptance's test) that are known to fail, with why: a finding to
	// fix, shown by go test -v, rather than a check quietly left out.
	Skip map[string]string

	// Value is the JSON value of record i a sink is fed (its index as a
	// JSON number when nil).
	Value func(i int) []byte
	// Written reads back, in order, what a sink wrote under config.
	Written func(t *testing.T, config map[string]string) []any

	// run runs a check as a subtest, honouring Skip.
	run func(t *testing.T, name string, check func(t *testing.T))
}

// The suite's bounds: how promptly Poll must see a cancelled context, how
// long stopped goroutines may take to exit, how long records may take.
const (
	cancelBound = 2 * time.Second
	leakSettle  = 5 * time.Second
	recordWait  = 60 * time.Second
)

// Acceptance runs the checks every connector must pass:
//
//   - RequiredKeys: /config/validate (the worker's validation) accepts the
//     config and refuses it without each required key, naming the key;
//   - StopIsIdempotentAndLeaksNothing: the connector and a task that ran
//     stop twice without error, and leave no goroutine behind;
//   - PollReturnsWhenCancelled (sources): Poll returns within 2s of its
//     context being cancelled;
//   - CorruptOffsetIsRefused (sources): a committed offset whose fields
//     have the wrong type fails Start or Poll with an error naming the
//     field, rather than a panic or a silent restart;
//   - ResumesAfterCommittedOffset: through the real worker, records
//     before and after a worker restart reach the topic (a source) or
//     the destination (a sink) exactly once each.
func Acceptance(t *testing.T, spec Spec) {
	t.Helper()
	if spec.Config == nil || spec.Topic == nil || spec.ID == nil {
		t.Fatal("acceptance: Spec needs Config, Topic and ID")
	}
	sink := spec.Plugin.Type() == connect.PluginSink
	if sink && spec.Written == nil {
		t.Fatal("acceptance: a sink's Spec needs Written")
	}
	root := t.Name() + "/"
	run := func(t *testing.T, name string, check func(t *testing.T)) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			if why, ok := spec.Skip[strings.TrimPrefix(t.Name(), root)]; ok {
				t.Skip("known failure: " + why)
			}
			check(t)
		})
	}
	spec.run = run
	run(t, "StopIsIdempotentAndLeaksNothing", func(t *testing.T) { checkStop(t, spec) })
	if !sink {
		run(t, "PollReturnsWhenCancelled", func(t *testing.T) { checkPollCancel(t, spec) })
		run(t, "CorruptOffsetIsRefused", func(t *testing.T) { checkCorruptOffset(t, spec) })
	}
	run(t, "RequiredKeys", func(t *testing.T) { checkRequiredKeys(t, spec) })
	run(t, "ResumesAfterCommittedOffset", func(t *testing.T) {
		if sink {
			checkSinkResume(t, spec)
		} else {
			checkSourceResume(t, spec)
		}
	})
}

// taskConfig runs the connector to get its first task's config.
func taskConfig(t *testing.T, spec Spec, config map[string]string) map[string]string {
	t.Helper()
	c := spec.Plugin.NewConnector()
	if err := c.Start(NewConnectorContext(t), maps.Clone(config)); err != nil {
		t.Fatalf("start connector: %v", err)
	}
	configs, err := c.TaskConfigs(1)
	if err != nil {
		t.Fatalf("task configs: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("stop connector: %v", err)
	}
	if len(configs) == 0 {
		t.Fatal("connector gave no task config")
	}
	return configs[0]
}

func checkRequiredKeys(t *testing.T, spec Spec) {
	w := StartWorker(t, nil, []connect.ConnectorPlugin{spec.Plugin}, nil)
	config := spec.Config(t)
	config["name"] = resumeName
	if errs := w.ValidationErrors(spec.Plugin.Class, config); len(errs) > 0 {
		t.Fatalf("the valid config is refused: %v", errs)
	}
	for _, k := range spec.Plugin.Config {
		if !k.Required() || k.Unsupported != "" {
			continue
		}
		without := maps.Clone(config)
		delete(without, k.Name)
		errs := w.ValidationErrors(spec.Plugin.Class, without)
		if !slices.ContainsFunc(errs[k.Name], func(msg string) bool { return strings.Contains(msg, k.Name) }) {
			t.Errorf("a config without required key %s: validation errors %v, want one on %s naming it", k.Name, errs, k.Name)
		}
	}
}

func checkStop(t *testing.T, spec Spec) {
	config := spec.Config(t)
	before := Goroutines()

	c := spec.Plugin.NewConnector()
	if err := c.Start(NewConnectorContext(t), maps.Clone(config)); err != nil {
		t.Fatalf("start connector: %v", err)
	}
	configs, err := c.TaskConfigs(1)
	if err != nil || len(configs) == 0 {
		t.Fatalf("task configs: %v, %v", configs, err)
	}
	for i := range 2 {
		if err := c.Stop(); err != nil {
			t.Errorf("connector Stop #%d: %v", i+1, err)
		}
	}
	if spec.Plugin.Type() == connect.PluginSink {
		stopSink(t, spec, configs[0])
	} else {
		stopSource(t, spec, config, configs[0])
	}
	CheckNoLeak(t, before, leakSettle)
}

func stopSource(t *testing.T, spec Spec, config, taskCfg map[string]string) {
	task := spec.Plugin.NewSourceTask()
	if err := task.Start(NewSourceContext(t, taskCfg), taskCfg); err != nil {
		t.Fatalf("start task: %v", err)
	}
	if spec.Produce != nil {
		spec.Produce(t, config, 0, 3)
	}
	pollSome(t, task, 10*time.Second)
	for i := range 2 {
		if err := task.Stop(); err != nil {
			t.Errorf("task Stop #%d: %v", i+1, err)
		}
	}
}

func stopSink(t *testing.T, spec Spec, taskCfg map[string]string) {
	task := spec.Plugin.NewSinkTask()
	if err := task.Start(NewSinkContext(t, taskCfg), taskCfg); err != nil {
		t.Fatalf("start task: %v", err)
	}
	tp := connect.TopicPartition{Topic: spec.Topic(taskCfg)}
	if h, ok := task.(connect.SinkPartitionHandler); ok {
		if err := h.Open([]connect.TopicPartition{tp}); err != nil {
			t.Fatalf("open: %v", err)
		}
	}
	recs := []*connect.Record{{Topic: tp.Topic, Offset: 0, Value: int64(0)}, {Topic: tp.Topic, Offset: 1, Value: int64(1)}}
	if err := task.Put(context.Background(), recs); err != nil {
		t.Fatalf("put: %v", err)
	}
	if _, err := task.Flush(context.Background(), map[connect.TopicPartition]int64{tp: 2}); err != nil {
		t.Fatalf("flush: %v", err)
	}
	for i := range 2 {
		if err := task.Stop(); err != nil {
			t.Errorf("task Stop #%d: %v", i+1, err)
		}
	}
}

// pollSome polls until records arrive or d passes, and returns them.
func pollSome(t *testing.T, task connect.SourceTask, d time.Duration) []*connect.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		recs, err := task.Poll(ctx)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if len(recs) > 0 {
			return recs
		}
	}
	return nil
}

func checkPollCancel(t *testing.T, spec Spec) {
	config := spec.Config(t)
	taskCfg := taskConfig(t, spec, config)
	task := spec.Plugin.NewSourceTask()
	if err := task.Start(NewSourceContext(t, taskCfg), taskCfg); err != nil {
		t.Fatalf("start task: %v", err)
	}
	defer func() {
		if err := task.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	// Poll in a loop, as the worker does, until the context is cancelled
	// while a Poll is (most likely) waiting for data.
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			_, _ = task.Poll(ctx)
		}
		returned <- time.Now()
	}()
	time.Sleep(300 * time.Millisecond)
	cancelled := time.Now()
	cancel()
	select {
	case at := <-returned:
		t.Logf("Poll returned %s after its context was cancelled", at.Sub(cancelled))
	case <-time.After(cancelBound):
		t.Fatalf("Poll still running %s after its context was cancelled", cancelBound)
	}
	start := time.Now()
	if _, err := task.Poll(ctx); time.Since(start) > cancelBound {
		t.Errorf("Poll with a cancelled context took %s (error %v)", time.Since(start), err)
	}
}

// wrongValues returns values of other JSON types than v.
func wrongValues(v any) []any {
	switch v.(type) {
	case int64:
		return []any{"garbage", true, 1.5}
	case float64:
		return []any{"garbage", true}
	case string:
		return []any{int64(42), true}
	case bool:
		return []any{"garbage", int64(1)}
	}
	return nil
}

func checkCorruptOffset(t *testing.T, spec Spec) {
	config := spec.Config(t)
	taskCfg := taskConfig(t, spec, config)
	// A real committed offset first.
	first := NewSourceContext(t, taskCfg)
	task := spec.Plugin.NewSourceTask()
	if err := task.Start(first, taskCfg); err != nil {
		t.Fatalf("start task: %v", err)
	}
	if spec.Produce != nil {
		spec.Produce(t, config, 0, 3)
	}
	recs := pollSome(t, task, recordWait)
	if len(recs) == 0 {
		t.Fatalf("no record within %s", recordWait)
	}
	if err := first.Commit(task, recs); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if err := task.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	last := recs[len(recs)-1]
	partition := last.SourcePartition
	committed, err := first.Offsets.Get(partition)
	if err != nil || committed == nil {
		t.Fatalf("committed offset of %v: %v, %v", partition, committed, err)
	}
	fields := spec.OffsetFields
	if fields == nil {
		for _, k := range slices.Sorted(maps.Keys(committed)) {
			if committed[k] != nil {
				fields = append(fields, k)
			}
		}
	}
	for _, field := range fields {
		if _, ok := committed[field]; !ok {
			t.Fatalf("offset field %s is not in the committed offset %v", field, committed)
		}
		for _, bad := range wrongValues(committed[field]) {
			corrupt := maps.Clone(committed)
			corrupt[field] = bad
			spec.run(t, fmt.Sprintf("%s=%v", field, bad), func(t *testing.T) {
				ctx := NewSourceContext(t, taskCfg)
				if err := ctx.Offsets.Put(partition, corrupt); err != nil {
					t.Fatalf("store offset: %v", err)
				}
				err := startCorrupt(t, spec, ctx, taskCfg)
				if err == nil {
					t.Fatalf("task accepted committed offset %v", corrupt)
				}
				if !strings.Contains(err.Error(), field) {
					t.Errorf("the error for committed offset %v does not name %s: %v", corrupt, field, err)
				}
			})
		}
	}
}

// startCorrupt starts a task on a corrupt offset and polls it until it
// fails, returning the error of Start or Poll; a panic or records are a
// test failure.
func startCorrupt(t *testing.T, spec Spec, ctx *SourceContext, taskCfg map[string]string) (err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("task panicked on a corrupt offset: %v", p)
		}
	}()
	task := spec.Plugin.NewSourceTask()
	if err := task.Start(ctx, taskCfg); err != nil {
		return err
	}
	defer func() {
		if stopErr := task.Stop(); stopErr != nil {
			t.Logf("stop: %v", stopErr)
		}
	}()
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for pctx.Err() == nil {
		recs, err := task.Poll(pctx)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			t.Fatalf("task polled %d records from a corrupt offset (first %s)", len(recs), recs[0])
		}
	}
	return nil
}

// resumeName is the connector the resume checks create.
const resumeName = "acceptance"

func checkSourceResume(t *testing.T, spec Spec) {
	w := StartWorker(t, nil, []connect.ConnectorPlugin{spec.Plugin}, nil)
	config := spec.Config(t)
	topic := spec.Topic(config)
	const batch = 10
	if spec.Produce != nil {
		spec.Produce(t, config, 0, batch)
	}
	w.Create(resumeName, spec.Plugin.Class, config)
	Consume(t, w.Broker, topic, batch, recordWait)
	waitCommitted(t, w)
	w.Restart()
	before := len(ConsumeAll(t, w.Broker, topic))
	if spec.Produce != nil {
		spec.Produce(t, config, before, batch)
	}
	w.Create(resumeName, spec.Plugin.Class, config)
	Consume(t, w.Broker, topic, before+batch, recordWait)
	w.Stop()
	var ids []int
	for _, r := range ConsumeAll(t, w.Broker, topic) {
		var v any
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("record value %q: %v", r.Value, err)
		}
		id, err := spec.ID(v)
		if err != nil {
			t.Fatalf("record value %q: %v", r.Value, err)
		}
		ids = append(ids, id)
	}
	checkExactlyOnce(t, ids, before)
}

// waitCommitted waits until the connector has committed an offset.
func waitCommitted(t *testing.T, w *Worker) {
	t.Helper()
	deadline := time.Now().Add(recordWait)
	for time.Now().Before(deadline) {
		got, err := w.Offsets(context.Background(), resumeName)
		if err == nil && len(got.Offsets) > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no offset committed within %s", recordWait)
}

// checkExactlyOnce checks that ids are 0…n-1, each once, with at least
// one record past those written before the restart.
func checkExactlyOnce(t *testing.T, ids []int, before int) {
	t.Helper()
	seen := map[int]int{}
	for _, id := range ids {
		seen[id]++
	}
	var problems []string
	for id, n := range seen {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("record %d %d times", id, n))
		}
	}
	for id := range len(seen) {
		if seen[id] == 0 {
			problems = append(problems, fmt.Sprintf("record %d missing", id))
		}
	}
	if len(seen) <= before {
		problems = append(problems, fmt.Sprintf("nothing new after the restart (%d records before it)", before))
	}
	slices.Sort(problems)
	if len(problems) > 0 {
		t.Errorf("records before and after a restart, %d before it: %s", before, strings.Join(problems, "; "))
	}
}

func checkSinkResume(t *testing.T, spec Spec) {
	w := StartWorker(t, nil, []connect.ConnectorPlugin{spec.Plugin}, nil)
	config := spec.Config(t)
	topic := spec.Topic(config)
	value := spec.Value
	if value == nil {
		value = func(i int) []byte { return fmt.Appendf(nil, "%d", i) }
	}
	produce := func(from, n int) {
		vals := make([][]byte, n)
		for i := range vals {
			vals[i] = value(from + i)
		}
		Produce(t, w.Broker, topic, vals...)
	}
	const batch = 10
	produce(0, batch)
	w.Create(resumeName, spec.Plugin.Class, config)
	waitWritten(t, spec, config, batch)
	waitSinkCommitted(t, w, batch)
	w.Restart()
	produce(batch, batch)
	w.Create(resumeName, spec.Plugin.Class, config)
	waitWritten(t, spec, config, 2*batch)
	waitSinkCommitted(t, w, 2*batch)
	w.Stop()
	var ids []int
	for _, v := range spec.Written(t, config) {
		id, err := spec.ID(v)
		if err != nil {
			t.Fatalf("written %v: %v", v, err)
		}
		ids = append(ids, id)
	}
	checkExactlyOnce(t, ids, batch)
	if !slices.IsSorted(ids) {
		t.Errorf("written out of order: %v", ids)
	}
}

func waitWritten(t *testing.T, spec Spec, config map[string]string, n int) {
	t.Helper()
	deadline := time.Now().Add(recordWait)
	for len(spec.Written(t, config)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d records written within %s", len(spec.Written(t, config)), n, recordWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSinkCommitted waits until the sink's consumer group committed offset
// n on the topic's partition 0.
func waitSinkCommitted(t *testing.T, w *Worker, n int) {
	t.Helper()
	deadline := time.Now().Add(recordWait)
	var last worker.ConnectorOffsets
	for time.Now().Before(deadline) {
		got, err := w.Offsets(context.Background(), resumeName)
		if err == nil {
			last = got
			for _, o := range got.Offsets {
				if o.Offset["kafka_offset"] == int64(n) {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("offset %d not committed within %s; last %+v", n, recordWait, last)
}
