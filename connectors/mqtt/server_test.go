package mqtt

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// mosquittoPub returns the path of mosquitto_pub, skipping the test
// without it (failing under SLUICE_REQUIRE_SERVERS=1).
func mosquittoPub(t *testing.T) string { return testenv.RequireBinary(t, "mosquitto_pub") }

// pub runs mosquitto_pub with args, sending lines one message each, and
// returns its combined output and error.
func pub(t *testing.T, addr string, lines []string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := strings.Cut(hostPort(addr), ":")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One message goes with -m: with -l, mosquitto_pub reconnects for
	// ever after a refused connection.
	base := []string{"-h", host, "-p", port, "-m", lines[0]}
	if len(lines) > 1 {
		base = []string{"-h", host, "-p", port, "-l"}
	}
	cmd := exec.CommandContext(ctx, mosquittoPub(t), append(base, args...)...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMosquittoPubAllVersionsAndQoS: mosquitto_pub publishes over 3.1.1
// and 5 at each QoS; every message is a record (key the MQTT topic, value
// the payload, headers its attributes), and a QoS 1 or 2 message is in
// the topic by the time mosquitto_pub has its acknowledgement and exits.
func TestMosquittoPubAllVersionsAndQoS(t *testing.T) {
	w, addr, name, topic := startServer(t, nil)
	st, err := w.TaskStatus(context.Background(), name, 0)
	require.NoError(t, err)
	assert.Equal(t, addr, st.Info["listeners"], "the task's status says where it listens")
	want := map[string]string{}
	for _, v := range []string{"mqttv311", "mqttv5"} {
		for _, q := range []string{"0", "1", "2"} {
			mt := fmt.Sprintf("sensors/%s/q%s", v, q)
			lines := []string{mt + " a", mt + " b", mt + " c"}
			args := []string{"-V", v, "-q", q, "-t", mt, "-i", "dev-" + v + "-" + q}
			if v == "mqttv5" {
				args = append(args, "-D", "publish", "user-property", "site", "north", "-D", "publish", "content-type", "text/plain")
			}
			out, err := pub(t, addr, lines, args...)
			require.NoError(t, err, out)
			for _, l := range lines {
				want[l] = mt + "|" + q
			}
			if q != "0" {
				// Acknowledged, so already in the topic.
				recs := connecttest.ConsumeAll(t, w.Broker, topic)
				var got []string
				for _, r := range recs {
					got = append(got, string(r.Value))
				}
				assert.Subset(t, got, lines, "%s QoS %s acknowledged before durable", v, q)
			}
		}
	}
	recs := connecttest.Consume(t, w.Broker, topic, len(want), 20*time.Second)
	require.Len(t, recs, len(want))
	for _, r := range recs {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		mt, q, _ := strings.Cut(want[string(r.Value)], "|")
		assert.Equal(t, `"`+mt+`"`, string(r.Key), "the MQTT topic, as the JSON key converter writes a string")
		assert.Equal(t, q, h[HeaderQoS], "record %s", r.Value)
		assert.Equal(t, "false", h[HeaderRetained])
		if strings.Contains(mt, "mqttv5") {
			assert.Equal(t, "north", h["site"], "v5 user property")
			assert.Equal(t, "text/plain", h[HeaderContentType])
		}
	}
}

// startTask runs a ServerTask directly, so the test decides when records
// are committed.
func startServerTask(t *testing.T, extra map[string]string) (*ServerTask, string) {
	t.Helper()
	cfg := map[string]string{"listeners": "127.0.0.1:0", "kafka.topic": "readings", "name": t.Name(), srvTaskIDKey: "0"}
	for k, v := range extra {
		cfg[k] = v
	}
	task := &ServerTask{}
	require.NoError(t, task.Start(connecttest.NewSourceContext(t, cfg), cfg))
	t.Cleanup(func() { _ = task.Stop() })
	return task, hostPort(task.Addrs()[0])
}

// pollN polls task until it has n records.
func pollN(t *testing.T, task *ServerTask, n int) []*connect.Record {
	t.Helper()
	var out []*connect.Record
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := task.Poll(ctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			require.NoError(t, err)
		}
		out = append(out, recs...)
	}
	require.Len(t, out, n)
	return out
}

// noPacket asserts that nothing arrives for d.
func noPacket(t *testing.T, c *rawClient, d time.Duration, why string) {
	t.Helper()
	pk, err := c.tryRead(d)
	require.Error(t, err, "%s: got packet type %d", why, pk.FixedHeader.Type)
}

// TestAckOnlyOnceDurable: PUBACK and PUBREC wait for the worker's commit
// of the record; a QoS 2 message resent before PUBREL is acknowledged
// again and written once; acks follow the receive order.
func TestAckOnlyOnceDurable(t *testing.T) {
	for _, v := range []byte{4, 5} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			task, addr := startServerTask(t, nil)
			c := dialRaw(t, addr, v)
			require.Equal(t, byte(0), c.connect("dev1", "", "").ReasonCode)

			c.write(c.publishPacket("a/b", 1, 7, []byte("one")))
			c.write(c.publishPacket("a/b", 1, 8, []byte("two")))
			recs := pollN(t, task, 2)
			noPacket(t, c, 300*time.Millisecond, "PUBACK before the record is committed")
			assert.Equal(t, "one", string(recs[0].Value.([]byte)))
			assert.Equal(t, "a/b", recs[0].Key)

			require.NoError(t, task.CommitRecord(recs[1]))
			noPacket(t, c, 200*time.Millisecond, "the second PUBACK before the first: acks go in receive order")
			require.NoError(t, task.CommitRecord(recs[0]))
			for _, id := range []uint16{7, 8} {
				pk := c.read(5 * time.Second)
				assert.Equal(t, packets.Puback, pk.FixedHeader.Type)
				assert.Equal(t, id, pk.PacketID)
			}

			// QoS 2: PUBREC after durable; a resend (DUP) is not written again.
			c.write(c.publishPacket("a/c", 2, 9, []byte("three")))
			rec := pollN(t, task, 1)[0]
			noPacket(t, c, 300*time.Millisecond, "PUBREC before the record is committed")
			dup := c.publishPacket("a/c", 2, 9, []byte("three"))
			dup.FixedHeader.Dup = true
			c.write(dup)
			require.NoError(t, task.CommitRecord(rec))
			for range 2 {
				pk := c.read(5 * time.Second)
				assert.Equal(t, packets.Pubrec, pk.FixedHeader.Type)
				assert.Equal(t, uint16(9), pk.PacketID)
			}
			c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pubrel, Qos: 1}, ProtocolVersion: v, PacketID: 9})
			pk := c.read(5 * time.Second)
			assert.Equal(t, packets.Pubcomp, pk.FixedHeader.Type)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			more, _ := task.Poll(ctx)
			cancel()
			assert.Empty(t, more, "the resent QoS 2 message is written once")

			// Released, the id is new again: a later message with it is written.
			c.write(c.publishPacket("a/c", 2, 9, []byte("four")))
			assert.Equal(t, "four", string(pollN(t, task, 1)[0].Value.([]byte)))
		})
	}
}

