package mqtt

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// What the server offers a v5 client in its CONNACK: Receive Maximum and
// Maximum Packet Size from the keys, 64 topic aliases, no wildcard,
// shared or identified subscriptions (it forwards nothing), and no
// session beyond the connection (Session Expiry Interval 0, Session
// Present 0).

// connect reads and answers the CONNECT.
func (c *mqttConn) connect() error {
	fh, body, err := c.readPacket(min(preConnectMaxPacket, c.s.c.maxPacket))
	if err != nil {
		return err
	}
	if fh.Type != packets.Connect {
		return fmt.Errorf("first packet is of type %d, not CONNECT", fh.Type)
	}
	version, ok := connectVersion(body)
	if !ok {
		// An unknown protocol level is answered in 3.1.1's form, which
		// every client reads (as Mosquitto does).
		c.writeNow([]byte{packets.Connack << 4, 2, 0, 0x01})
		return fmt.Errorf("unsupported protocol version %d", version)
	}
	c.version = version
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: version}
	if err := pk.ConnectDecode(body); err != nil {
		c.refuse(packets.ErrMalformedPacket, 0x02)
		return fmt.Errorf("malformed CONNECT: %v", err)
	}
	if code := pk.ConnectValidate(); code != packets.CodeSuccess {
		c.refuse(code, 0x02)
		return fmt.Errorf("invalid CONNECT: %v", code)
	}
	if version == 5 && pk.Properties.AuthenticationMethod != "" {
		c.refuse(packets.ErrBadAuthenticationMethod, 0x04)
		return fmt.Errorf("authentication method %q is not supported", pk.Properties.AuthenticationMethod)
	}
	if code, v3 := c.authenticate(&pk); code != packets.CodeSuccess {
		c.refuse(code, v3)
		return fmt.Errorf("client %q, user %q: %s", pk.Connect.ClientIdentifier, pk.Connect.Username, code.Reason)
	}
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: version}
	c.clientID = pk.Connect.ClientIdentifier
	if c.clientID == "" {
		if version != 5 && !pk.Connect.Clean {
			c.refuse(packets.ErrClientIdentifierNotValid, 0x02)
			return errors.New("an empty client id needs a clean session")
		}
		c.clientID = fmt.Sprintf("sluice-%p-%d", c, time.Now().UnixNano())
		ack.Properties.AssignedClientID = c.clientID
	}
	ka := int(pk.Connect.Keepalive)
	if ka == 0 || ka > c.s.c.maxKeepAlive {
		ka = c.s.c.maxKeepAlive
		if version == 5 {
			ack.Properties.ServerKeepAlive, ack.Properties.ServerKeepAliveFlag = uint16(ka), true
		}
	}
	c.keepAlive = time.Duration(ka) * time.Second
	if version == 5 {
		p := &ack.Properties
		p.ReceiveMaximum = uint16(c.s.c.receiveMax)
		p.MaximumPacketSize = uint32(c.s.c.maxPacket)
		p.TopicAliasMaximum = topicAliasMax
		p.WildcardSubAvailable, p.WildcardSubAvailableFlag = 0, true
		p.SubIDAvailable, p.SubIDAvailableFlag = 0, true
		p.SharedSubAvailable, p.SharedSubAvailableFlag = 0, true
		if pk.Properties.SessionExpiryInterval > 0 {
			// Sessions end with their connection: the server keeps no
			// state a client could resume.
			p.SessionExpiryInterval, p.SessionExpiryIntervalFlag = 0, true
		}
		c.aliases = map[uint16]string{}
	}
	var b bytes.Buffer
	_ = ack.ConnackEncode(&b)
	if err := c.writeNow(b.Bytes()); err != nil {
		return err
	}
	c.connected.Store(true)
	c.s.register(c)
	c.s.log.Debug("MQTT client connected", "client", c.clientID, "version", version, "remote", c.nc.RemoteAddr().String())
	return nil
}

// connectVersion reads the protocol level of a CONNECT body: 3 for
// MQIsdp (3.1), 4 and 5 for MQTT; ok is false for anything else.
func connectVersion(body []byte) (byte, bool) {
	if len(body) < 2 {
		return 0, false
	}
	n := int(body[0])<<8 | int(body[1])
	if len(body) < 3+n {
		return 0, false
	}
	name, v := string(body[2:2+n]), body[2+n]
	return v, name == "MQTT" && (v == 4 || v == 5) || name == "MQIsdp" && v == 3
}

// authenticate checks mqtt.credentials; it returns the v5 reason code
// and the v3.1.1 return code of a refusal.
func (c *mqttConn) authenticate(pk *packets.Packet) (packets.Code, byte) {
	creds := c.s.c.credentials
	if creds == nil {
		return packets.CodeSuccess, 0
	}
	if !pk.Connect.UsernameFlag {
		return packets.ErrNotAuthorized, 0x05
	}
	want, ok := creds[string(pk.Connect.Username)]
	if !ok {
		want = "\x00no such user" // compared all the same, in constant time
	}
	if subtle.ConstantTimeCompare([]byte(want), pk.Connect.Password) != 1 || !ok {
		return packets.ErrBadUsernameOrPassword, 0x04
	}
	return packets.CodeSuccess, 0
}

// refuse answers a CONNECT with a failure: code for v5, v3 (a 3.1.1
// return code) otherwise.
func (c *mqttConn) refuse(code packets.Code, v3 byte) {
	if c.version != 5 {
		c.writeNow([]byte{packets.Connack << 4, 2, 0, v3})
		return
	}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 5, ReasonCode: code.Code}
	var b bytes.Buffer
	_ = pk.ConnackEncode(&b)
	c.writeNow(b.Bytes())
}

// writeNow writes b before the writer runs, bounded by the write timeout.
func (c *mqttConn) writeNow(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.c.writeTimeout))
	_, err := c.nc.Write(b)
	return err
}
