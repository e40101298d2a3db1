package worker_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// committed collects the values CommitRecord was called with, by probe.
var committed sync.Map // probe → *committedValues

type committedValues struct {
	mu     sync.Mutex
	values []string
}

func (c *committedValues) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.values...)
}

// oversizeTask returns a record too large for its topic, then (in a batch
// of its own) a small one.
type oversizeTask struct {
	probe *committedValues
	polls int
}

func (t *oversizeTask) Start(_ connect.SourceTaskContext, cfg map[string]string) error {
	p, _ := committed.LoadOrStore(cfg["probe"], &committedValues{})
	t.probe = p.(*committedValues)
	return nil
}

func (t *oversizeTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	t.polls++
	switch t.polls {
	case 1:
		return []*connect.Record{connect.NewSourceRecord(map[string]any{"p": 0}, map[string]any{"n": 1}, "small-topic", nil, nil,
			connect.StringSchema, strings.Repeat("x", 4096))}, nil
	case 2:
		// After the first record's outcome, or a while.
		for i := 0; i < 300 && len(t.probe.get()) == 0 && ctx.Err() == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		return []*connect.Record{connect.NewSourceRecord(map[string]any{"p": 0}, map[string]any{"n": 2}, "small-topic", nil, nil,
			connect.StringSchema, "fits")}, nil
	}
	<-ctx.Done()
	return nil, nil
}

func (t *oversizeTask) CommitRecord(r *connect.Record) error {
	t.probe.mu.Lock()
	defer t.probe.mu.Unlock()
	v := r.Value.(string)
	if len(v) > 10 {
		v = "oversize"
	}
	t.probe.values = append(t.probe.values, v)
	return nil
}

func (t *oversizeTask) Commit([]connect.SourceOffset) error { return nil }
func (t *oversizeTask) Stop() error                         { return nil }

var oversizePlugin = connect.ConnectorPlugin{
	Class:         "test.OversizeSourceConnector",
	Config:        connect.ConfigDef{{Name: "probe", Type: connect.ConfigString, Default: connect.NoDefault}},
	NewConnector:  func() connect.Connector { return &flakyConnector{} },
	NewSourceTask: func() connect.SourceTask { return &oversizeTask{} },
}

// A record the broker refuses, skipped under errors.tolerance=all, is
// still handed to CommitRecord, as Kafka does (with null metadata): a task
// that waits for its records' acknowledgements (a push source answering
// its client) would otherwise wait for ever.
func TestCommitRecordForARecordSkippedUnderToleranceAll(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{oversizePlugin}, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.Broker.Addr))
	require.NoError(t, err)
	defer cl.Close()
	max := "1024"
	_, err = kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &max}, "small-topic")
	require.NoError(t, err)

	w.Create("oversize", oversizePlugin.Class, map[string]string{"probe": t.Name(), "errors.tolerance": "all"})
	recs := connecttest.Consume(t, w.Broker, "small-topic", 1, 10*time.Second)
	assert.Equal(t, `"fits"`, string(recs[0].Value), "the next record went through")
	p, _ := committed.LoadOrStore(t.Name(), &committedValues{})
	assert.Eventually(t, func() bool { return len(p.(*committedValues).get()) == 2 }, 10*time.Second, 10*time.Millisecond)
	assert.ElementsMatch(t, []string{"oversize", "fits"}, p.(*committedValues).get())
}
