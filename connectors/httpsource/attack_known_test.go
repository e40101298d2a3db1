package httpsource

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The known problems the attack tests found and did not fix, each as a
// test of the behaviour wanted that fails today: they run only with
// SLUICE_ATTACK_KNOWN=1, so a fix can be checked against them (and the
// switch removed with it).

func knownProblem(t *testing.T) {
	t.Helper()
	if os.Getenv("SLUICE_ATTACK_KNOWN") != "1" {
		t.Skip("a known problem; SLUICE_ATTACK_KNOWN=1 runs it")
	}
}

// TestKnownTinyItemAmplification: a generic JSON body of more tiny
// events than max.events.per.request is refused (413) only after every
// event was decoded: 1 MiB of {} takes ~45 MiB of heap, so
// max.concurrent.requests bodies of max.request.bytes (16 × 10 MiB by
// default) can take ~7 GiB. Wanted: the count checked while decoding
// (json.go), the heap a small multiple of the body. The other protocols
// count before decoding: TestAttackTinyItemAmplification.
func TestKnownTinyItemAmplification(t *testing.T) {
	knownProblem(t)
	const body = 1 << 20
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": fmt.Sprint(body), "max.events.per.request": "1000"})
	b := append(append([]byte("["), bytes.Repeat([]byte("{},"), body/3-1)...), '{', '}', ']')
	base := liveHeap()
	s := sampleHeap()
	status, answer, _ := post(t, url+"/", b, "Content-Type", "application/json")
	peak := s.Stop()
	assert.Equal(t, 413, status, answer)
	assert.Less(t, peak, base+8*body, "json: heap %d MiB over %d MiB for a 1 MiB body", (peak-base)>>20, base>>20)
}

// TestKnownEventOverBrokerLimitRetried: an event over the broker's
// message.max.bytes is answered 503 "retry later", and fails the task:
// the shipper resends it for ever, failing the task (and every request
// in flight) each time. Wanted: a 413 naming the limit, before the
// producer sees it.
func TestKnownEventOverBrokerLimitRetried(t *testing.T) {
	knownProblem(t)
	_, url, _, _ := startConnector(t, map[string]string{"max.request.bytes": "4194304", "request.timeout.ms": "2000"})
	status, answer, _ := post(t, url+"/", []byte(`{"log":"`+strings.Repeat("x", 1_500_000)+`"}`))
	assert.Equal(t, 413, status, answer)
}
