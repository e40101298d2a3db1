package httpsource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/encoding/protowire"
)

// A body of many tiny events (1 MiB of `{}`, of empty OTLP LogRecords)
// decodes into tens or hundreds of times its size: the protocols count
// their events before or while decoding and refuse a request over
// max.events.per.request then, not once every event was built.

// tooManyEvents is the 413 of a request of more than limit events.
func tooManyEvents(limit int) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Msg: fmt.Sprintf("the request holds more than max.events.per.request (%d) events", limit)}
}

// protoCount counts the messages at path in the protobuf message b: path
// holds the field numbers of the nested messages down to the repeated
// field counted (OTLP's 1, 2, 2: resource_logs, scope_logs,
// log_records). It stops past limit, reporting over. A malformed message
// ends the count: the decoder reports it.
func protoCount(b []byte, path []protowire.Number, limit int) (n int, over bool) {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return n, false
		}
		b = b[l:]
		if num != path[0] || typ != protowire.BytesType {
			l = protowire.ConsumeFieldValue(num, typ, b)
			if l < 0 {
				return n, false
			}
			b = b[l:]
			continue
		}
		v, l := protowire.ConsumeBytes(b)
		if l < 0 {
			return n, false
		}
		b = b[l:]
		if len(path) == 1 {
			n++
		} else {
			m, _ := protoCount(v, path[1:], limit-n)
			n += m
		}
		if n > limit {
			return n, true
		}
	}
	return n, false
}

// jsonCount counts the elements of the arrays at path in the JSON
// document body: path holds the keys of the objects down to the array
// counted, each with its spellings (OTLP/JSON's resourceLogs or
// resource_logs), the arrays between walked element by element. It reads
// tokens, building nothing, and stops past limit, reporting over. A
// malformed document ends the count: the decoder reports it.
func jsonCount(body []byte, path [][]string, limit int) (n int, over bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	c := &jsonCounter{dec: dec, limit: limit}
	_ = c.object(path)
	return c.n, c.n > limit
}

// jsonCounter is the state of one jsonCount.
type jsonCounter struct {
	dec   *json.Decoder
	n     int
	limit int
}

// errStop ends a count: the limit was passed or the document is not
// what the path expects.
var errStop = fmt.Errorf("stop")

// object reads a value which, when an object, holds path's first key.
func (c *jsonCounter) object(path [][]string) error {
	tok, err := c.dec.Token()
	if err != nil {
		return errStop
	}
	if tok != json.Delim('{') {
		return c.skipRest(tok)
	}
	for c.dec.More() {
		key, err := c.dec.Token()
		if err != nil {
			return errStop
		}
		k, _ := key.(string)
		if !matches(path[0], k) {
			if err := c.skip(); err != nil {
				return err
			}
			continue
		}
		if err := c.array(path[1:]); err != nil {
			return err
		}
	}
	_, err = c.dec.Token() // }
	if err != nil {
		return errStop
	}
	return nil
}

// array reads a value which, when an array, holds the elements counted
// (path empty) or objects holding path's first key.
func (c *jsonCounter) array(path [][]string) error {
	tok, err := c.dec.Token()
	if err != nil {
		return errStop
	}
	if tok != json.Delim('[') {
		return c.skipRest(tok)
	}
	for c.dec.More() {
		if len(path) == 0 {
			c.n++
			if c.n > c.limit {
				return errStop
			}
			err = c.skip()
		} else {
			err = c.object(path)
		}
		if err != nil {
			return err
		}
	}
	if _, err = c.dec.Token(); err != nil { // ]
		return errStop
	}
	return nil
}

// skip reads one value.
func (c *jsonCounter) skip() error {
	tok, err := c.dec.Token()
	if err != nil {
		return errStop
	}
	return c.skipRest(tok)
}

// skipRest reads the rest of the value that began with tok.
func (c *jsonCounter) skipRest(tok json.Token) error {
	if tok != json.Delim('{') && tok != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := c.dec.Token()
		if err != nil {
			return errStop
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

func matches(names []string, k string) bool {
	for _, n := range names {
		if n == k {
			return true
		}
	}
	return false
}

// The paths to the events of each protocol, for protoCount and
// jsonCount. The field numbers are those of opentelemetry-proto's
// logs.proto (ExportLogsServiceRequest.resource_logs = 1,
// ResourceLogs.scope_logs = 2, ScopeLogs.log_records = 2) and Loki's
// push.proto (PushRequest.streams = 1, StreamAdapter.entries = 2).
var (
	otlpProtoPath = []protowire.Number{1, 2, 2}
	otlpJSONPath  = [][]string{{"resourceLogs", "resource_logs"}, {"scopeLogs", "scope_logs"}, {"logRecords", "log_records"}}
	lokiProtoPath = []protowire.Number{1, 2}
	lokiJSONPath  = [][]string{{"streams"}, {"values"}}
)
