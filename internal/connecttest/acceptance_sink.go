package connecttest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/worker"
)

// The checks of sink connectors.

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
