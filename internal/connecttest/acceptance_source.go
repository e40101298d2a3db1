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
)

// The checks of source connectors.

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
