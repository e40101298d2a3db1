package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/transform"
)

// Stage names where a record can fail (Kafka's Stage enum); they appear in
// the __connect.errors.stage header.
type Stage string

// The stages.
const (
	StageKeyConverter    Stage = "KEY_CONVERTER"
	StageValueConverter  Stage = "VALUE_CONVERTER"
	StageHeaderConverter Stage = "HEADER_CONVERTER"
	StageTransformation  Stage = "TRANSFORMATION"
	StageTaskPut         Stage = "TASK_PUT"
	StageTaskPoll        Stage = "TASK_POLL"
	StageKafkaProduce    Stage = "KAFKA_PRODUCE"
	StageKafkaConsume    Stage = "KAFKA_CONSUME"
)

// The DLQ context headers (Kafka's DeadLetterQueueReporter).
const (
	headerPrefix           = "__connect.errors."
	headerOrigTopic        = headerPrefix + "topic"
	headerOrigPartition    = headerPrefix + "partition"
	headerOrigOffset       = headerPrefix + "offset"
	headerConnectorName    = headerPrefix + "connector.name"
	headerTaskID           = headerPrefix + "task.id"
	headerStage            = headerPrefix + "stage"
	headerExecutingClass   = headerPrefix + "class.name"
	headerExceptionClass   = headerPrefix + "exception.class.name"
	headerExceptionMessage = headerPrefix + "exception.message"
	headerExceptionTrace   = headerPrefix + "exception.stacktrace"
)

// ErrToleranceExceeded wraps the cause when a record error fails a task
// under errors.tolerance=none (Kafka: "Tolerance exceeded in error
// handler").
var ErrToleranceExceeded = errors.New("tolerance exceeded in error handler")

// failure describes one failed operation on one record.
type failure struct {
	stage Stage
	class string // the converter, transform or task class that failed
	rec   *connect.Record
	// raw is the record as consumed (sinks); rawFn renders one for the DLQ
	// on demand (sources). Both nil: nothing to send.
	raw   *kgo.Record
	rawFn func() *kgo.Record
	err   error
}

// tolerance is Kafka's RetryWithToleranceOperator plus its reporters (log
// and dead letter queue) for one task.
type tolerance struct {
	s          connectorSettings
	task       ConnectorTaskID
	logger     *slog.Logger
	dlq        func(ctx context.Context, r *kgo.Record) error // nil: no DLQ
	retries    atomic.Int64
	skipped    atomic.Int64
	failed     atomic.Int64
	dlqWritten atomic.Int64
}

// run executes op, retrying retriable errors with exponential backoff
// until errors.retry.timeout. It returns ok=false with a nil error when the
// record was skipped under errors.tolerance=all (and reported), and a
// non-nil error when the task must fail.
func (t *tolerance) run(ctx context.Context, f failure, op func() error) (bool, error) {
	err := t.retry(ctx, op)
	if err == nil {
		return true, nil
	}
	f.err = err
	return false, t.handle(ctx, f)
}

// retry runs op until it succeeds, fails with a non-retriable error, or the
// retry timeout passes.
func (t *tolerance) retry(ctx context.Context, op func() error) error {
	var deadline time.Time
	if t.s.retryTimeout > 0 {
		deadline = time.Now().Add(t.s.retryTimeout)
	}
	// errors.retry.delay.max.ms caps every wait, the first one too.
	delay := max(min(retryInitialDelay, t.s.retryDelayMax), minRetryDelay)
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || !errors.Is(err, connect.ErrRetriable) || t.s.retryTimeout == 0 {
			return err
		}
		if t.s.retryTimeout > 0 && time.Now().Add(delay).After(deadline) {
			return err
		}
		t.retries.Add(1)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(jittered(delay)):
		}
		delay = min(delay*2, t.s.retryDelayMax)
	}
}

// retryInitialDelay is the first wait before retrying an operation, or a
// poll, that failed with a retriable error; minRetryDelay keeps
// errors.retry.delay.max.ms=0 from spinning.
const (
	retryInitialDelay = 300 * time.Millisecond
	minRetryDelay     = time.Millisecond
)

// jittered adds up to a quarter of delay, so that tasks failing together
// do not retry in step.
func jittered(delay time.Duration) time.Duration {
	return delay + time.Duration(rand.Int64N(int64(delay)/4+1))
}

