package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/transform"
)

// jsonConverterClass is the converter used to render source records for
// the dead letter queue.
const jsonConverterClass = "org.apache.kafka.connect.json.JsonConverter"

// common pieces of both task kinds: converters, transforms, tolerance.
func (h *Herder) taskPipeline(id ConnectorTaskID, connCfg map[string]string, s connectorSettings, logger *slog.Logger) (converters, *transform.Chain, *tolerance, error) {
	// Converters and transforms log on the logger of their class, naming
	// the connector and task as the task's own logger does.
	pluginLogger := func(class string) *slog.Logger {
		return h.pluginLogger(class, id.Connector).With("task", id.Task)
	}
	conv, err := h.plugins.newConverters(h.cfg.Props, connCfg, pluginLogger)
	if err != nil {
		return conv, nil, nil, err
	}
	chain, err := transform.NewChain(connCfg, h.plugins.Others, pluginLogger)
	if err != nil {
		return conv, nil, nil, err
	}
	tol := &tolerance{s: s, task: id, logger: logger}
	return conv, chain, tol, nil
}

func (h *Herder) buildSourceTask(ctx context.Context, id ConnectorTaskID, plugin *connect.ConnectorPlugin, taskCfg, connCfg map[string]string, s connectorSettings, state *taskState, logger *slog.Logger) (taskRunFunc, error) {
	conv, chain, tol, err := h.taskPipeline(id, connCfg, s, logger)
	if err != nil {
		return nil, err
	}
	delivery, err := deliveryTimeout(h.cfg.Props, connCfg)
	if err != nil {
		return nil, err
	}
	reach := &taskReach{logger: logger, msg: "source task cannot reach the Kafka cluster; its records wait until delivered or delivery.timeout.ms passes",
		attrs: []any{"delivery_timeout_ms", delivery.Milliseconds()}}
	popts := append(append([]kgo.Opt(nil), h.clientOpts...),
		kgo.ClientID(h.clientID(fmt.Sprintf("%s-%d", id.Connector, id.Task))),
		kgo.RecordPartitioner(sourcePartitioner{kgo.StickyKeyPartitioner(nil)}),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(10000),
		kgo.AllowAutoTopicCreation(),
		kgo.WithHooks(reach),
	)
	over, err := taskClientOptions(h.cfg.Props, connCfg, true, logger)
	if err != nil {
		return nil, err
	}
	popts = append(popts, over...)
	// No RecordDeliveryTimeout, which franz-go counts from a batch's first
	// record Timestamp (the event's own time for a source): each poll's
	// records are produced with a context bounded by delivery.timeout.ms
	// instead (deliveryBatch). Zero also undoes a producer override of it.
	popts = append(popts, kgo.RecordDeliveryTimeout(0))
	var txn *txnSource
	if h.exactlyOnce() {
		store, ok := h.offsets.(txnOffsets)
		if !ok {
			return nil, fmt.Errorf("exactly-once source support needs the offsets topic (not available in standalone mode)")
		}
		txn = &txnSource{offsets: store}
		if connCfg[KeyTransactionBoundary] == "interval" {
			txn.interval = h.cfg.OffsetFlushInterval
			if v, err := strconv.ParseInt(connCfg["transaction.boundary.interval.ms"], 10, 64); err == nil && v > 0 {
				txn.interval = time.Duration(v) * time.Millisecond
			}
		}
		popts = append(popts, kgo.TransactionalID(h.transactionalID(id)), kgo.TransactionTimeout(time.Minute))
	}
	producer, err := kgo.NewClient(popts...)
	if err != nil {
		return nil, fmt.Errorf("producer for %s: %w", id, err)
	}
	t := &sourceTask{
		id: id, task: plugin.NewSourceTask(), class: plugin.Class, config: taskCfg,
		chain: chain, conv: conv, tol: tol, producer: producer, offsets: h.offsets,
		interval: h.cfg.OffsetFlushInterval, timeout: h.cfg.OffsetFlushTimeout,
		logger: logger, state: state, txn: txn, delivery: delivery, reach: reach,
	}
	if s.dlqTopic != "" {
		dlqConv, err := h.schemalessJSON()
		if err != nil {
			producer.Close()
			return nil, err
		}
		t.dlqConv = dlqConv
		tol.dlq = h.dlqWriter(producer, s)
	}
	var track func(string, int)
	if h.cfg.TopicTracking {
		track = func(topic string, task int) { h.status.PutTopic(id.Connector, topic, task) }
	}
	if t.topics, err = newTopicSetup(h.kadm, h.cfg.TopicCreation, connCfg, track); err != nil {
		producer.Close()
		return nil, err
	}
	t.metrics = &taskMetrics{}
	return func(ctx context.Context) error {
		defer producer.Close()
		h.metrics.register(id, t.metrics, tol, t.task)
		defer h.metrics.unregister(id, t.metrics)
		return t.run(ctx)
	}, nil
}

