package mqtt

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// maxTopicBytes is the longest MQTT topic name (a UTF-8 string with a
// 16-bit length).
const maxTopicBytes = 65535

// topicFormat is mqtt.topic.format parsed: literal text and placeholders,
// alternately (parts[0] is literal).
type topicFormat struct {
	parts []string // placeholders as "topic", "key" or "header.NAME"
}

func validTopicFormat(_ string, v any) string {
	s, _ := v.(string)
	if _, err := parseTopicFormat(s); err != nil {
		return err.Error()
	}
	return ""
}

// parseTopicFormat parses s, refusing unknown placeholders and literal
// text no MQTT topic name may hold.
func parseTopicFormat(s string) (*topicFormat, error) {
	if s == "" {
		return nil, fmt.Errorf("is empty: an MQTT topic name needs at least one character")
	}
	f := &topicFormat{}
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			f.parts = append(f.parts, rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("placeholder at %q is not closed with }", rest[i:])
		}
		name := rest[i+2 : i+j]
		if name != "topic" && name != "key" && !(strings.HasPrefix(name, "header.") && len(name) > len("header.")) {
			return nil, fmt.Errorf("unknown placeholder ${%s}: use ${topic}, ${key} or ${header.NAME}", name)
		}
		f.parts = append(f.parts, rest[:i], name)
		rest = rest[i+j+1:]
	}
	for i := 0; i < len(f.parts); i += 2 {
		if err := checkTopicText(f.parts[i]); err != nil {
			return nil, fmt.Errorf("text %q: %w", f.parts[i], err)
		}
	}
	return f, nil
}

// checkTopicText refuses what an MQTT topic name must not hold: the
// wildcards, NUL, text that is not UTF-8.
func checkTopicText(s string) error {
	if strings.ContainsAny(s, "+#\x00") {
		return fmt.Errorf("an MQTT topic name holds no wildcard (+ #) and no NUL")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("an MQTT topic name is UTF-8")
	}
	return nil
}

// render makes r's MQTT topic; an error names the record and what is
// missing or wrong.
func (f *topicFormat) render(r *connect.Record) (string, error) {
	if len(f.parts) == 1 {
		return f.parts[0], nil
	}
	var b strings.Builder
	for i, p := range f.parts {
		if i%2 == 0 {
			b.WriteString(p)
			continue
		}
		v, err := placeholder(r, p)
		if err != nil {
			return "", fmt.Errorf("%w: mqtt.topic.format for %s: %v", connect.ErrData, recordName(r), err)
		}
		b.WriteString(v)
	}
	t := b.String()
	switch err := checkTopicText(t); {
	case err != nil:
		return "", fmt.Errorf("%w: mqtt.topic.format for %s gives %q: %v", connect.ErrData, recordName(r), t, err)
	case t == "":
		return "", fmt.Errorf("%w: mqtt.topic.format for %s gives an empty MQTT topic", connect.ErrData, recordName(r))
	case len(t) > maxTopicBytes:
		return "", fmt.Errorf("%w: mqtt.topic.format for %s gives a topic of %d bytes; MQTT allows %d", connect.ErrData, recordName(r), len(t), maxTopicBytes)
	}
	return t, nil
}

func placeholder(r *connect.Record, p string) (string, error) {
	switch p {
	case "topic":
		return r.Topic, nil
	case "key":
		if r.Key == nil {
			return "", fmt.Errorf("${key}: the record key is null")
		}
		return text(r.KeySchema, r.Key), nil
	}
	name := strings.TrimPrefix(p, "header.")
	for i := len(r.Headers) - 1; i >= 0; i-- { // the last header of a name wins, as Kafka's lastHeader
		if h := r.Headers[i]; h.Key == name {
			if h.Value == nil {
				return "", fmt.Errorf("${%s}: header %s is null", p, name)
			}
			return text(h.Schema, h.Value), nil
		}
	}
	return "", fmt.Errorf("${%s}: the record has no header %s", p, name)
}

// text renders a key or header value as text: strings and bytes as they
// are, other values as Kafka Connect prints them.
func text(s *connect.Schema, v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return string(javavalue.Append(nil, s, v))
}

// payload makes r's value the message payload: bytes as they are, a
// string as UTF-8, anything else as schemaless JSON (Kafka's
// JsonConverter with schemas.enable=false). Confluent's sink takes bytes
// and strings only.
func (s *sinkSettings) payload(r *connect.Record) ([]byte, error) {
	switch v := r.Value.(type) {
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	b, err := s.json.FromConnect(r.Topic, r.Headers, r.ValueSchema, r.Value)
	if err != nil {
		return nil, fmt.Errorf("%w: value of %s as JSON: %w", connect.ErrData, recordName(r), err)
	}
	return b, nil
}

// recordName names a record in errors: topic-partition@offset, the
// position it was read at.
func recordName(r *connect.Record) string {
	tp, off := origin(r)
	return fmt.Sprintf("record %s-%d@%d", tp.Topic, tp.Partition, off)
}

// origin is where a sink record was read, before transforms.
func origin(r *connect.Record) (connect.TopicPartition, int64) {
	if r.OriginalTopic != "" {
		return connect.TopicPartition{Topic: r.OriginalTopic, Partition: r.OriginalPartition}, r.OriginalOffset
	}
	return connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}, r.Offset
}
