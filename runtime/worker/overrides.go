package worker

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Client settings: the worker's `producer.<key>` and `consumer.<key>`
// (Kafka's worker-level settings of the clients of source and sink tasks),
// then a connector's `producer.override.<key>` and
// `consumer.override.<key>` (Kafka's connector client config overrides,
// policy All), for the Java client keys that have a franz-go equivalent.
// Other keys are logged and ignored, as Kafka's clients warn about unknown
// configs — ssl.* and sasl.* among them, which a Kafka client ignores too
// unless security.protocol asks for TLS or SASL, and that is refused.

const (
	producerOverridePrefix = "producer.override."
	consumerOverridePrefix = "consumer.override."
	workerProducerPrefix   = "producer."
	workerConsumerPrefix   = "consumer."
	keyDeliveryTimeout     = "delivery.timeout.ms"
	keyMaxPollRecords      = "max.poll.records"
	// defaultDeliveryTimeout is Kafka's producer delivery.timeout.ms: how
	// long a source record may wait to be acknowledged before its task
	// fails.
	defaultDeliveryTimeout = 120 * time.Second
)

// taskClientOptions returns the kgo options of a task's producer
// (producer=true) or consumer: the worker's settings, then the
// connector's overrides, which win.
func taskClientOptions(worker, conn map[string]string, producer bool, logger *slog.Logger) ([]kgo.Opt, error) {
	wp, cp := workerConsumerPrefix, consumerOverridePrefix
	if producer {
		wp, cp = workerProducerPrefix, producerOverridePrefix
	}
	opts, err := clientOverrides(workerClientProps(worker, wp), wp, logger)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	over, err := clientOverrides(conn, cp, logger)
	return append(opts, over...), err
}

// workerClientProps returns the worker's non-blank keys with prefix (a
// blank value asks for nothing; it is not worth a warning per task),
// leaving out the TLS and SASL keys NewConfig has already judged.
func workerClientProps(worker map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range worker {
		if strings.HasPrefix(k, prefix) && strings.TrimSpace(v) != "" && !isSecurityProtocolKey(k) && !isTLSOrSASLKey(k) {
			out[k] = v
		}
	}
	return out
}

// workerClientErrors checks the worker's producer.* and consumer.* values,
// so a bad one stops the worker at start rather than failing every task.
func workerClientErrors(worker map[string]string) []error {
	var errs []error
	for _, prefix := range []string{workerProducerPrefix, workerConsumerPrefix} {
		if _, err := clientOverrides(workerClientProps(worker, prefix), prefix, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := deliveryTimeout(worker, nil); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// deliveryTimeout returns a source task's delivery.timeout.ms: the
// connector's override, else the worker's producer setting, else Kafka's
// default.
func deliveryTimeout(worker, conn map[string]string) (time.Duration, error) {
	for _, src := range []struct {
		props map[string]string
		key   string
	}{{conn, producerOverridePrefix + keyDeliveryTimeout}, {worker, workerProducerPrefix + keyDeliveryTimeout}} {
		v, ok := src.props[src.key]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%q: want a positive number of milliseconds", src.key, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	return defaultDeliveryTimeout, nil
}

// clientOverrides returns the kgo options for the client keys with prefix,
// or an error naming a bad value.
func clientOverrides(props map[string]string, prefix string, logger *slog.Logger) ([]kgo.Opt, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var opts []kgo.Opt
	for k, v := range props {
		key, ok := strings.CutPrefix(k, prefix)
		if !ok || key == keyMaxPollRecords { // the sink loop's batch size
			continue
		}
		if key == "security.protocol" {
			// The connector would reach the worker's cluster in plaintext
			// where it asked for TLS or SASL: refuse, never ignore.
			if strings.EqualFold(strings.TrimSpace(v), "PLAINTEXT") {
				continue
			}
			return nil, fmt.Errorf("%s%s=%s: only PLAINTEXT is supported yet; Sluice's Kafka clients have no TLS or SASL", prefix, key, v)
		}
		opt, err := clientOverride(key, strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s%s=%q: %w", prefix, key, v, err)
		}
		if opt == nil {
			logger.Warn("client override not supported; ignored", "key", k)
			continue
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

func clientOverride(key, v string) (kgo.Opt, error) {
	num := func() (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("not a non-negative number")
		}
		return n, nil
	}
	ms := func() (time.Duration, error) {
		n, err := num()
		return time.Duration(n) * time.Millisecond, err
	}
	switch key {
	case "compression.type":
		codec, ok := map[string]kgo.CompressionCodec{
			"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
			"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
		}[strings.ToLower(v)]
		if !ok {
			return nil, fmt.Errorf("want none, gzip, snappy, lz4 or zstd")
		}
		return kgo.ProducerBatchCompression(codec), nil
	case "linger.ms":
		d, err := ms()
		return kgo.ProducerLinger(d), err
	case "batch.size":
		n, err := num()
		return kgo.ProducerBatchMaxBytes(int32(min(n, 1<<30))), err
	case "max.request.size":
		n, err := num()
		return kgo.ProducerBatchMaxBytes(int32(min(n, 1<<30))), err
	case "buffer.memory":
		n, err := num()
		return kgo.MaxBufferedBytes(int(n)), err
	case "request.timeout.ms":
		// The Java producer sends it as the produce request's timeout.
		d, err := ms()
		return kgo.ProduceRequestTimeout(d), err
	case keyDeliveryTimeout:
		d, err := ms()
		return kgo.RecordDeliveryTimeout(d), err
	case "acks":
		switch v {
		case "all", "-1":
			return kgo.RequiredAcks(kgo.AllISRAcks()), nil
		case "1":
			return kgo.RequiredAcks(kgo.LeaderAck()), nil
		}
		return nil, fmt.Errorf("want all, -1 or 1 (the worker needs acknowledgements)")
	case "auto.offset.reset":
		switch v {
		case "earliest":
			return kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), nil
		case "latest":
			return kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), nil
		}
		return nil, fmt.Errorf("want earliest or latest")
	case "fetch.max.bytes":
		n, err := num()
		return kgo.FetchMaxBytes(int32(min(n, 1<<30))), err
	case "max.partition.fetch.bytes":
		n, err := num()
		return kgo.FetchMaxPartitionBytes(int32(min(n, 1<<30))), err
	case "fetch.max.wait.ms":
		d, err := ms()
		return kgo.FetchMaxWait(d), err
	case "session.timeout.ms":
		d, err := ms()
		return kgo.SessionTimeout(d), err
	case "heartbeat.interval.ms":
		d, err := ms()
		return kgo.HeartbeatInterval(d), err
	case "isolation.level":
		switch v {
		case "read_committed":
			return kgo.FetchIsolationLevel(kgo.ReadCommitted()), nil
		case "read_uncommitted":
			return kgo.FetchIsolationLevel(kgo.ReadUncommitted()), nil
		}
		return nil, fmt.Errorf("want read_committed or read_uncommitted")
	case "client.id":
		return kgo.ClientID(v), nil
	}
	return nil, nil
}
