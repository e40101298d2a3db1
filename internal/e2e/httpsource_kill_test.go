package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHTTPSourceSurvivesKill ships 100,000 distinct NDJSON lines to the
// HTTP source's generic JSON endpoint, as Vector's http sink would, while
// the worker running it is stopped mid-stream (SIGKILL, or SIGTERM) and
// started again, twice, and checks the topic: every line the shipper got a 2xx for is there (the
// source answers 2xx only once the broker has every line of the request),
// and the shipper's retries through the outage filled in the rest. The
// duplicates, lines of requests that failed after some of their lines were
// written, are counted and bounded.
func TestHTTPSourceSurvivesKill(t *testing.T) {
	t.Run("sigkill", func(t *testing.T) { httpSourceKillScenario(t, false) })
	t.Run("sigterm", func(t *testing.T) { httpSourceKillScenario(t, true) })
}

// stopAt are the acknowledged line counts at which the worker is stopped
// and started again: twice, the second time once the restarted worker
// has served for a while.
var stopAt = []int64{30_000, 65_000}

// The shipper's shape: shipLines lines in batches of batchLines,
// shipSenders requests at once.
const (
	shipLines   = 100_000
	batchLines  = 500
	shipSenders = 4
)

func httpSourceKillScenario(t *testing.T, graceful bool) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	dir, brokerAddr, listen := t.TempDir(), freeAddr(t), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), brokerAddr, "group.min.session.timeout.ms=1000")
	// A producer linger keeps each request's lines out of the broker
	// for a while after they are queued: the window in which a source
	// answering 2xx too early would lose lines to the SIGKILL.
	w := newClusterWorker(t, dir, "w1", brokerAddr, "producer.linger.ms=50")
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", w.base()+"/connectors", map[string]any{"name": "logs", "config": map[string]string{
		"connector.class": "io.sluice.connect.http.HttpSourceConnector",
		"listeners":       listen, "topic": "logs", "protocols": "json",
		"request.timeout.ms": "10000", "retry.after.seconds": "1",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}}, &resp), "%v", resp)
	waitRunning(t, w.base(), "logs", 1)

	sh := newShipper("http://" + listen + "/")
	shipErr := make(chan error, 1)
	go func() { shipErr <- sh.run(ctx) }()

	// Stop the worker once tens of thousands of lines are acknowledged,
	// and start it again on the same listener while the shipper retries;
	// twice.
	ackedBefore := map[int]bool{}
	var inflight []int64
	for _, at := range stopAt {
		require.Eventually(t, func() bool { return sh.ackedLines.Load() >= at || sh.finished.Load() }, 60*time.Second, 2*time.Millisecond,
			"%d lines acknowledged", sh.ackedLines.Load())
		require.False(t, sh.finished.Load(), "the shipper ended before the stop")
		inflight = append(inflight, sh.inflight.Load())
		if graceful {
			w.p.terminate(t, 30*time.Second)
		} else {
			w.p.kill()
		}
		ackedBefore = sh.ackedSet()
		t.Logf("worker stopped (graceful: %v) after %d lines acknowledged, %d requests in flight", graceful, len(ackedBefore), inflight[len(inflight)-1])
		time.Sleep(300 * time.Millisecond)
		w.start(t)
	}
	require.NoError(t, <-shipErr, "shipper")
	acked := sh.ackedSet()
	require.Equal(t, shipLines, len(acked), "lines acknowledged in the end")
	st := sh.stats()
	t.Logf("shipper done: %d attempts, %d failed: %v", st.attempts, st.failed, st.byOutcome)

	// Read the whole topic, up to its end once the shipper is done.
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics("logs"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "logs")
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	var end int64
	ends.Each(func(o kadm.ListedOffset) { end += o.Offset })
	counts := make(map[int]int, shipLines)
	read := int64(0)
	for read < end && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			read++
			var line struct {
				Seq *int `json:"seq"`
			}
			if err := json.Unmarshal(r.Value, &line); err != nil || line.Seq == nil {
				t.Errorf("record at offset %d is not a shipped line: %s", r.Offset, r.Value)
				return
			}
			counts[*line.Seq]++
		})
	}
	require.NoError(t, ctx.Err(), "read %d of %d records", read, end)

	// The core claim: nothing a 2xx acknowledged is lost, whether the
	// worker that acknowledged it was killed afterwards or not.
	missing := 0
	for seq := range ackedBefore {
		if counts[seq] == 0 {
			missing++
		}
	}
	assert.Zero(t, missing, "lines acknowledged before the last stop but not in the topic")
	missing = 0
	for seq := range shipLines {
		if counts[seq] == 0 {
			missing++
		}
	}
	assert.Zero(t, missing, "lines not in the topic")
	assert.Equal(t, shipLines, len(counts), "distinct lines in the topic")

	// The bound on duplicates. Every copy of a line in the topic was
	// written by one attempt of its batch; the attempt that got the 2xx
	// wrote each line once, so the extra copies come from failed attempts
	// only, at most batchLines each. And only failed attempts whose lines
	// may have reached the source's queue count: not one refused at
	// connect (no worker), nor one answered 503 while waiting for a
	// request slot (before its body was read). That leaves the requests
	// cut by the SIGKILL (at most shipSenders, those in flight), those
	// answered 503 "stopping" by the SIGTERM, and any answered 503/429
	// after request.timeout.ms: mayHaveWritten counts exactly those, so
	// dups ≤ mayHaveWritten × batchLines. Nothing else duplicates: the
	// broker is not restarted, so the worker's producer resends nothing.
	dups := int(read) - shipLines
	bound := st.mayHaveWritten * batchLines
	t.Logf("%d records in the topic for %d lines: %d duplicates (bound %d: %d failed attempts that may have written); requests in flight at the stops: %v; took %s",
		read, shipLines, dups, bound, st.mayHaveWritten, inflight, time.Since(start).Round(time.Millisecond))
	assert.LessOrEqual(t, dups, bound, "duplicates")
	w.p.terminate(t, 20*time.Second)
}

