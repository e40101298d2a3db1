package postgres

// Debezium's Kafka signal channel: a record on partition 0 of the signal
// topic (signal.kafka.topic, by default <topic.prefix>-signal) whose key is
// the connector's topic.prefix and whose value is a JSON object with id,
// type and data (an object) is a signal, as a row of the signalling table
// is. Records with another key are ignored, as Debezium ignores them.
//
//	key:   shop
//	value: {"type": "execute-snapshot", "data": {"data-collections": ["public.orders"], "type": "INCREMENTAL"}}
//
// A goroutine started with the streaming phase consumes the topic and hands
// signals over a bounded channel to the streaming goroutine, which takes
// them between transactions; the replication stream never waits on Kafka.
// Incremental snapshots still write their watermarks to the signalling
// table, so they need signal.data.collection.
//
// Where to resume: Debezium's channel commits its consumer group's position
// when it closes and starts from the earliest offset otherwise. Sluice
// keeps the offset of the last signal it acted on in every later source
// offset instead, under incremental_snapshot_signal_offset (the key
// Debezium's read-only MySQL snapshots keep it under), and resumes after
// it; without one it starts, like Debezium, from the earliest offset. A
// signal whose effects no committed record carries may run again after a
// restart.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Kafka signal channel keys, with Debezium's names.
const (
	SignalKafkaTopicConfig            = "signal.kafka.topic"
	SignalKafkaBootstrapServersConfig = "signal.kafka.bootstrap.servers"
	SignalKafkaGroupIDConfig          = "signal.kafka.groupId"
	SignalKafkaPollTimeoutConfig      = "signal.kafka.poll.timeout.ms"
)

// signalOffsetKey is the source offset key holding the signal topic offset
// of the last Kafka signal acted on.
const signalOffsetKey = "incremental_snapshot_signal_offset"

// kafkaSignalConfig declares the Kafka channel's keys; signalConfig lists
// them after signal.enabled.channels.
var kafkaSignalConfig = connect.ConfigDef{
	str(SignalKafkaTopicConfig, nil, connect.Medium, nil,
		"Topic the kafka signal channel reads signals from (partition 0); unset, <topic.prefix>-signal."),
	str(SignalKafkaBootstrapServersConfig, nil, connect.Medium, nil,
		"Comma-separated host:port pairs of the Kafka cluster holding the signal topic; required when signal.enabled.channels includes kafka."),
	str(SignalKafkaGroupIDConfig, "kafka-signal", connect.Low, nil,
		"Consumer group id of Debezium's kafka signal channel, accepted for compatibility: Sluice keeps the signal topic's position "+
			"in the connector's source offset (incremental_snapshot_signal_offset), not in this group's committed offsets."),
	{
		Name: SignalKafkaPollTimeoutConfig, Type: connect.ConfigInt, Default: 100, Validator: connect.AtLeast(0), Importance: connect.Low,
		Doc: "Most milliseconds the broker holds a fetch of the signal topic open while no signal arrives.",
	},
}

// kafkaSignalSettings is the parsed form of the Kafka channel keys; nil in
// signalSettings when the channel is not enabled.
type kafkaSignalSettings struct {
	topic       string
	brokers     []string
	pollTimeout time.Duration
}

// parseKafkaSignals reads the Kafka channel keys of a validated config.
func parseKafkaSignals(c connect.Config) *kafkaSignalSettings {
	k := &kafkaSignalSettings{
		topic:       c.String(TopicPrefixConfig) + "-signal",
		pollTimeout: time.Duration(c.Int(SignalKafkaPollTimeoutConfig)) * time.Millisecond,
	}
	if !c.IsNull(SignalKafkaTopicConfig) && strings.TrimSpace(c.String(SignalKafkaTopicConfig)) != "" {
		k.topic = strings.TrimSpace(c.String(SignalKafkaTopicConfig))
	}
	if !c.IsNull(SignalKafkaBootstrapServersConfig) {
		k.brokers = splitServers(c.String(SignalKafkaBootstrapServersConfig))
	}
	return k
}

