package httpsink

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failing answers status to the first n requests, then 200.
func failing(n, status int, hs http.Header, body string) func(int, captured) (int, http.Header, string) {
	return func(i int, _ captured) (int, http.Header, string) {
		if i < n {
			return status, hs, body
		}
		return http.StatusOK, nil, ""
	}
}

// TestRetryThenSuccess retries 5xx with backoff and commits after the
// 2xx; Confluent's backoff doubles, Aiven's is fixed.
func TestRetryThenSuccess(t *testing.T) {
	cases := []struct {
		name    string
		config  map[string]string
		minGaps []time.Duration // lower bounds of the gaps between attempts (jitter shortens by ≤20%)
	}{
		{"confluent exponential", map[string]string{"retry.backoff.ms": "100"}, []time.Duration{80 * time.Millisecond, 160 * time.Millisecond}},
		{"aiven fixed", map[string]string{"connector.class": AivenClass, "http.authorization.type": "none", "max.retries": "2", "retry.backoff.ms": "100"},
			[]time.Duration{100 * time.Millisecond, 100 * time.Millisecond}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := startEndpoint(t)
			e.setRespond(failing(2, http.StatusInternalServerError, nil, "boom"))
			if c.config["connector.class"] == AivenClass {
				c.config["http.url"] = e.URL
			} else {
				c.config["http.api.url"] = e.URL
			}
			task, _ := startTask(t, c.config)
			off, err := putFlush(t, task, recs("t", "x"))
			require.NoError(t, err)
			assert.Equal(t, int64(1), off[connect.TopicPartition{Topic: "t"}])
			got := e.requests()
			require.Len(t, got, 3)
			for i, min := range c.minGaps {
				gap := got[i+1].At.Sub(got[i].At)
				assert.GreaterOrEqual(t, gap, min, "gap %d", i)
				assert.Less(t, gap, min*3+500*time.Millisecond, "gap %d", i) // slack for a loaded machine
			}
		})
	}
}

// TestRetryAfter waits what a 429's or 503's Retry-After asks, in seconds
// or as an HTTP date, when longer than the backoff.
func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		value  func() string
	}{
		{"429 seconds", http.StatusTooManyRequests, func() string { return "1" }},
		{"503 http-date", http.StatusServiceUnavailable, func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startEndpoint(t)
			e.setRespond(func(i int, _ captured) (int, http.Header, string) {
				if i == 0 {
					return c.status, http.Header{"Retry-After": {c.value()}}, "slow down"
				}
				return http.StatusOK, nil, ""
			})
			task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "retry.backoff.ms": "10"})
			_, err := putFlush(t, task, recs("t", "x"))
			require.NoError(t, err)
			got := e.requests()
			require.Len(t, got, 2)
			gap := got[1].At.Sub(got[0].At)
			// An HTTP date has whole seconds: the wait is at least 1s.
			assert.GreaterOrEqual(t, gap, 900*time.Millisecond)
			assert.Less(t, gap, 3*time.Second)
		})
	}
	assert.Equal(t, maxRetryAfter, retryAfter("999999", time.Now()), "bounded")
	assert.Zero(t, retryAfter("soon", time.Now()))
}

// TestRetryOnStatusCodes retries only the listed statuses.
func TestRetryOnStatusCodes(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(failing(10, http.StatusBadRequest, nil, `{"error":"bad field"}`))
	task, ctx := startTask(t, map[string]string{"http.api.url": e.URL, "retry.on.status.codes": "408,500-", "retry.backoff.ms": "1"})
	_, err := putFlush(t, task, recs("t", "x"))
	require.Error(t, err, "behavior.on.error=fail under errors.tolerance=none")
	assert.Len(t, e.requests(), 1, "400 is not retried")
	rep := ctx.ReportedRecords()
	require.Len(t, rep, 1)
	var re *RequestError
	require.True(t, errors.As(rep[0].Err, &re))
	assert.Equal(t, 400, re.Status)
	assert.Equal(t, `{"error":"bad field"}`, string(re.Body))

	codes, err := parseStatusRanges("404, 408,500-502,600-")
	require.NoError(t, err)
	for st, want := range map[int]bool{404: true, 405: false, 408: true, 501: true, 503: false, 650: true} {
		assert.Equal(t, want, codes(st), "%d", st)
	}
	_, err = parseStatusRanges("500-400")
	assert.Error(t, err)
}

