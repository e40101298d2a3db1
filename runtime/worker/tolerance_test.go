package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/transform"
)

// failing returns an operation that fails n times with err, then
// succeeds, and a pointer to its call count.
func failing(n int, err error) (func() error, *int) {
	calls := 0
	return func() error {
		calls++
		if calls <= n {
			return err
		}
		return nil
	}, &calls
}

var errUnavailable = connect.Retriable(errors.New("unavailable"))

func TestToleranceRetry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeout  time.Duration // errors.retry.timeout
		delayMax time.Duration // errors.retry.delay.max.ms
		failures int
		err      error
		wantErr  bool
		calls    int
		minCalls int
		// within bounds how long the retries may take.
		within time.Duration
	}{
		{name: "success needs no retry", timeout: -1, delayMax: time.Second, failures: 0, err: errUnavailable, calls: 1, within: 50 * time.Millisecond},
		{name: "a non-retriable error is not retried", timeout: -1, delayMax: time.Second, failures: 1, err: errors.New("bad"), wantErr: true, calls: 1, within: 50 * time.Millisecond},
		{name: "timeout 0 means no retries", timeout: 0, delayMax: time.Second, failures: 1, err: errUnavailable, wantErr: true, calls: 1, within: 50 * time.Millisecond},
		{name: "timeout -1 retries until success", timeout: -1, delayMax: 10 * time.Millisecond, failures: 5, err: errUnavailable, calls: 6, within: time.Second},
		// Every wait, the first included, is capped by delay.max: five
		// retries capped at 10 ms take far less than one 300 ms wait.
		{name: "the backoff cap bounds every wait", timeout: time.Minute, delayMax: 10 * time.Millisecond, failures: 5, err: errUnavailable, calls: 6, within: 250 * time.Millisecond},
		{name: "gives up at the retry timeout", timeout: 200 * time.Millisecond, delayMax: 20 * time.Millisecond, failures: 1 << 30, err: errUnavailable, wantErr: true, minCalls: 5, within: 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tol := &tolerance{s: connectorSettings{retryTimeout: tc.timeout, retryDelayMax: tc.delayMax}}
			op, calls := failing(tc.failures, tc.err)
			start := time.Now()
			err := tol.retry(context.Background(), op)
			took := time.Since(start)
			if tc.wantErr {
				require.ErrorIs(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			if tc.calls > 0 {
				assert.Equal(t, tc.calls, *calls)
				assert.Equal(t, int64(tc.calls-1), tol.retries.Load())
			}
			assert.GreaterOrEqual(t, *calls, tc.minCalls)
			assert.Less(t, took, tc.within)
		})
	}
}

// The backoff doubles from 300 ms: two retries under a high cap wait at
// least 300 + 600 ms.
func TestToleranceRetryBacksOffExponentially(t *testing.T) {
	tol := &tolerance{s: connectorSettings{retryTimeout: -1, retryDelayMax: time.Minute}}
	op, calls := failing(2, errUnavailable)
	start := time.Now()
	require.NoError(t, tol.retry(context.Background(), op))
	assert.Equal(t, 3, *calls)
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 900*time.Millisecond)
	assert.Less(t, took, 900*time.Millisecond*5/4+200*time.Millisecond, "jitter adds at most a quarter")
}