// splitServers splits a comma-separated server list, dropping blanks.
func splitServers(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// kafkaSignalErrors is the rule between keys of the Kafka channel: it
// needs bootstrap servers.
func kafkaSignalErrors(config map[string]string) map[string][]string {
	enabled := false
	for _, ch := range strings.Split(config[SignalEnabledChannelsConfig], ",") {
		enabled = enabled || strings.EqualFold(strings.TrimSpace(ch), "kafka")
	}
	if !enabled || len(splitServers(config[SignalKafkaBootstrapServersConfig])) > 0 {
		return nil
	}
	return map[string][]string{SignalKafkaBootstrapServersConfig: {
		"The 'signal.kafka.bootstrap.servers' value is required when signal.enabled.channels includes kafka",
	}}
}

// kafkaSignal is a signal read from the signal topic at offset.
type kafkaSignal struct {
	signal
	offset int64
}

// signalFromRecord reads a signal record whose key is prefix; ok is false
// for another key or a value that is not a signal.
func signalFromRecord(r *kgo.Record, prefix string, log *slog.Logger) (kafkaSignal, bool) {
	if string(r.Key) != prefix {
		log.Info("Kafka signal ignored: its key is not the connector's topic.prefix", "key", string(r.Key), "offset", r.Offset)
		return kafkaSignal{}, false
	}
	if len(r.Value) == 0 {
		return kafkaSignal{}, false
	}
	var v struct {
		ID   string          `json:"id"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil {
		log.Warn("Kafka signal ignored: its value is not a JSON object", "offset", r.Offset, "error", err)
		return kafkaSignal{}, false
	}
	data := string(v.Data)
	if data == "null" {
		data = ""
	}
	return kafkaSignal{signal: signal{id: v.ID, kind: v.Type, data: data}, offset: r.Offset}, true
}

// kafkaSignals consumes the signal topic in a goroutine of its own.
type kafkaSignals struct {
	client *kgo.Client
	out    chan kafkaSignal
	cancel context.CancelFunc
	done   chan struct{}
	log    *slog.Logger
}

// startKafkaSignals starts consuming the signal topic after the last
// signal acted on, or from its start; stop ends it.
func (t *sourceTask) startKafkaSignals(ctx context.Context) (*kafkaSignals, error) {
	k := t.cfg.signals.kafka
	start, from := kgo.NewOffset().AtStart(), "the start"
	if t.incr.kafkaSeen {
		start = kgo.NewOffset().At(t.incr.kafkaOffset + 1)
		from = "offset " + strconv.FormatInt(t.incr.kafkaOffset+1, 10)
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(k.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{k.topic: {0: start}}),
		kgo.FetchMaxWait(max(k.pollTimeout, 10*time.Millisecond)),
	)
	if err != nil {
		return nil, fmt.Errorf("create consumer of signal topic %s: %w", k.topic, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ks := &kafkaSignals{client: client, out: make(chan kafkaSignal, 16), cancel: cancel, done: make(chan struct{}), log: t.log}
	t.log.Info("reading signals from Kafka", "topic", k.topic, "partition", 0, "from", from)
	go ks.run(runCtx, t.cfg.prefix)
	return ks, nil
}

// run hands the signals of fetched records to out until ctx ends.
func (ks *kafkaSignals) run(ctx context.Context, prefix string) {
	defer close(ks.done)
	for {
		fetches := ks.client.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			ks.log.Warn("fetching signals from Kafka", "topic", errs[0].Topic, "error", errs[0].Err)
			if sleepCtx(ctx, time.Second) != nil {
				return
			}
		}
		for it := fetches.RecordIter(); !it.Done(); {
			sig, ok := signalFromRecord(it.Next(), prefix, ks.log)
			if !ok {
				continue
			}
			select {
			case ks.out <- sig:
			case <-ctx.Done():
				return
			}
		}
	}
}

// stop ends consuming; safe on nil.
func (ks *kafkaSignals) stop() {
	if ks == nil {
		return
	}
	ks.cancel()
	<-ks.done
	ks.client.Close()
}

// signals returns the channel the stream takes signals from; nil, never
// ready, without the Kafka channel.
func (ks *kafkaSignals) signals() <-chan kafkaSignal {
	if ks == nil {
		return nil
	}
	return ks.out
}

// runKafkaSignal runs a signal from the signal topic between transactions:
// records it emits resume streaming after the last commit, and they and
// every later record carry its offset, so a restart does not run it again.
// Watermarks belong to the signalling table and are ignored here.
func (t *sourceTask) runKafkaSignal(ctx context.Context, s *stream, sig kafkaSignal) error {
	t.incr.kafkaOffset, t.incr.kafkaSeen = sig.offset, true
	if sig.kind == signalWindowOpen || sig.kind == signalWindowClose {
		t.log.Warn("Kafka signal ignored: watermarks come from the signalling table", "signal", sig.id, "type", sig.kind)
		return nil
	}
	if err := t.runSignal(ctx, sig.signal, position{lsn: s.lastCommit}); err != nil {
		return fmt.Errorf("run %s signal %q from Kafka offset %d: %w", sig.kind, sig.id, sig.offset, err)
	}
	return nil
}

// loadSignalOffset restores the offset of the last Kafka signal acted on.
func (inc *incremental) loadSignalOffset(off map[string]any) {
	if n, ok := offsetInt(off, signalOffsetKey); ok {
		inc.kafkaOffset, inc.kafkaSeen = n, true
	}
}

// stamp stores the snapshot's progress and the last Kafka signal's offset
// in the offsets of records that do not carry them yet; each gets its own
// map, since offsets may be shared.
func (inc *incremental) stamp(batch []*connect.Record) {
	if inc == nil || (!inc.running() && !inc.kafkaSeen) {
		return
	}
	for _, r := range batch {
		if r.SourceOffset == nil {
			continue
		}
		_, hasProgress := r.SourceOffset[incrementalCollectionsKey]
		_, hasSignal := r.SourceOffset[signalOffsetKey]
		progress, signal := inc.running() && !hasProgress, inc.kafkaSeen && !hasSignal
		if !progress && !signal {
			continue
		}
		r.SourceOffset = maps.Clone(r.SourceOffset)
		if progress {
			inc.store(r.SourceOffset)
		}
		if signal {
			r.SourceOffset[signalOffsetKey] = inc.kafkaOffset
		}
	}
}
