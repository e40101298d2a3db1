package mqtt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/connecttest"
)

func TestServerAcceptance(t *testing.T) {
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: ServerPlugin,
		Config: func(t *testing.T) map[string]string {
			return map[string]string{"listeners": freeAddr(t), "kafka.topic": "mqtt-acceptance",
				"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter"}
		},
		Topic: func(config map[string]string) string { return config["kafka.topic"] },
		ID: func(value any) (int, error) {
			id, ok := value.(float64)
			if !ok {
				return 0, fmt.Errorf("value %v is not a number", value)
			}
			return int(id), nil
		},
		Produce: func(t *testing.T, config map[string]string, first, n int) {
			go publishUntilAcked(config["listeners"], first, n)
		},
		Skip: map[string]string{
			"CorruptOffsetIsRefused":      "a push source keeps no source offsets: its clients resend what was not acknowledged",
			"ResumesAfterCommittedOffset": "a push source commits no offsets to wait for; TestAckOnlyOnceDurable and the e2e kill test check delivery",
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

// publishUntilAcked publishes the numbers first…first+n-1 as QoS 1
// messages as a device does: connecting until the server is there, for
// at most a minute, resending what was not acknowledged after a lost
// connection, and giving up once the server, reached before, is gone.
func publishUntilAcked(addr string, first, n int) {
	acked := 0
	reached := false
	for deadline := time.Now().Add(time.Minute); acked < n && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		k, dialled, err := publishOnce(addr, first+acked, n-acked)
		acked += k
		if err != nil && reached && errors.Is(err, syscall.ECONNREFUSED) {
			return
		}
		reached = reached || dialled
	}
}

// publishOnce sends the numbers over one connection, returning how many
// were acknowledged in order, and whether the server was reached.
func publishOnce(addr string, first, n int) (acked int, dialled bool, err error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, false, err
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(20 * time.Second))
	id := "acceptance"
	connect := append([]byte{0x10, byte(12 + len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 30, 0, byte(len(id))}, id...)
	if _, err := nc.Write(connect); err != nil {
		return 0, true, err
	}
	br := bufio.NewReader(nc)
	ack := make([]byte, 4)
	if _, err := io.ReadFull(br, ack); err != nil {
		return 0, true, err
	}
	for i := range n {
		payload := strconv.Itoa(first + i)
		pid := i + 1
		pkt := append([]byte{0x32, byte(2 + 1 + 2 + len(payload)), 0, 1, 't', byte(pid >> 8), byte(pid)}, payload...)
		if _, err := nc.Write(pkt); err != nil {
			return 0, true, err
		}
	}
	for i := range n {
		if _, err := io.ReadFull(br, ack); err != nil {
			return i, true, err
		}
	}
	return n, true, nil
}