// Cancelling the context ends the backoff at once, with the last error.
func TestToleranceRetryStopsWhenCancelled(t *testing.T) {
	tol := &tolerance{s: connectorSettings{retryTimeout: -1, retryDelayMax: time.Minute}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	op, _ := failing(1<<30, errUnavailable)
	start := time.Now()
	require.ErrorIs(t, tol.retry(ctx, op), errUnavailable)
	assert.Less(t, time.Since(start), 250*time.Millisecond)
}

// dlqCapture is a DLQ writer that keeps what it was given.
type dlqCapture struct {
	records []*kgo.Record
	err     error
}

func (d *dlqCapture) write(_ context.Context, r *kgo.Record) error {
	if d.err != nil {
		return d.err
	}
	d.records = append(d.records, r)
	return nil
}

func headersOf(r *kgo.Record) map[string]string {
	out := map[string]string{}
	for _, h := range r.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

func TestToleranceHandle(t *testing.T) {
	consumed := &kgo.Record{Topic: "orders", Partition: 2, Offset: 41, Key: []byte("k"), Value: []byte("not json"),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t1")}}}
	sinkRec := &connect.Record{Topic: "orders", Partition: 2, Offset: 41}
	sourceRec := &connect.Record{Topic: "orders", SourcePartition: map[string]any{"f": "a"}, SourceOffset: map[string]any{"pos": 1}}
	dataErr := fmt.Errorf("convert value: %w", connect.ErrData)
	for _, tc := range []struct {
		name       string
		all        bool // errors.tolerance=all
		dlq        bool
		dlqHeaders bool
		dlqErr     error
		f          failure
		// wantErr is a substring of the error handle returns; "" for nil.
		wantErr string
		// headers the DLQ record must carry (nil: no DLQ record); absent
		// lists headers it must not carry.
		headers map[string]string
		absent  []string
	}{
		{
			name: "tolerance none fails the task", f: failure{stage: StageValueConverter, class: "JsonConverter", rec: sinkRec, raw: consumed, err: dataErr},
			wantErr: "tolerance exceeded in error handler: VALUE_CONVERTER stage (JsonConverter) failed on",
		},
		{name: "tolerance all without a DLQ skips", all: true, f: failure{stage: StageValueConverter, class: "JsonConverter", rec: sinkRec, raw: consumed, err: dataErr}},
		{
			name: "DLQ without context headers keeps the record's own", all: true, dlq: true,
			f:       failure{stage: StageValueConverter, class: "JsonConverter", rec: sinkRec, raw: consumed, err: dataErr},
			headers: map[string]string{"trace": "t1"}, absent: []string{headerStage, headerOrigTopic},
		},
		{
			name: "DLQ context headers of a consumed record", all: true, dlq: true, dlqHeaders: true,
			f: failure{stage: StageValueConverter, class: "JsonConverter", rec: sinkRec, raw: consumed, err: dataErr},
			headers: map[string]string{
				"trace":                "t1",
				headerOrigTopic:        "orders",
				headerOrigPartition:    "2",
				headerOrigOffset:       "41",
				headerConnectorName:    "conn",
				headerTaskID:           "3",
				headerStage:            "VALUE_CONVERTER",
				headerExecutingClass:   "JsonConverter",
				headerExceptionClass:   "org.apache.kafka.connect.errors.DataException",
				headerExceptionMessage: dataErr.Error(),
				headerExceptionTrace:   "org.apache.kafka.connect.errors.DataException: " + dataErr.Error() + "\nCaused by: " + connect.ErrData.Error(),
			},
		},
		{
			name: "a source record has no original topic, partition or offset", all: true, dlq: true, dlqHeaders: true,
			f: failure{stage: StageTransformation, class: "transforms", rec: sourceRec,
				rawFn: func() *kgo.Record { return &kgo.Record{Topic: "orders", Value: []byte("v")} },
				err:   &transform.StageError{Alias: "mask", Class: "org.apache.kafka.connect.transforms.MaskField$Value", Err: errors.New("no field")}},
			headers: map[string]string{
				headerStage:          "TRANSFORMATION",
				headerExecutingClass: "org.apache.kafka.connect.transforms.MaskField$Value",
				headerExceptionClass: "org.apache.kafka.connect.errors.ConnectException",
			},
			absent: []string{headerOrigTopic, headerOrigPartition, headerOrigOffset},
		},
		{
			name: "a retriable cause is named RetriableException", all: true, dlq: true, dlqHeaders: true,
			f:       failure{stage: StageTaskPut, class: "MySink", rec: sinkRec, raw: consumed, err: errUnavailable},
			headers: map[string]string{headerExceptionClass: "org.apache.kafka.connect.errors.RetriableException", headerStage: "TASK_PUT"},
		},
		{
			name: "a failed DLQ write fails the task", all: true, dlq: true, dlqErr: errors.New("broker down"),
			f:       failure{stage: StageValueConverter, class: "JsonConverter", rec: sinkRec, raw: consumed, err: dataErr},
			wantErr: "to dead letter queue dlq: broker down (original error: convert value",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dlq := &dlqCapture{err: tc.dlqErr}
			tol := &tolerance{
				s:      connectorSettings{toleranceAll: tc.all, dlqTopic: "dlq", dlqHeaders: tc.dlqHeaders, logErrors: true},
				task:   ConnectorTaskID{Connector: "conn", Task: 3},
				logger: slog.New(slog.DiscardHandler),
			}
			if tc.dlq {
				tol.dlq = dlq.write
			}
			err := tol.handle(context.Background(), tc.f)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorIs(t, err, tc.f.err)
				if !tc.all {
					require.ErrorIs(t, err, ErrToleranceExceeded)
				}
				assert.Zero(t, tol.dlqWritten.Load())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(1), tol.skipped.Load())
			if tc.headers == nil {
				assert.Empty(t, dlq.records)
				return
			}
			require.Len(t, dlq.records, 1)
			got := dlq.records[0]
			assert.Equal(t, "dlq", got.Topic)
			assert.Equal(t, int64(1), tol.dlqWritten.Load())
			hs := headersOf(got)
			for k, v := range tc.headers {
				assert.Equal(t, v, hs[k], k)
			}
			for _, k := range tc.absent {
				assert.NotContains(t, hs, k)
			}
			if tc.f.raw != nil {
				assert.Equal(t, tc.f.raw.Key, got.Key)
				assert.Equal(t, tc.f.raw.Value, got.Value)
				assert.Len(t, tc.f.raw.Headers, 1, "the consumed record's headers are not changed")
			}
			assert.False(t, strings.HasPrefix(hs[headerExceptionMessage], "org."), "the message is the error's own")
		})
	}
}
