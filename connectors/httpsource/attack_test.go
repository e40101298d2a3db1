package httpsource

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The attack tests: each plays a hostile or broken client (or a slow
// broker) against a connector on a real worker and broker, and checks the
// engineering rule — no request, however large, duplicated, slow or never
// read, takes unbounded memory, file descriptors or time, and no fault
// leaves the process wedged. SLUICE_ATTACK_HEAVY=1 scales them up (more
// shippers, longer); by default they fit a loaded two-core machine under
// -race.

// heavy reports whether the heavier variants run.
func heavy() bool { return os.Getenv("SLUICE_ATTACK_HEAVY") == "1" }

// heapSampler records the largest live heap (as of the last GC, so what
// is really held, not garbage awaiting collection) while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

// sampleHeap starts sampling every 20 ms.
func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-tick.C:
			case <-h.stop:
				return
			}
		}
	}()
	return h
}

// Stop ends the sampling and returns the peak live heap.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// liveHeap returns the live heap after a full collection, as
// heapSampler measures it.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// shipperBody returns an NDJSON body of n lines of about size bytes each,
// ids "<shipper>-<request>-<line>".
func shipperBody(shipper, request, n, size int) []byte {
	var b bytes.Buffer
	b.Grow(n * (size + 1))
	pad := strings.Repeat("x", max(0, size-40))
	for i := range n {
		fmt.Fprintf(&b, `{"id":"%d-%d-%d","log":"%s"}`+"\n", shipper, request, i, pad)
	}
	return b.Bytes()
}

// TestAttackThrottledBroker: the worker's producer reaches the broker
// through a proxy limited to 512 KiB/s while many shippers post 1 MiB
// NDJSON bodies (a few 16 KiB ones) as fast as they are answered. Every answer is 200, 429 or
// 503 (429/503 with Retry-After), none later than the request's bound;
// the live heap stays under the bound the limits give; the goroutines
// come back to their number before; and once the throttle is lifted every
// line that was answered 200 is in the topic, once.
func TestAttackThrottledBroker(t *testing.T) {
	const (
		maxRequests = 8
		maxBytes    = 2 << 20
		queueBytes  = 1 << 20
		bufMemory   = 4 << 20
		timeout     = 3 * time.Second
		lineSize    = 1024
		bodyLines   = 1024      // a 1 MiB body
		rate        = 512 << 10 // a tiny share of what the shippers offer
	)
	shippers, attack := 50, 5*time.Second
	if heavy() {
		shippers, attack = 200, 20*time.Second
	}
	b, proxy := testenv.StartThrottledBroker(t, nil, 0, 0)
	w := connecttest.StartWorker(t, b, []connect.ConnectorPlugin{Plugin}, nil)
	name := fmt.Sprintf("http-%d", connectorSeq.Add(1))
	topic := name + "-logs"
	w.Create(name, Plugin.Class, map[string]string{
		"listeners": "127.0.0.1:0", "topic": topic,
		"max.concurrent.requests": strconv.Itoa(maxRequests), "max.request.bytes": strconv.Itoa(maxBytes),
		"max.queue.size.in.bytes": strconv.Itoa(queueBytes), "request.timeout.ms": strconv.Itoa(int(timeout.Milliseconds())),
		"retry.after.seconds": "3", "producer.override.buffer.memory": strconv.Itoa(bufMemory),
	})
	url := waitAddr(t, name, 0)
	// The topic exists and the producer is connected before the throttle.
	status, answer, _ := post(t, url+"/", shipperBody(-1, 0, 1, 64))
	require.Equal(t, 200, status, answer)
	testClient.CloseIdleConnections()

	// The bound on what the connector may hold at once: each request in a
	// slot holds its body, its decoded events and their records (a few
	// times the body); the queue holds max.queue.size.in.bytes of events'
	// JSON (Go values of about twice that); the producer buffer.memory of
	// encoded records; the shippers (this test) their bodies, twice with
	// the transport's copies; plus the worker's, broker's and runtime's own.
	base := liveHeap()
	bound := base + maxRequests*maxBytes*6 + queueBytes*3 + bufMemory*2 + uint64(shippers)*bodyLines*lineSize*2 + 48<<20
	goroutines := runtime.NumGoroutine()

	proxy.Set(rate, 0)
	sampler := sampleHeap()
	var (
		mu       sync.Mutex
		okIDs    []string
		counts   = map[int]int{}
		slowest  time.Duration
		failures []string
	)
	client := &http.Client{Timeout: 2*timeout + 30*time.Second}
	deadline := time.Now().Add(attack)
	var wg sync.WaitGroup
	for s := range shippers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; time.Now().Before(deadline); r++ {
				lines := bodyLines
				if s%5 == 0 {
					lines = 16 // a few shippers send small batches, which fit the bandwidth
				}
				body := shipperBody(s, r, lines, lineSize)
				start := time.Now()
				resp, err := client.Post(url+"/", "application/x-ndjson", bytes.NewReader(body))
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(start)
				mu.Lock()
				counts[resp.StatusCode]++
				slowest = max(slowest, took)
				switch resp.StatusCode {
				case 200:
					for i := range lines {
						okIDs = append(okIDs, fmt.Sprintf("%d-%d-%d", s, r, i))
					}
				case 429, 503:
					if resp.Header.Get("Retry-After") != "3" {
						failures = append(failures, fmt.Sprintf("%d without Retry-After: 3 (%q)", resp.StatusCode, resp.Header.Get("Retry-After")))
					}
				default:
					failures = append(failures, fmt.Sprintf("%d: %s", resp.StatusCode, msg))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	peak := sampler.Stop()
	t.Logf("answers %v, slowest %s, live heap %d MiB before, peak %d MiB, bound %d MiB",
		counts, slowest, base>>20, peak>>20, bound>>20)
	assert.Empty(t, failures)
	assert.NotZero(t, counts[429]+counts[503], "the throttle made the connector push back")
	// A request waits for a slot, then for the queue and the ack, each
	// within request.timeout.ms; reading 1 MiB on loopback adds little.
	assert.Less(t, slowest, 2*timeout+5*time.Second, "no answer later than its bound")
	assert.Less(t, peak, bound, "live heap bounded by the limits")
	client.CloseIdleConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+5 }, 15*time.Second, 50*time.Millisecond,
		"goroutines back to baseline (%d before, %d now)", goroutines, runtime.NumGoroutine())

	// Lifted: what was answered 200 is in the topic, each line once.
	proxy.Set(0, 0)
	want := make(map[string]int, len(okIDs))
	for _, id := range okIDs {
		want[id] = 0
	}
	seen := consumeIDs(t, b, topic, want, 60*time.Second)
	for id, n := range want {
		if n != 1 {
			t.Errorf("line %s answered 200 is in the topic %d times", id, n)
			break
		}
	}
	t.Logf("%d lines answered 200, %d lines in the topic", len(okIDs), seen)
}

// consumeIDs reads topic from its start until every id of want was seen,
// counting each id's records in want, and returns how many records it read.
func consumeIDs(t *testing.T, b *testenv.Broker, topic string, want map[string]int, timeout time.Duration) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(16<<20))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	missing, total := len(want), 0
	for missing > 0 {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d lines answered 200 are not in %s after %s", missing, len(want), topic, timeout)
		}
		f.EachRecord(func(r *kgo.Record) {
			total++
			var v struct{ ID string }
			if json.Unmarshal(r.Value, &v) != nil {
				return
			}
			if n, ok := want[v.ID]; ok {
				if n == 0 {
					missing--
				}
				want[v.ID] = n + 1
			}
		})
	}
	return total
}
