package httpsource

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connecttest"
)

func TestAcceptance(t *testing.T) {
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Plugin,
		Config: func(t *testing.T) map[string]string {
			return map[string]string{"listeners": freeAddr(t), "topic": "http-acceptance", "request.timeout.ms": "2000"}
		},
		Topic: func(config map[string]string) string { return config["topic"] },
		ID: func(value any) (int, error) {
			m, ok := value.(map[string]any)
			if !ok {
				return 0, fmt.Errorf("value %v is not an object", value)
			}
			id, ok := m["id"].(float64)
			if !ok {
				return 0, fmt.Errorf("value %v has no numeric id", value)
			}
			return int(id), nil
		},
		Produce: produceLines,
		Skip: map[string]string{
			"CorruptOffsetIsRefused":      "a push source keeps no source offsets: its clients resend what was not acknowledged",
			"ResumesAfterCommittedOffset": "a push source commits no offsets to wait for; TestAnsweredAfterRecordsAreInTheTopic checks delivery through the worker",
		},
	})
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// produceLines posts lines first…first+n-1 as NDJSON to the listener, in
// the background as a shipper does: retrying until a 2xx, for at most a
// minute, and giving up once the listener, reached before, is gone (the
// task stopped).
func produceLines(t *testing.T, config map[string]string, first, n int) {
	url := "http://" + config["listeners"] + "/"
	body := ndjson(first, n, 64)
	go func() {
		reached := false
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			resp, err := testClient.Post(url, "application/x-ndjson", bytesReader(body))
			if err != nil {
				if reached && errors.Is(err, syscall.ECONNREFUSED) {
					return
				}
				continue
			}
			reached = true
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return
			}
		}
	}()
}
