package httpsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// reporterSettings is Confluent's success/error reporter, active when
// reporter.bootstrap.servers or any reporter topic key is set. Without
// reporter.bootstrap.servers it produces to the worker's own cluster.
type reporterSettings struct {
	servers     []string // empty: the worker's cluster
	resultTopic string
	errorTopic  string
	asResponse  bool // report.errors.as=http_response
}

func resolveReporter(cfg connect.Config, connector string, bad func(key, format string, args ...any)) *reporterSettings {
	servers := reporterServers.Get(cfg)
	active := len(servers) > 0
	for _, k := range []string{reporterResultTopic.Name(), reporterErrorTopic.Name(), reportErrorsAs.Name()} {
		if _, set := cfg.Raw()[k]; set {
			active = true
		}
	}
	if !active {
		return nil
	}
	name := func(v string) string { return strings.ReplaceAll(v, "${connector}", connector) }
	r := &reporterSettings{
		servers:     servers,
		resultTopic: name(reporterResultTopic.Get(cfg)),
		errorTopic:  name(reporterErrorTopic.Get(cfg)),
		asResponse:  reportErrorsAs.Get(cfg) == "http_response",
	}
	if strings.Contains(reporterResultTopic.Get(cfg)+reporterErrorTopic.Get(cfg), "${connector}") && connector == "" {
		bad(reporterResultTopic.Name(), "uses ${connector} but the config has no name")
	}
	return r
}

// reporterRF is the replication factor of the reporter's topics, Confluent's
// 3, lowered to the number of brokers when there are fewer.
const reporterRF = 3

// reporter produces one record per sent record to the result topic and
// one per failed record to the error topic. A nil *reporter reports
// nothing.
type reporter struct {
	s      *reporterSettings
	client *kgo.Client
}

// kafkaClient is the optional capability of a sink task context that
// hands out the options reaching the worker's Kafka cluster.
type kafkaClient interface{ KafkaClientOpts() []kgo.Opt }

// newReporter connects to the reporter's brokers (the worker's cluster
// when reporter.bootstrap.servers is unset) and creates its topics when
// missing (one partition; replication factor 3, or the broker count when
// lower, with a warning).
func newReporter(ctx context.Context, s *reporterSettings, tctx connect.SinkTaskContext, log *slog.Logger) (*reporter, error) {
	var opts []kgo.Opt
	if len(s.servers) > 0 {
		opts = []kgo.Opt{kgo.SeedBrokers(s.servers...)}
	} else if kc, ok := tctx.(kafkaClient); ok {
		opts = kc.KafkaClientOpts()
	} else {
		return nil, connect.NewConfigError(reporterServers.Name(), "%s: is required for the reporter here: this worker does not share its Kafka cluster with tasks", reporterServers.Name())
	}
	cl, err := kgo.NewClient(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))...)
	if err != nil {
		return nil, fmt.Errorf("reporter client for %v: %w", s.servers, err)
	}
	adm := kadm.NewClient(cl)
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("reporter: metadata from %v: %w", s.servers, err)
	}
	rf := int16(reporterRF)
	if n := len(md.Brokers); n < reporterRF {
		rf = int16(max(n, 1))
		connect.OrDiscard(log).Warn("HTTP sink reporter topics get a lower replication factor than Confluent's 3: the cluster has fewer brokers",
			"replication_factor", rf, "brokers", n)
	}
	resp, err := adm.CreateTopics(ctx, 1, rf, nil, s.resultTopic, s.errorTopic)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("reporter: create topics %s, %s: %w", s.resultTopic, s.errorTopic, err)
	}
	for _, t := range resp.Sorted() {
		if t.Err != nil && !errors.Is(t.Err, kerr.TopicAlreadyExists) {
			cl.Close()
			return nil, fmt.Errorf("reporter: create topic %s: %w", t.Topic, t.Err)
		}
	}
	return &reporter{s: s, client: cl}, nil
}

// success reports records a request delivered.
func (r *reporter) success(ctx context.Context, recs []*connect.Record) error {
	if r == nil {
		return nil
	}
	out := make([]*kgo.Record, len(recs))
	for i, rec := range recs {
		v, _ := json.Marshal(map[string]any{"status": "success", "topic": rec.Topic, "partition": rec.Partition, "offset": rec.Offset})
		out[i] = r.record(r.s.resultTopic, rec, v)
	}
	return r.produce(ctx, out)
}

// failure reports records a request failed to deliver.
func (r *reporter) failure(ctx context.Context, recs []*connect.Record, err error) error {
	if r == nil {
		return nil
	}
	v := []byte(err.Error())
	var re *RequestError
	if r.s.asResponse && errors.As(err, &re) {
		v = re.Body
	}
	out := make([]*kgo.Record, len(recs))
	for i, rec := range recs {
		out[i] = r.record(r.s.errorTopic, rec, v)
		if re != nil {
			out[i].Headers = append(out[i].Headers, kgo.RecordHeader{Key: HeaderStatus, Value: []byte(strconv.Itoa(re.Status))})
		}
	}
	return r.produce(ctx, out)
}

// record is a reporter record about rec, with Confluent's input_record_*
// headers naming it.
func (r *reporter) record(topic string, rec *connect.Record, value []byte) *kgo.Record {
	var key []byte
	if rec.Key != nil {
		key = []byte(keyText(rec))
	}
	return &kgo.Record{Topic: topic, Key: key, Value: value, Headers: []kgo.RecordHeader{
		{Key: "input_record_topic", Value: []byte(rec.Topic)},
		{Key: "input_record_partition", Value: []byte(strconv.Itoa(int(rec.Partition)))},
		{Key: "input_record_offset", Value: []byte(strconv.FormatInt(rec.Offset, 10))},
		{Key: "input_record_timestamp", Value: []byte(strconv.FormatInt(rec.Timestamp.UnixMilli(), 10))},
	}}
}

func (r *reporter) produce(ctx context.Context, recs []*kgo.Record) error {
	if err := r.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return connect.Retriable(fmt.Errorf("HTTP sink reporter: produce to %s: %w", recs[0].Topic, err))
	}
	return nil
}

func (r *reporter) close() {
	if r != nil {
		r.client.Close()
	}
}
