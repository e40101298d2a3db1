package mqtt

import (
	"bufio"
	"context"
	"net"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
)

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// closedWithin asserts the server closes c's connection within d
// (reading whatever it sends meanwhile).
func closedWithin(t *testing.T, c *rawClient, d time.Duration, why string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := c.tryRead(time.Until(deadline)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				break
			}
			return
		}
	}
	t.Fatalf("%s: the connection is still open after %s", why, d)
}

// TestAttackSilentSockets: sockets that never send CONNECT are closed
// after mqtt.connect.timeout.ms, and while max.connections of them are
// open a real client still gets in (the oldest silent one makes room).
func TestAttackSilentSockets(t *testing.T) {
	task, addr := startServerTask(t, map[string]string{"max.connections": "10", "mqtt.connect.timeout.ms": "800"})
	var silent []*rawClient
	for range 15 {
		silent = append(silent, dialRaw(t, addr, 4))
	}
	c := dialRaw(t, addr, 4)
	assert.Equal(t, byte(0), c.connect("real", "", "").ReasonCode, "a client gets in past silent sockets")
	c.write(c.publishPacket("t", 0, 0, []byte("x")))
	pollN(t, task, 1)
	start := time.Now()
	closedWithin(t, silent[len(silent)-1], 3*time.Second, "a socket silent for the connect timeout")
	assert.Less(t, time.Since(start), 2*time.Second)
	closedWithin(t, silent[0], 100*time.Millisecond, "the oldest silent socket, shed to make room")

	// Full of connected clients, a new connection is refused at once.
	var live []*rawClient
	for i := range 9 {
		r := dialRaw(t, addr, 4)
		r.connect(string(rune('a'+i)), "", "")
		live = append(live, r)
	}
	extra := dialRaw(t, addr, 4)
	closedWithin(t, extra, 2*time.Second, "a connection past max.connections")
	_ = live
}

// TestAttackOversizedPacket: a packet larger than mqtt.max.packet.size
// ends the connection (v5: DISCONNECT 0x95), before its body is read.
func TestAttackOversizedPacket(t *testing.T) {
	task, addr := startServerTask(t, map[string]string{"mqtt.max.packet.size": "1000"})
	c := dialRaw(t, addr, 5)
	c.connect("big", "", "")
	// Only the header of a 100 MB packet: the server must not wait for
	// (or allocate) the body.
	_, err := c.nc.Write([]byte{0x30, 0x80, 0x80, 0x80, 0x30})
	require.NoError(t, err)
	pk := c.read(5 * time.Second)
	assert.Equal(t, packets.Disconnect, pk.FixedHeader.Type)
	assert.Equal(t, packets.ErrPacketTooLarge.Code, pk.ReasonCode)
	closedWithin(t, c, 2*time.Second, "after DISCONNECT")

	c = dialRaw(t, addr, 4)
	c.connect("big3", "", "")
	c.write(c.publishPacket("t", 1, 1, make([]byte, 2000)))
	closedWithin(t, c, 2*time.Second, "a v3.1.1 client's oversized PUBLISH")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	recs, _ := task.Poll(ctx)
	assert.Empty(t, recs)
}

// TestAttackReceiveMaximum: a v5 client sending more unacknowledged QoS 1
// messages than the Receive Maximum it was given is disconnected (0x93);
// QoS 0 messages do not count.
func TestAttackReceiveMaximum(t *testing.T) {
	task, addr := startServerTask(t, map[string]string{"mqtt.receive.maximum": "3"})
	c := dialRaw(t, addr, 5)
	assert.Equal(t, uint16(3), c.connect("greedy", "", "").Properties.ReceiveMaximum)
	for i := range 3 {
		c.write(c.publishPacket("t", 1, uint16(i+1), []byte("x")))
		c.write(c.publishPacket("t", 0, 0, []byte("y")))
	}
	pollN(t, task, 6)
	noPacket(t, c, 200*time.Millisecond, "within the Receive Maximum")
	c.write(c.publishPacket("t", 1, 4, []byte("x")))
	pk := c.read(5 * time.Second)
	assert.Equal(t, packets.Disconnect, pk.FixedHeader.Type)
	assert.Equal(t, packets.ErrReceiveMaximum.Code, pk.ReasonCode)
}

