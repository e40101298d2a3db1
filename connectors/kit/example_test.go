package kit_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The push source's keys: declared and read in one line each.
var (
	topicKey = kit.String("topic", "", connect.High, "Topic the pushed messages go to.", kit.Required())
	queueKey = kit.Int("max.queue.size", 8192, connect.Low, "Messages held for the broker.", kit.Validate(connect.AtLeast(1)))
)

// pushConfig is what the connector plugin declares as its Config.
var pushConfig = kit.Def(topicKey, queueKey)

// pushTask is a source task whose clients push messages (an HTTP
// endpoint, an MQTT subscription) and must hear back only once their
// message is durable in the broker.
type pushTask struct {
	topic string
	queue *kit.AckQueue
}

var _ connect.SourceTaskCommitter = (*pushTask)(nil)

func (t *pushTask) Start(_ connect.SourceTaskContext, config map[string]string) error {
	cfg, err := pushConfig.Parse(config)
	if err != nil {
		return err
	}
	t.topic = topicKey.Get(cfg)
	t.queue = kit.NewAckQueue(kit.QueueOptions{MaxRecords: int(queueKey.Get(cfg))})
	return nil // here: start the server whose handler calls receive
}

// receive is the server's handler: it returns once the broker has the
// message, or with the reason it never will.
func (t *pushTask) receive(ctx context.Context, msg string) error {
	r := connect.NewSourceRecord(map[string]any{"endpoint": "/ingest"}, nil, t.topic, nil, nil, connect.OptionalStringSchema, msg)
	return t.queue.Put(ctx, r)
}

func (t *pushTask) Poll(ctx context.Context) ([]*connect.Record, error) { return t.queue.Poll(ctx) }

// CommitRecord is the worker saying the broker has r.
func (t *pushTask) CommitRecord(r *connect.Record) error {
	t.queue.Ack(r)
	return nil
}

func (t *pushTask) Commit([]connect.SourceOffset) error { return nil }

func (t *pushTask) Stop() error {
	t.queue.Close() // waiting clients get kit.ErrClosed
	return nil
}

// A minimal push source: the client's call returns only after the worker
// reported the record acknowledged.
func Example_pushSource() {
	task := &pushTask{}
	if err := task.Start(nil, map[string]string{"topic": "events"}); err != nil {
		panic(err)
	}
	answered := make(chan error)
	go func() { answered <- task.receive(context.Background(), "hello") }()

	// What the worker does: poll, send, and acknowledge what the broker has.
	batch, _ := task.Poll(context.Background())
	for _, r := range batch {
		fmt.Println("sent", r.Value, "to", r.Topic)
		_ = task.CommitRecord(r)
	}
	fmt.Println("client answered, error:", <-answered)
	_ = task.Stop()
	// Output:
	// sent hello to events
	// client answered, error: <nil>
}

// lineSink is a sink task writing records as lines, in batches.
type lineSink struct {
	out     io.Writer
	batcher *kit.Batcher
}

func (t *lineSink) Start(connect.SinkTaskContext, map[string]string) error {
	t.batcher = kit.NewBatcher(kit.BatchPolicy{Records: 2, Linger: time.Second}, t.write)
	return nil
}

// write is the destination's write: it returns once the batch is durable.
func (t *lineSink) write(_ context.Context, batch []*connect.Record) error {
	fmt.Fprintf(t.out, "write %d:", len(batch))
	for _, r := range batch {
		fmt.Fprintf(t.out, " %v", r.Value)
	}
	fmt.Fprintln(t.out)
	return nil
}

func (t *lineSink) Put(ctx context.Context, records []*connect.Record) error {
	return t.batcher.Add(ctx, records...)
}

// Flush writes what is buffered before the worker commits offsets.
func (t *lineSink) Flush(ctx context.Context, current map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	return t.batcher.Flush(ctx, current)
}

func (t *lineSink) Stop() error { return nil }

// A batching sink: Put writes full batches, Flush the rest, so the
// offsets committed never run ahead of the destination.
func Example_batchingSink() {
	var task connect.SinkTask = &lineSink{out: os.Stdout}
	_ = task.Start(nil, nil)
	tp := connect.TopicPartition{Topic: "events", Partition: 0}
	var records []*connect.Record
	for i, v := range []string{"a", "b", "c"} {
		records = append(records, &connect.Record{Topic: "events", Value: v, Offset: int64(i),
			OriginalTopic: "events", OriginalOffset: int64(i)})
	}
	_ = task.Put(context.Background(), records)
	safe, _ := task.Flush(context.Background(), map[connect.TopicPartition]int64{tp: 3})
	fmt.Println("commit", safe[tp])
	// Output:
	// write 2: a b
	// write 1: c
	// commit 3
}
