package mqtt

import (
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// The headers every record carries, Confluent's names (§6.1).
const (
	HeaderMessageID = "mqtt.message.id"
	HeaderQoS       = "mqtt.qos"
	HeaderRetained  = "mqtt.retained"
	HeaderDuplicate = "mqtt.duplicate"
	// HeaderContentType is an MQTT v5 message's Content Type property
	// (a name of Sluice's: Confluent's connector speaks v3.1.1 only).
	HeaderContentType = "mqtt.content.type"
)

// Message is one MQTT PUBLISH as the source and the built-in server hand
// it on: what becomes a record.
type Message struct {
	Topic     string
	Payload   []byte
	QoS       byte
	Retained  bool
	Duplicate bool
	PacketID  uint16
	// ContentType and UserProperties are MQTT v5 properties; nil and
	// empty for v3.1.1.
	ContentType    string
	UserProperties [][2]string
}

// record makes m a source record as Confluent's MQTT source does: the
// MQTT topic as a string key, the payload as bytes (null for an empty
// payload is not Confluent's: an empty payload stays an empty byte
// array), the message's attributes as headers, and the receipt time as
// the timestamp. v5 user properties become headers of their own names
// (as HiveMQ's Kafka extension maps them), after the mqtt.* ones. The
// partition is left to the producer, which hashes the key: one MQTT
// topic keeps its order in one partition.
func (m *Message) record(topic string, now time.Time) *connect.Record {
	r := connect.NewSourceRecord(nil, nil, topic, connect.StringSchema, m.Topic, connect.BytesSchema, m.Payload)
	r.Timestamp = now
	r.Headers = make(connect.Headers, 0, 4+len(m.UserProperties)+1)
	r.Headers = append(r.Headers,
		connect.Header{Key: HeaderMessageID, Schema: connect.Int32Schema, Value: int32(m.PacketID)},
		connect.Header{Key: HeaderQoS, Schema: connect.Int32Schema, Value: int32(m.QoS)},
		connect.Header{Key: HeaderRetained, Schema: connect.BooleanSchema, Value: m.Retained},
		connect.Header{Key: HeaderDuplicate, Schema: connect.BooleanSchema, Value: m.Duplicate})
	if m.ContentType != "" {
		r.Headers = append(r.Headers, connect.Header{Key: HeaderContentType, Schema: connect.StringSchema, Value: m.ContentType})
	}
	for _, p := range m.UserProperties {
		r.Headers = append(r.Headers, connect.Header{Key: p[0], Schema: connect.StringSchema, Value: p[1]})
	}
	return r
}

// topicMapper picks the Kafka topic of an MQTT topic from kafka.topic:
// a fixed name (Confluent's meaning), or a template in which ${topic}
// stands for the whole MQTT topic and ${topic[N]} for its Nth level
// (from 0). A templated result has its leading and trailing / dropped,
// the remaining / made ".", and is made legal by kit.LegalTopic
// (a Sluice extension: Confluent sends everything to one topic, §6.7.4).
type topicMapper struct {
	fixed string
	parts []templatePart // nil when fixed
}

type templatePart struct {
	lit   string
	level int // -1: the whole topic; -2: a literal
}

func newTopicMapper(format string) topicMapper {
	if !strings.Contains(format, "${") {
		return topicMapper{fixed: format}
	}
	var parts []templatePart
	rest := format
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		if i > 0 {
			parts = append(parts, templatePart{lit: rest[:i], level: -2})
		}
		name := rest[i+2 : i+j]
		switch {
		case name == "topic":
			parts = append(parts, templatePart{level: -1})
		case strings.HasPrefix(name, "topic[") && strings.HasSuffix(name, "]"):
			n := 0
			for _, c := range name[len("topic[") : len(name)-1] {
				if c < '0' || c > '9' || n > 1000 {
					n = -3
					break
				}
				n = n*10 + int(c-'0')
			}
			if n < 0 || len(name) == len("topic[]") {
				parts = append(parts, templatePart{lit: rest[i : i+j+1], level: -2})
			} else {
				parts = append(parts, templatePart{level: n})
			}
		default:
			parts = append(parts, templatePart{lit: rest[i : i+j+1], level: -2})
		}
		rest = rest[i+j+1:]
	}
	if rest != "" {
		parts = append(parts, templatePart{lit: rest, level: -2})
	}
	return topicMapper{parts: parts}
}

// validTemplate reports what is wrong with a kafka.topic value, or "".
func validTemplate(format string) string {
	m := newTopicMapper(format)
	if m.parts == nil {
		if kit.LegalTopic(format) != format {
			return "\"" + format + "\" is not a legal topic name (only [a-zA-Z0-9._-], at most 249 characters) nor a template with ${topic} or ${topic[N]}"
		}
		return ""
	}
	for _, p := range m.parts {
		if p.level == -2 && strings.Contains(p.lit, "${") {
			return "unknown placeholder in \"" + format + "\": only ${topic} and ${topic[N]} are known"
		}
	}
	return ""
}

// kafkaTopic returns the Kafka topic of MQTT topic t.
func (m topicMapper) kafkaTopic(t string) string {
	if m.parts == nil {
		return m.fixed
	}
	var b strings.Builder
	var levels []string
	for _, p := range m.parts {
		switch {
		case p.level == -2:
			b.WriteString(p.lit)
		case p.level == -1:
			b.WriteString(strings.ReplaceAll(strings.Trim(t, "/"), "/", "."))
		default:
			if levels == nil {
				levels = strings.Split(t, "/")
			}
			if p.level < len(levels) {
				b.WriteString(levels[p.level])
			}
		}
	}
	return kit.LegalTopic(b.String())
}