// TestQoS1ResentAfterReconnect: a QoS 1 message a client resends (DUP) on
// a new connection, its first never acknowledged, is written again and
// marked a duplicate.
func TestQoS1ResentAfterReconnect(t *testing.T) {
	task, addr := startServerTask(t, nil)
	c := dialRaw(t, addr, 4)
	c.connect("dev1", "", "")
	c.write(c.publishPacket("a", 1, 1, []byte("x")))
	first := pollN(t, task, 1)[0]
	c.nc.Close()

	c = dialRaw(t, addr, 4)
	c.connect("dev1", "", "")
	dup := c.publishPacket("a", 1, 1, []byte("x"))
	dup.FixedHeader.Dup = true
	c.write(dup)
	second := pollN(t, task, 1)[0]
	require.NoError(t, task.CommitRecord(first))
	require.NoError(t, task.CommitRecord(second))
	pk := c.read(5 * time.Second)
	assert.Equal(t, packets.Puback, pk.FixedHeader.Type)
	assert.Equal(t, false, first.Headers[3].Value)
	assert.Equal(t, HeaderDuplicate, second.Headers[3].Key)
	assert.Equal(t, true, second.Headers[3].Value, "reported as a duplicate")
	assert.Equal(t, map[string]string{"listeners": "mqtt://" + addr, "clients": "1", "duplicates": "1"}, task.Info(), "and counted in the status")
}

