package mqtt

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

var serverSeq atomic.Int32

// startServer runs the MQTT server connector on a real worker and
// in-process broker, listening on a free port, and returns the worker,
// the listener's URL, the connector's name and its topic.
func startServer(t *testing.T, extra map[string]string) (*connecttest.Worker, string, string, string) {
	t.Helper()
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{ServerPlugin}, nil)
	name := fmt.Sprintf("mqtt-server-%d", serverSeq.Add(1))
	topic := name + "-readings"
	cfg := map[string]string{"listeners": "127.0.0.1:0", "kafka.topic": topic,
		"value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter"}
	maps.Copy(cfg, extra)
	w.Create(name, ServerPlugin.Class, cfg)
	return w, waitServerAddr(t, name, 0), name, topic
}

// waitServerAddr waits for task id of connector name to listen and
// returns its first listener's URL.
func waitServerAddr(t testing.TB, name string, id int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if a := kit.BoundAddrs(name, id); len(a) > 0 {
			return a[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s-%d does not listen after 20s", name, id)
	return ""
}

// hostPort returns the host:port of a listener URL.
func hostPort(url string) string { return url[strings.Index(url, "://")+3:] }

// rawClient speaks MQTT over a socket packet by packet, for the checks
// no client library allows (withheld reads, protocol breaches, floods).
type rawClient struct {
	t       testing.TB
	nc      net.Conn
	br      *bufio.Reader
	version byte
}

func dialRaw(t testing.TB, addr string, version byte) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, br: bufio.NewReader(nc), version: version}
}

// connect sends CONNECT (with user and password unless empty) and
// returns the CONNACK.
func (c *rawClient) connect(id, user, pass string) packets.Packet {
	c.t.Helper()
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: c.version}
	pk.Connect.ProtocolName = []byte("MQTT")
	if c.version == 3 {
		pk.Connect.ProtocolName = []byte("MQIsdp")
	}
	pk.Connect.ClientIdentifier, pk.Connect.Clean, pk.Connect.Keepalive = id, true, 30
	if user != "" {
		pk.Connect.Username, pk.Connect.UsernameFlag = []byte(user), true
		pk.Connect.Password, pk.Connect.PasswordFlag = []byte(pass), pass != ""
	}
	c.write(&pk)
	ack := c.read(5 * time.Second)
	require.Equal(c.t, packets.Connack, ack.FixedHeader.Type)
	return ack
}

// write encodes and sends pk.
func (c *rawClient) write(pk *packets.Packet) {
	c.t.Helper()
	var b bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&b)
	case packets.Publish:
		err = pk.PublishEncode(&b)
	case packets.Pubrel:
		err = pk.PubrelEncode(&b)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&b)
	case packets.Pingreq:
		err = pk.PingreqEncode(&b)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&b)
	}
	require.NoError(c.t, err)
	_, err = c.nc.Write(b.Bytes())
	require.NoError(c.t, err)
}

// publishPacket returns a PUBLISH of payload to topic.
func (c *rawClient) publishPacket(topic string, qos byte, id uint16, payload []byte) *packets.Packet {
	return &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos}, ProtocolVersion: c.version,
		TopicName: topic, PacketID: id, Payload: payload}
}

// read returns the next packet, failing the test after timeout.
func (c *rawClient) read(timeout time.Duration) packets.Packet {
	c.t.Helper()
	pk, err := c.tryRead(timeout)
	require.NoError(c.t, err)
	return pk
}

// tryRead returns the next packet or the error reading it.
func (c *rawClient) tryRead(timeout time.Duration) (packets.Packet, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	var pk packets.Packet
	b, err := c.br.ReadByte()
	if err != nil {
		return pk, err
	}
	if err := pk.FixedHeader.Decode(b); err != nil {
		return pk, err
	}
	n, _, err := packets.DecodeLength(c.br)
	if err != nil {
		return pk, err
	}
	pk.FixedHeader.Remaining = n
	pk.ProtocolVersion = c.version
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return pk, err
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	return pk, err
}