// TestNetworkErrorRetried retries a refused connection, then reports it.
func TestNetworkErrorRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	task, ctx := startTask(t, map[string]string{"http.api.url": "http://" + addr, "max.retries": "2", "retry.backoff.ms": "1"})
	ctx.Tolerate = true
	_, err = putFlush(t, task, recs("t", "x"))
	require.NoError(t, err, "reported under errors.tolerance=all")
	rep := ctx.ReportedRecords()
	require.Len(t, rep, 1)
	var re *RequestError
	require.True(t, errors.As(rep[0].Err, &re))
	assert.Equal(t, 3, re.Attempts)
	assert.Equal(t, 0, re.Status)
}

// TestBehaviorOnError: after retries, fail reports each record of the
// batch (to the DLQ under errors.tolerance=all), log and ignore skip.
func TestBehaviorOnError(t *testing.T) {
	for _, c := range []struct {
		behavior string
		reported int
	}{{"fail", 3}, {"log", 0}, {"ignore", 0}} {
		t.Run(c.behavior, func(t *testing.T) {
			e := startEndpoint(t)
			e.setRespond(failing(100, http.StatusUnprocessableEntity, nil, "nope"))
			task, ctx := startTask(t, map[string]string{"http.api.url": e.URL, "behavior.on.error": c.behavior,
				"batch.max.size": "3", "max.retries": "1", "retry.backoff.ms": "1"})
			ctx.Tolerate = true
			off, err := putFlush(t, task, recs("t", "a", "b", "c"))
			require.NoError(t, err)
			assert.Equal(t, int64(3), off[connect.TopicPartition{Topic: "t"}], "settled records are committed")
			assert.Len(t, e.requests(), 2)
			require.Len(t, ctx.ReportedRecords(), c.reported)
			if c.reported > 0 {
				var re *RequestError
				require.True(t, errors.As(ctx.ReportedRecords()[0].Err, &re))
				hs := re.DLQHeaders()
				assert.Equal(t, HeaderStatus, hs[0].Key)
				assert.Equal(t, "422", hs[0].Value)
				assert.Equal(t, "nope", hs[1].Value)
			}
		})
	}
}

// TestFlushFailureCommitsNothing: a batch that failed stays buffered and
// Flush returns no offsets; once the endpoint recovers the next Flush
// sends it and commits.
func TestFlushFailureCommitsNothing(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(failing(100, http.StatusBadGateway, nil, ""))
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "batch.max.size": "10", "max.retries": "0"})
	require.NoError(t, task.Put(context.Background(), recs("t", "a", "b")))
	cur := map[connect.TopicPartition]int64{{Topic: "t"}: 2}
	off, err := task.Flush(context.Background(), cur)
	require.Error(t, err)
	assert.Nil(t, off)
	e.setRespond(nil)
	off, err = task.Flush(context.Background(), cur)
	require.NoError(t, err)
	assert.Equal(t, cur, off)
	assert.Equal(t, []string{"[a,b]", "[a,b]"}, e.bodies())
}

// TestCancelStopsRetries: a cancelled context ends the backoff at once.
func TestCancelStopsRetries(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(failing(100, http.StatusServiceUnavailable, nil, ""))
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "retry.backoff.ms": "60000"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- task.Put(ctx, recs("t", "x")) }()
	require.Eventually(t, func() bool { return len(e.requests()) == 1 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(2 * time.Second):
		t.Fatal("Put did not return within 2s of cancel")
	}
}

// TestFlushTimeoutIsRetriable: a flush whose deadline ends the retries
// returns a retriable error and no offsets; the batch is sent later.
func TestFlushTimeoutIsRetriable(t *testing.T) {
	e := startEndpoint(t)
	e.setRespond(failing(1, http.StatusServiceUnavailable, nil, ""))
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "batch.max.size": "10", "retry.backoff.ms": "60000"})
	require.NoError(t, task.Put(context.Background(), recs("t", "a")))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cur := map[connect.TopicPartition]int64{{Topic: "t"}: 1}
	off, err := task.Flush(ctx, cur)
	require.ErrorIs(t, err, connect.ErrRetriable)
	assert.Nil(t, off)
	off, err = task.Flush(context.Background(), cur)
	require.NoError(t, err)
	assert.Equal(t, cur, off)
	assert.Equal(t, []string{"[a]", "[a]"}, e.bodies())
}