func (h *Herder) buildSinkTask(ctx context.Context, id ConnectorTaskID, plugin *connect.ConnectorPlugin, taskCfg, connCfg map[string]string, s connectorSettings, state *taskState, logger *slog.Logger) (taskRunFunc, error) {
	conv, chain, tol, err := h.taskPipeline(id, connCfg, s, logger)
	if err != nil {
		return nil, err
	}
	t := &sinkTask{
		id: id, task: plugin.NewSinkTask(), class: plugin.Class, config: taskCfg,
		chain: chain, conv: conv, tol: tol,
		interval: h.cfg.OffsetFlushInterval, timeout: h.cfg.OffsetFlushTimeout,
		logger: logger, state: state, maxPoll: maxPollRecords, clientOpts: h.clientOpts,
	}
	for _, src := range []struct {
		props map[string]string
		key   string
	}{{workerClientProps(h.cfg.Props, workerConsumerPrefix), workerConsumerPrefix + keyMaxPollRecords}, {connCfg, consumerOverridePrefix + keyMaxPollRecords}} {
		if v, ok := src.props[src.key]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s=%q: want a positive number", src.key, v)
			}
			t.maxPoll = n
		}
	}
	var tracked sync.Map
	t.track = func(topic string) {
		if h.cfg.TopicTracking {
			if _, seen := tracked.LoadOrStore(topic, true); !seen {
				h.status.PutTopic(id.Connector, topic, id.Task)
			}
		}
	}
	opts := append(append([]kgo.Opt(nil), h.clientOpts...),
		kgo.ClientID(h.clientID(fmt.Sprintf("%s-%d", id.Connector, id.Task))),
		kgo.ConsumerGroup(SinkGroup(id.Connector)),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		// The worker's session timeout rather than the consumer's 45 s: a
		// consumer of a dead worker stalls its group's rebalances until
		// its session expires.
		kgo.SessionTimeout(h.cfg.SessionTimeout),
		kgo.HeartbeatInterval(h.cfg.HeartbeatInterval),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(t.onAssigned),
		kgo.OnPartitionsRevoked(t.onRevoked),
		kgo.OnPartitionsLost(func(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
			if hdl, ok := t.task.(connect.SinkPartitionHandler); ok {
				_ = hdl.Close(toTPs(lost))
			}
		}),
		kgo.FetchMaxBytes(16<<20),
		kgo.WithHooks(&taskReach{logger: logger, msg: "sink task cannot reach the Kafka cluster; its consumer keeps retrying"}),
	)
	if s.topicsRegex != nil {
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(s.topicsRegex.String()))
	} else {
		opts = append(opts, kgo.ConsumeTopics(s.topics...))
	}
	over, err := taskClientOptions(h.cfg.Props, connCfg, false, logger)
	if err != nil {
		return nil, err
	}
	opts = append(opts, over...)
	// The consumer is created by run once the task started: it may join
	// its group at once, and Open must not come before Start.
	if err := kgo.ValidateOpts(opts...); err != nil {
		return nil, fmt.Errorf("consumer for %s: %w", id, err)
	}
	t.consumerOpts = opts
	var producer *kgo.Client
	if s.dlqTopic != "" {
		producer, err = kgo.NewClient(append(append([]kgo.Opt(nil), h.clientOpts...),
			kgo.ClientID(h.clientID(fmt.Sprintf("%s-%d-dlq", id.Connector, id.Task))),
			kgo.AllowAutoTopicCreation())...)
		if err != nil {
			return nil, fmt.Errorf("dead letter queue producer for %s: %w", id, err)
		}
		tol.dlq = h.dlqWriter(producer, s)
	}
	t.metrics = &taskMetrics{}
	return func(ctx context.Context) error {
		defer func() {
			if producer != nil {
				producer.Close()
			}
		}()
		h.metrics.register(id, t.metrics, tol, t.task)
		defer h.metrics.unregister(id, t.metrics)
		return t.run(ctx)
	}, nil
}

// SinkGroup is the consumer group of a sink connector (Kafka's
// SinkUtils.consumerGroupId).
func SinkGroup(connector string) string { return "connect-" + connector }

// dlqWriter returns a function that writes one record to the dead letter
// queue topic synchronously, creating the topic first if needed.
func (h *Herder) dlqWriter(producer *kgo.Client, s connectorSettings) func(context.Context, *kgo.Record) error {
	var once sync.Once
	return func(ctx context.Context, r *kgo.Record) error {
		once.Do(func() {
			resp, err := h.kadm.CreateTopic(ctx, 1, s.dlqRF, nil, s.dlqTopic)
			if err == nil {
				err = resp.Err
			}
			if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				h.logger.Warn("create dead letter queue topic", "topic", s.dlqTopic, "error", err)
			}
		})
		return producer.ProduceSync(ctx, r).FirstErr()
	}
}

// schemalessJSON returns a JsonConverter with schemas.enable=false.
func (h *Herder) schemalessJSON() (connect.Converter, error) {
	p := h.plugins.Find(connect.PluginConverter, jsonConverterClass)
	if p == nil {
		return nil, fmt.Errorf("dead letter queue: %s is not available", jsonConverterClass)
	}
	if p.NewConverter == nil {
		return nil, fmt.Errorf("dead letter queue: %s is not a converter", jsonConverterClass)
	}
	c := p.NewConverter()
	if err := c.Configure(map[string]string{"schemas.enable": "false"}, false); err != nil {
		return nil, err
	}
	return c, nil
}

// sourcePartitioner honours a partition a source task chose and otherwise
// partitions as the Java producer does.
type sourcePartitioner struct{ inner kgo.Partitioner }

func (p sourcePartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &sourceTopicPartitioner{inner: p.inner.ForTopic(topic)}
}

type sourceTopicPartitioner struct{ inner kgo.TopicPartitioner }

func (p *sourceTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.inner.RequiresConsistency(r)
}

func (p *sourceTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 && int(r.Partition) < n {
		return int(r.Partition)
	}
	return p.inner.Partition(r, n)
}

func (p *sourceTopicPartitioner) OnNewBatch() {
	if nb, ok := p.inner.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
