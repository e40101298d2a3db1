package debezium

// Debezium's Kafka signal channel: a record on partition 0 of the signal
// topic (signal.kafka.topic, by default <topic.prefix>-signal) whose key is
// the connector's topic.prefix and whose value is a JSON object with id,
// type and data (an object) is a signal, as a row of the signalling table
// is. Records with another key are ignored, as Debezium ignores them.
//
//	key:   shop
//	value: {"type": "execute-snapshot", "data": {"data-collections": ["public.orders"], "type": "INCREMENTAL"}}
//
// KafkaSignals consumes the topic in a goroutine of its own and hands
// signals over a bounded channel to the connector, which takes them when
// it is between transactions; the change stream never waits on Kafka.
//
// Where to resume: Debezium's channel commits its consumer group's position
// when it closes and starts from the earliest offset otherwise. Sluice
// keeps the offset of the last signal acted on in every later source
// offset instead, under SignalOffsetKey (the key Debezium's read-only
// MySQL snapshots keep it under), and resumes after it; without one it
// starts, like Debezium, from the earliest offset. A signal whose effects
// no committed record carries may run again after a restart.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

// SignalOffsetKey is the source offset key holding the signal topic offset
// of the last Kafka signal acted on.
const SignalOffsetKey = "incremental_snapshot_signal_offset"

// kafkaSignalConfig declares the Kafka channel's keys; SignalConfig lists
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

// KafkaSignalSettings is the parsed form of the Kafka channel keys; nil in
// SignalSettings when the channel is not enabled.
type KafkaSignalSettings struct {
	Topic       string
	Brokers     []string
	PollTimeout time.Duration
}

// parseKafkaSignals reads the Kafka channel keys of a validated config.
func parseKafkaSignals(c connect.Config) *KafkaSignalSettings {
	k := &KafkaSignalSettings{
		Topic:       c.String(TopicPrefixConfig) + "-signal",
		PollTimeout: time.Duration(c.Int(SignalKafkaPollTimeoutConfig)) * time.Millisecond,
	}
	if !c.IsNull(SignalKafkaTopicConfig) && strings.TrimSpace(c.String(SignalKafkaTopicConfig)) != "" {
		k.Topic = strings.TrimSpace(c.String(SignalKafkaTopicConfig))
	}
	if !c.IsNull(SignalKafkaBootstrapServersConfig) {
		k.Brokers = splitServers(c.String(SignalKafkaBootstrapServersConfig))
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

// KafkaSignalErrors is the rule between keys of the Kafka channel, for a
// connector's validation: it needs bootstrap servers.
func KafkaSignalErrors(config map[string]string) map[string][]string {
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

// KafkaSignal is a signal read from the signal topic at Offset.
type KafkaSignal struct {
	Signal
	Offset int64
}

// SignalFromRecord reads a signal record whose key is prefix; ok is false
// for another key or a value that is not a signal.
func SignalFromRecord(r *kgo.Record, prefix string, log *slog.Logger) (KafkaSignal, bool) {
	if string(r.Key) != prefix {
		log.Info("Kafka signal ignored: its key is not the connector's topic.prefix", "key", string(r.Key), "offset", r.Offset)
		return KafkaSignal{}, false
	}
	if len(r.Value) == 0 {
		return KafkaSignal{}, false
	}
	var v struct {
		ID   string          `json:"id"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.Value, &v); err != nil {
		log.Warn("Kafka signal ignored: its value is not a JSON object", "offset", r.Offset, "error", err)
		return KafkaSignal{}, false
	}
	data := string(v.Data)
	if data == "null" {
		data = ""
	}
	return KafkaSignal{Signal: Signal{ID: v.ID, Type: v.Type, Data: data}, Offset: r.Offset}, true
}

// KafkaSignals consumes the signal topic in a goroutine of its own, from
// StartKafkaSignals until Stop.
type KafkaSignals struct {
	client *kgo.Client
	out    chan KafkaSignal
	cancel context.CancelFunc
	done   chan struct{}
	log    *slog.Logger
}

// StartKafkaSignals starts consuming the signal topic of k for signals
// keyed prefix (topic.prefix): after offset last when seen (the last
// signal acted on, from the source offset), else from its start. The
// goroutine ends with ctx or Stop.
func StartKafkaSignals(ctx context.Context, k *KafkaSignalSettings, prefix string, last int64, seen bool, log *slog.Logger) (*KafkaSignals, error) {
	start, from := kgo.NewOffset().AtStart(), "the start"
	if seen {
		start = kgo.NewOffset().At(last + 1)
		from = "offset " + strconv.FormatInt(last+1, 10)
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(k.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{k.Topic: {0: start}}),
		kgo.FetchMaxWait(max(k.PollTimeout, 10*time.Millisecond)),
	)
	if err != nil {
		return nil, fmt.Errorf("create consumer of signal topic %s: %w", k.Topic, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ks := &KafkaSignals{client: client, out: make(chan KafkaSignal, 16), cancel: cancel, done: make(chan struct{}), log: log}
	log.Info("reading signals from Kafka", "topic", k.Topic, "partition", 0, "from", from)
	go ks.run(runCtx, prefix)
	return ks, nil
}

// run hands the signals of fetched records to out until ctx ends.
func (ks *KafkaSignals) run(ctx context.Context, prefix string) {
	defer close(ks.done)
	for {
		fetches := ks.client.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			ks.log.Warn("fetching signals from Kafka", "topic", errs[0].Topic, "error", errs[0].Err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		for it := fetches.RecordIter(); !it.Done(); {
			sig, ok := SignalFromRecord(it.Next(), prefix, ks.log)
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

// Stop ends consuming and waits for the goroutine; safe on nil.
func (ks *KafkaSignals) Stop() {
	if ks == nil {
		return
	}
	ks.cancel()
	<-ks.done
	ks.client.Close()
}

// Signals returns the channel signals arrive on; nil, never ready, on a
// nil KafkaSignals.
func (ks *KafkaSignals) Signals() <-chan KafkaSignal {
	if ks == nil {
		return nil
	}
	return ks.out
}