// shipper sends shipLines NDJSON lines ({"seq":N,"msg":"…"}) in batches
// of batchLines from shipSenders goroutines, as Vector's http sink does:
// a batch counts as delivered on a 2xx; network errors, 408, 429 and 5xx
// other than 501 are retried forever (here: until the context ends) with
// a Fibonacci backoff; any other answer is a permanent failure. Unlike
// Vector it honours Retry-After, capped at maxBackoff to keep the test
// fast.
type shipper struct {
	url    string
	client *http.Client

	ackedLines atomic.Int64
	inflight   atomic.Int64
	finished   atomic.Bool // run returned

	mu    sync.Mutex
	acked map[int]bool
	st    shipStats
}

// shipStats counts the shipper's attempts.
type shipStats struct {
	attempts, failed int
	// mayHaveWritten counts the failed attempts whose lines the source
	// may have queued: all but those refused at connect and those
	// answered before the body was read.
	mayHaveWritten int
	byOutcome      map[string]int
}

// The shipper's backoff bounds.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = 200 * time.Millisecond
)

func newShipper(url string) *shipper {
	return &shipper{url: url, acked: make(map[int]bool, shipLines), st: shipStats{byOutcome: map[string]int{}},
		client: &http.Client{
			Timeout:   30 * time.Second, // above the source's request.timeout.ms
			Transport: &http.Transport{MaxIdleConnsPerHost: shipSenders, DisableCompression: true},
		}}
}

// run ships every batch, returning once all got a 2xx or the first
// permanent failure or ctx's end.
func (s *shipper) run(ctx context.Context) error {
	defer s.finished.Store(true)
	defer s.client.CloseIdleConnections()
	batches := make(chan int)
	errs := make(chan error, shipSenders)
	var wg sync.WaitGroup
	for range shipSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := s.ship(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for b := range shipLines / batchLines {
		select {
		case batches <- b:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(batches)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-errs:
	default:
	}
	return err
}

// ship sends batch b until it gets a 2xx.
func (s *shipper) ship(ctx context.Context, b int) error {
	var body bytes.Buffer
	for seq := b * batchLines; seq < (b+1)*batchLines; seq++ {
		fmt.Fprintf(&body, `{"seq":%d,"msg":"line %d of the HTTP source kill test"}`+"\n", seq, seq)
	}
	prev, next := time.Duration(0), minBackoff // Fibonacci
	for {
		status, retryAfter, err := s.post(ctx, body.Bytes())
		switch {
		case err == nil && status/100 == 2:
			s.mu.Lock()
			for seq := b * batchLines; seq < (b+1)*batchLines; seq++ {
				s.acked[seq] = true
			}
			s.mu.Unlock()
			s.ackedLines.Add(batchLines)
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("batch %d not delivered: %w", b, ctx.Err())
		case err == nil && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests && (status < 500 || status == 501):
			return fmt.Errorf("batch %d: permanent failure %d", b, status)
		}
		wait := next
		if retryAfter > 0 {
			wait = retryAfter
		}
		prev, next = next, min(prev+next, maxBackoff)
		select {
		case <-time.After(min(wait, maxBackoff)):
		case <-ctx.Done():
			return fmt.Errorf("batch %d not delivered: %w", b, ctx.Err())
		}
	}
}

// post sends one attempt and records its outcome: the status and
// Retry-After of an answer, or the network error.
func (s *shipper) post(ctx context.Context, body []byte) (int, time.Duration, error) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	req, err := http.NewRequestWithContext(ctx, "POST", s.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := s.client.Do(req)
	outcome, written := "", false
	status, retryAfter := 0, time.Duration(0)
	if err != nil {
		var op *net.OpError
		switch {
		case errors.As(err, &op) && op.Op == "dial":
			outcome = "connection refused"
		// The connection failed after the request was (maybe) sent.
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			outcome, written = "connection closed (EOF)", true
		case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed):
			outcome, written = "connection reset", true
		default:
			outcome, written = "network error: "+err.Error(), true
		}
	} else {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		status = resp.StatusCode
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil {
			retryAfter = time.Duration(secs) * time.Second
		}
		outcome = strconv.Itoa(status)
		if status/100 != 2 {
			outcome += " " + string(msg)
			// Only a 503 "max.concurrent.requests" is answered before the
			// body is read; count every other failure as written.
			written = !bytes.Contains(msg, []byte("max.concurrent.requests"))
		}
	}
	s.mu.Lock()
	s.st.attempts++
	if err != nil || status/100 != 2 {
		s.st.failed++
		s.st.byOutcome[outcome]++
		if written {
			s.st.mayHaveWritten++
		}
	}
	s.mu.Unlock()
	return status, retryAfter, err
}

// ackedSet returns the lines acknowledged so far.
func (s *shipper) ackedSet() map[int]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]bool, len(s.acked))
	for seq := range s.acked {
		out[seq] = true
	}
	return out
}

// stats returns a copy of the shipper's counts.
func (s *shipper) stats() shipStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.byOutcome = make(map[string]int, len(s.st.byOutcome))
	for k, v := range s.st.byOutcome {
		st.byOutcome[k] = v
	}
	return st
}