// TestAttackNeverReadAcks: a client that floods PINGREQs and never reads
// the answers is disconnected once writing to it stalls for
// mqtt.write.timeout.ms; its goroutines end.
func TestAttackNeverReadAcks(t *testing.T) {
	before := connecttest.Goroutines()
	task, addr := startServerTask(t, map[string]string{"mqtt.write.timeout.ms": "300", "mqtt.receive.maximum": "16"})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	require.NoError(t, nc.(*net.TCPConn).SetReadBuffer(4096))
	c := &rawClient{t: t, nc: nc, br: nil, version: 4}
	c.br = bufio.NewReader(nc)
	c.connect("deaf", "", "")
	pings := make([]byte, 1<<20)
	for i := 0; i < len(pings); i += 2 {
		pings[i] = packets.Pingreq << 4
	}
	start := time.Now()
	var werr error
	// The cut comes once the server's socket send buffer is full of
	// PINGRESPs, which takes longer on a loaded machine (it flaked at 20s
	// in a run beside other packages' tests).
	for time.Since(start) < 60*time.Second {
		_ = nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, werr = nc.Write(pings); werr != nil {
			if ne, ok := werr.(net.Error); ok && ne.Timeout() {
				continue // the server stopped reading: backpressure, not yet the cut
			}
			break
		}
	}
	require.Error(t, werr, "the server cut the connection of a client that does not read")
	if ne, ok := werr.(net.Error); ok {
		require.False(t, ne.Timeout(), "cut by the server, not stalled: %v", werr)
	}
	assert.Less(t, time.Since(start), 60*time.Second)
	nc.Close()
	require.NoError(t, task.Stop())
	connecttest.CheckNoLeak(t, before, 5*time.Second)
}

// TestAttackTinyPublishFlood: a flood of tiny QoS 0 publishes while the
// broker takes nothing (the task is not polled) stops being read once
// max.queue.size is queued: memory stays bounded, the client is pushed
// back by TCP.
func TestAttackTinyPublishFlood(t *testing.T) {
	task, addr := startServerTask(t, map[string]string{"max.queue.size": "1000"})
	base := liveHeap()
	var wg sync.WaitGroup
	sent := make([]int, 4)
	for i := range sent {
		c := dialRaw(t, addr, 4)
		c.connect(string(rune('a'+i)), "", "")
		var b []byte
		for range 10000 {
			b = append(b, 0x30, 4, 0, 1, 't', 'x')
		}
		wg.Go(func() {
			for {
				_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
				n, err := c.nc.Write(b)
				sent[i] += n
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range sent {
		total += n
	}
	assert.Greater(t, total/6, 1000, "more messages sent than the queue holds")
	growth := int64(liveHeap()) - int64(base)
	t.Logf("%d tiny publishes sent before the clients were pushed back; live heap grew %d KiB", total/6, growth>>10)
	assert.Less(t, growth, int64(32<<20), "memory bounded by the queue and the socket buffers")
	assert.LessOrEqual(t, task.Queue.Len(), 1000+4*maxBatch)
}

// TestAttackSlowloris: a connected client trickling a packet a byte at a
// time is disconnected 1.5 times its keep-alive after the packet began.
func TestAttackSlowloris(t *testing.T) {
	_, addr := startServerTask(t, map[string]string{"mqtt.max.keepalive.seconds": "1"})
	c := dialRaw(t, addr, 5)
	ack := c.connect("slow", "", "")
	assert.Equal(t, uint16(1), ack.Properties.ServerKeepAlive, "the keep-alive asked (30 s) is capped")
	start := time.Now()
	pkt := []byte{0x30, 100}
	var err error
	for i := 0; err == nil && time.Since(start) < 10*time.Second; i++ {
		_, err = c.nc.Write(pkt[min(i, 1) : min(i, 1)+1])
		time.Sleep(100 * time.Millisecond)
	}
	require.Error(t, err)
	assert.Less(t, time.Since(start), 4*time.Second, "cut off 1.5 s after the packet began")
}

// TestKeepAliveTimeout: a connected client silent for 1.5 times its
// keep-alive is disconnected (v5: DISCONNECT 0x8D); one that pings stays.
func TestKeepAliveTimeout(t *testing.T) {
	_, addr := startServerTask(t, map[string]string{"mqtt.max.keepalive.seconds": "1"})
	pinger := dialRaw(t, addr, 4)
	pinger.connect("pinger", "", "")
	c := dialRaw(t, addr, 5)
	c.connect("quiet", "", "")
	start := time.Now()
	go func() {
		for range 6 {
			time.Sleep(400 * time.Millisecond)
			_, _ = pinger.nc.Write([]byte{packets.Pingreq << 4, 0})
		}
	}()
	pk := c.read(5 * time.Second)
	assert.Equal(t, packets.Disconnect, pk.FixedHeader.Type)
	assert.Equal(t, packets.ErrKeepAliveTimeout.Code, pk.ReasonCode)
	assert.InDelta(t, 1.5, time.Since(start).Seconds(), 0.5)
	time.Sleep(time.Second)
	for range 2 {
		pk := pinger.read(2 * time.Second)
		assert.Equal(t, packets.Pingresp, pk.FixedHeader.Type, "a client that pings is kept")
	}
}
