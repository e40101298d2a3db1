package kafkalog_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/kafkalog"
	"github.com/sluicehq/sluice/internal/testenv"
)

// applied collects what a log applies, from the polling goroutine.
type applied struct {
	mu   sync.Mutex
	vals map[string]string
}

func (a *applied) apply(r *kgo.Record) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vals[string(r.Key)] = string(r.Value)
}

func (a *applied) get() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]string{}
	for k, v := range a.vals {
		out[k] = v
	}
	return out
}

func newLog(t *testing.T, addr, topic string, exists func(context.Context, *kadm.Client) error) (*kafkalog.Log, *applied) {
	a := &applied{vals: map[string]string{}}
	l := kafkalog.New(kafkalog.Options{
		Topic:         topic,
		ClientOpts:    []kgo.Opt{kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))},
		ReadCommitted: true,
		Apply:         a.apply,
		Create:        &kafkalog.Create{Partitions: 3, Exists: exists},
		Logger:        testenv.Logger(t),
	})
	t.Cleanup(l.Close)
	return l, a
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestLogReadsToEndThenFollows(t *testing.T) {
	addr := testenv.StartBroker(t, nil).Addr
	writer, _ := newLog(t, addr, "t", nil)
	require.NoError(t, writer.Start(ctx(t)))
	assert.Equal(t, 3, writer.Partitions())

	// The topic was created compacted.
	adm := kadm.NewClient(writer.Client())
	configs, err := adm.DescribeTopicConfigs(ctx(t), "t")
	require.NoError(t, err)
	rc, err := configs.On("t", nil)
	require.NoError(t, err)
	policy := ""
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	assert.Equal(t, "compact", policy)

	recs := []*kgo.Record{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}, {Key: []byte("c"), Value: []byte("3")}, {Key: []byte("a"), Value: []byte("4")}}
	require.NoError(t, writer.Write(ctx(t), recs...))
	assert.Zero(t, writer.Pending(), "Write returns once every record has its outcome")

	// A second log on the existing topic has read everything when Start
	// returns, and Create.Exists was asked about the topic.
	var existsCalled bool
	reader, got := newLog(t, addr, "t", func(context.Context, *kadm.Client) error { existsCalled = true; return nil })
	require.NoError(t, reader.Start(ctx(t)))
	assert.True(t, existsCalled)
	assert.Equal(t, map[string]string{"a": "4", "b": "2", "c": "3"}, got.get())

	// While it runs it follows new writes; ReadToEnd waits for them.
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reader.Run(runCtx) }()
	require.NoError(t, writer.Write(ctx(t), &kgo.Record{Key: []byte("d"), Value: []byte("5")}))
	require.NoError(t, reader.ReadToEnd(ctx(t)))
	assert.Equal(t, "5", got.get()["d"])
	stop()
	require.NoError(t, <-done, "Run returns nil when its context ends")
}

func TestLogStartFailsWhenExistsRefuses(t *testing.T) {
	addr := testenv.StartBroker(t, nil).Addr
	first, _ := newLog(t, addr, "t", nil)
	require.NoError(t, first.Start(ctx(t)))
	refused := errors.New("not compacted enough")
	second, _ := newLog(t, addr, "t", func(context.Context, *kadm.Client) error { return refused })
	require.ErrorIs(t, second.Start(ctx(t)), refused)
}

func TestLogNotStarted(t *testing.T) {
	l := kafkalog.New(kafkalog.Options{Topic: "t", Apply: func(*kgo.Record) {}})
	require.ErrorIs(t, l.Write(ctx(t), &kgo.Record{}), kafkalog.ErrNotStarted)
	require.ErrorIs(t, l.ReadToEnd(ctx(t)), kafkalog.ErrNotStarted)
	require.ErrorIs(t, l.Run(ctx(t)), kafkalog.ErrNotStarted)
	l.Close()
	l.Close() // idempotent
	require.ErrorIs(t, l.Start(ctx(t)), kafkalog.ErrClosed)
}
