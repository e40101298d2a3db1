package httpsink

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// recordBody renders r's value as the part of a body it contributes:
// text, JSON or Aiven's mix, then Confluent's regex rewrites.
func (s *settings) recordBody(r *connect.Record) ([]byte, error) {
	var b []byte
	var err error
	switch s.body {
	case bodyString:
		switch v := r.Value.(type) {
		case string:
			b = []byte(v)
		case []byte:
			b = v
		default:
			b = javavalue.Append(nil, r.ValueSchema, r.Value)
		}
	case bodyJSON:
		b, err = s.jsonValue(r)
	case bodyAiven:
		switch v := r.Value.(type) {
		case string:
			b = []byte(v)
		case []byte:
			return nil, fmt.Errorf("%w: record value is bytes, which the Aiven HTTP sink does not send: use a string or JSON converter for the value", connect.ErrData)
		default:
			b, err = s.jsonValue(r)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: render value of %s-%d@%d as JSON: %w", connect.ErrData, r.Topic, r.Partition, r.Offset, err)
	}
	if len(s.rewrites) > 0 {
		text := string(b)
		topic, key := strings.ReplaceAll(r.Topic, "$", "$$"), strings.ReplaceAll(keyText(r), "$", "$$")
		for _, rw := range s.rewrites {
			repl := strings.ReplaceAll(strings.ReplaceAll(rw.repl, "${topic}", topic), "${key}", key)
			text = rw.re.ReplaceAllString(text, repl)
		}
		b = []byte(text)
	}
	return b, nil
}

// jsonValue renders r's value as JSON, as Kafka's JsonConverter with
// schemas.enable=false writes it: structs and maps as objects, bytes as
// base64, dates and timestamps as epoch numbers, decimals per the decimal
// format; a null value as null.
func (s *settings) jsonValue(r *connect.Record) ([]byte, error) {
	if r.Value == nil {
		return []byte("null"), nil
	}
	return s.json.FromConnect(r.Topic, r.Headers, r.ValueSchema, r.Value)
}