// handle reports a record that failed for good: under tolerance all it is
// logged and sent to the DLQ and skipped; under none the task fails.
func (t *tolerance) handle(ctx context.Context, f failure) error {
	t.failed.Add(1)
	var se *transform.StageError
	if errors.As(f.err, &se) {
		f.class = se.Class
	}
	if !t.s.toleranceAll {
		return fmt.Errorf("%w: %s stage (%s) failed on %s: %w", ErrToleranceExceeded, f.stage, f.class, f.rec, f.err)
	}
	t.skipped.Add(1)
	if t.s.logErrors {
		attrs := []any{"stage", f.stage, "class", f.class, "record", f.rec.String(), "error", f.err}
		if t.s.logMessages {
			attrs = append(attrs, "key", fmt.Sprint(f.rec.Key), "value", fmt.Sprint(f.rec.Value), "headers", fmt.Sprint(f.rec.Headers))
		}
		t.logger.Error("error encountered in task, record skipped", attrs...)
	}
	if f.raw == nil && f.rawFn != nil && t.dlq != nil {
		f.raw = f.rawFn()
	}
	if t.dlq == nil || f.raw == nil {
		return nil
	}
	out := &kgo.Record{Topic: t.s.dlqTopic, Key: f.raw.Key, Value: f.raw.Value, Headers: append([]kgo.RecordHeader(nil), f.raw.Headers...)}
	if t.s.dlqHeaders {
		out.Headers = append(out.Headers, t.contextHeaders(f)...)
	}
	out.Headers = append(out.Headers, ruleHeaders(f.err)...)
	if err := t.dlq(ctx, out); err != nil {
		// A record we can neither process nor park must not be skipped
		// silently: fail the task.
		return fmt.Errorf("write %s to dead letter queue %s: %w (original error: %w)", f.rec, t.s.dlqTopic, err, f.err)
	}
	t.dlqWritten.Add(1)
	return nil
}

func (t *tolerance) contextHeaders(f failure) []kgo.RecordHeader {
	h := func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
	var hs []kgo.RecordHeader
	if f.raw.Topic != "" && f.rec.SourceOffset == nil {
		hs = append(hs,
			h(headerOrigTopic, f.raw.Topic),
			h(headerOrigPartition, strconv.Itoa(int(f.raw.Partition))),
			h(headerOrigOffset, strconv.FormatInt(f.raw.Offset, 10)))
	}
	hs = append(hs,
		h(headerConnectorName, t.task.Connector),
		h(headerTaskID, strconv.Itoa(t.task.Task)),
		h(headerStage, string(f.stage)),
		h(headerExecutingClass, f.class),
		h(headerExceptionClass, exceptionClass(f.err)),
		h(headerExceptionMessage, f.err.Error()),
		h(headerExceptionTrace, errorTrace(f.err)))
	return hs
}

// ruleHeaders are the __rule.* headers Confluent's serializers put on a
// record a data-contract rule sent to a dead letter queue (rule name,
// mode, subject, topic, exception), for a record a converter's rule
// failed: a reader of the DLQ skips the rule its __rule.name names.
func ruleHeaders(err error) []kgo.RecordHeader {
	var re interface{ DLQHeaders() connect.Headers }
	if !errors.As(err, &re) {
		return nil
	}
	var hs []kgo.RecordHeader
	for _, h := range re.DLQHeaders() {
		hs = append(hs, kgo.RecordHeader{Key: h.Key, Value: []byte(fmt.Sprint(h.Value))})
	}
	return hs
}

// exceptionClass names the kind of error as the Java class a Kafka user
// would look for.
func exceptionClass(err error) string {
	switch {
	case errors.Is(err, connect.ErrRetriable):
		return "org.apache.kafka.connect.errors.RetriableException"
	case errors.Is(err, connect.ErrData):
		return "org.apache.kafka.connect.errors.DataException"
	case errors.Is(err, connect.ErrConfig):
		return "org.apache.kafka.common.config.ConfigException"
	}
	return "org.apache.kafka.connect.errors.ConnectException"
}

// errorTrace renders an error chain one cause per line, the Go stand-in for
// a Java stack trace: readable, with the root cause last.
func errorTrace(err error) string {
	s := fmt.Sprintf("%s: %s", exceptionClass(err), err.Error())
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		s += "\nCaused by: " + e.Error()
	}
	return s
}
