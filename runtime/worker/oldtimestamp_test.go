package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// oldTask returns, once, records whose timestamps are older than
// delivery.timeout.ms: an hour and a month old.
type oldTask struct{ done bool }

func (t *oldTask) Start(connect.SourceTaskContext, map[string]string) error { return nil }

func (t *oldTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.done {
		<-ctx.Done()
		return nil, nil
	}
	t.done = true
	var out []*connect.Record
	for _, age := range []time.Duration{time.Hour, 30 * 24 * time.Hour} {
		r := connect.NewSourceRecord(nil, nil, "old-events", nil, nil, connect.StringSchema, age.String())
		r.Timestamp = time.Now().Add(-age).Truncate(time.Millisecond)
		out = append(out, r)
	}
	return out, nil
}

func (t *oldTask) Stop() error { return nil }

var oldPlugin = connect.ConnectorPlugin{
	Class:         "test.OldTimestampSourceConnector",
	NewConnector:  func() connect.Connector { return &flakyConnector{} },
	NewSourceTask: func() connect.SourceTask { return &oldTask{} },
}

// Records whose own timestamps are older than delivery.timeout.ms (a
// replayed log, a change captured long ago) are delivered with those
// timestamps: the producer's delivery timeout counts from the send, not
// from the record's time (franz-go's RecordDeliveryTimeout would fail
// them at once).
func TestRecordsOlderThanTheDeliveryTimeout(t *testing.T) {
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{oldPlugin}, nil)
	w.Create("old", oldPlugin.Class, map[string]string{"producer.override.delivery.timeout.ms": "5000"})
	recs := connecttest.Consume(t, w.Broker, "old-events", 2, 20*time.Second)
	for _, r := range recs {
		age, err := time.ParseDuration(string(r.Value[1 : len(r.Value)-1]))
		if assert.NoError(t, err) {
			assert.InDelta(t, time.Since(r.Timestamp).Seconds(), age.Seconds(), 60, "record %s keeps its timestamp", r.Value)
		}
	}
	st := w.WaitState("old", 1, "RUNNING")
	assert.Empty(t, st.Tasks[0].Trace)
}