// TestCredentials: with mqtt.credentials set, a wrong password and a
// missing user are refused with the reason codes of each version;
// mosquitto_pub says why.
func TestCredentials(t *testing.T) {
	w, url, _, topic := startServer(t, map[string]string{"mqtt.credentials": "dev:s3cret, other:pw"})
	addr := hostPort(url)
	for _, tc := range []struct {
		version    byte
		user, pass string
		code       byte
	}{
		{5, "dev", "wrong", 0x86}, {5, "nobody", "s3cret", 0x86}, {5, "", "", 0x87}, {5, "dev", "s3cret", 0},
		{4, "dev", "wrong", 0x04}, {4, "", "", 0x05}, {4, "other", "pw", 0}, {3, "dev", "s3cret", 0},
	} {
		c := dialRaw(t, addr, tc.version)
		ack := c.connect("c", tc.user, tc.pass)
		assert.Equal(t, tc.code, ack.ReasonCode, "v%d %s/%s", tc.version, tc.user, tc.pass)
	}
	out, err := pub(t, "mqtt://"+addr, []string{"x"}, "-t", "t", "-u", "dev", "-P", "nope", "-q", "1")
	require.Error(t, err)
	assert.Contains(t, out, "bad user name or password")
	out, err = pub(t, url, []string{"x"}, "-t", "t", "-u", "dev", "-P", "s3cret", "-q", "1", "-V", "mqttv5")
	require.NoError(t, err, out)
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 1, "only the authenticated client's message")
}

// TestUnsupported: an unknown protocol level gets CONNACK 0x01; SUBSCRIBE
// gets failure codes (v5: 0x9E for a shared subscription, 0x80 else);
// the v5 CONNACK says what the server offers.
func TestUnsupported(t *testing.T) {
	_, addr := startServerTask(t, map[string]string{"mqtt.receive.maximum": "100", "mqtt.max.packet.size": "5000"})
	c := dialRaw(t, addr, 6)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 6}
	pk.Connect.ProtocolName, pk.Connect.ClientIdentifier = []byte("MQTT"), "x"
	c.write(&pk)
	c.version = 4
	ack := c.read(5 * time.Second)
	assert.Equal(t, packets.Connack, ack.FixedHeader.Type)
	assert.Equal(t, byte(0x01), ack.ReasonCode, "unacceptable protocol version")

	c = dialRaw(t, addr, 5)
	ack = c.connect("x", "", "")
	assert.Equal(t, uint16(100), ack.Properties.ReceiveMaximum)
	assert.Equal(t, uint32(5000), ack.Properties.MaximumPacketSize)
	assert.True(t, ack.Properties.WildcardSubAvailableFlag)
	assert.Equal(t, uint16(topicAliasMax), ack.Properties.TopicAliasMaximum)
	c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 5, PacketID: 3,
		Filters: packets.Subscriptions{{Filter: "a/#"}, {Filter: "$share/g/b"}}})
	sub := c.read(5 * time.Second)
	assert.Equal(t, packets.Suback, sub.FixedHeader.Type)
	assert.Equal(t, []byte{0x80, 0x9E}, sub.ReasonCodes)

	c = dialRaw(t, addr, 4)
	c.connect("y", "", "")
	c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 4, PacketID: 3,
		Filters: packets.Subscriptions{{Filter: "a/#"}}})
	sub = c.read(5 * time.Second)
	assert.Equal(t, []byte{0x80}, sub.ReasonCodes)
	c.write(&packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}})
	assert.Equal(t, packets.Pingresp, c.read(5*time.Second).FixedHeader.Type)
}

// TestTopicTemplateAndAliases: kafka.topic as a template routes by MQTT
// topic level; a v5 topic alias stands for the topic it was set with.
func TestTopicTemplateAndAliases(t *testing.T) {
	task, addr := startServerTask(t, map[string]string{"kafka.topic": "iot.${topic[1]}"})
	c := dialRaw(t, addr, 5)
	c.connect("x", "", "")
	p := c.publishPacket("site/boiler/temp", 0, 0, []byte("1"))
	p.Properties.TopicAlias, p.Properties.TopicAliasFlag = 3, true
	c.write(p)
	p = c.publishPacket("", 0, 0, []byte("2"))
	p.Properties.TopicAlias, p.Properties.TopicAliasFlag = 3, true
	c.write(p)
	c.write(c.publishPacket("site/pump", 0, 0, []byte("3")))
	recs := pollN(t, task, 3)
	assert.Equal(t, []string{"iot.boiler", "iot.boiler", "iot.pump"}, []string{recs[0].Topic, recs[1].Topic, recs[2].Topic})
	assert.Equal(t, "site/boiler/temp", recs[1].Key, "the alias's topic")
}
