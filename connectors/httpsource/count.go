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
// ends the count: the decoder reports it. n is 0 when b is too short to
// hold more than limit items.
func protoCount(b []byte, path []protowire.Number, limit int) (n int, over bool) {
	if len(b) <= 2*limit {
		return 0, false // an item takes 2 bytes at least (tag, length): no need to count
	}
	return protoCountAll(b, path, limit)
}

// protoCountAll is protoCount without its shortcut.
func protoCountAll(b []byte, path []protowire.Number, limit int) (n int, over bool) {
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
			m, _ := protoCountAll(v, path[1:], limit-n)
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
// resource_logs), the arrays between walked element by element; with no
// path, the document is the array counted. It
// scans the bytes, building nothing, and stops past limit, reporting
// over. It does not validate: a malformed document is counted as far as
// it goes, and the decoder reports it. n is 0 when the body is too short
// to hold more than limit elements.
func jsonCount(body []byte, path [][]string, limit int) (n int, over bool) {
	if len(body) <= 2*limit {
		return 0, false // an element takes 2 bytes at least ("1,"): no need to count
	}
	// A frame is an open object or array. on: it lies on path, k path
	// keys matched above it (an object looks for path[k]; an array's
	// elements are counted when k is len(path), else are the objects
	// looking for path[k]).
	type frame struct {
		obj, on bool
		k       int
		want    bool // an object expects a key; an array, an element
		matched bool // an object's last key is path[k]
	}
	stack := []frame{{want: true, on: true}} // a sentinel array holding the document
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		top := &stack[len(stack)-1]
		if top.obj {
			switch c {
			case '"':
				end := jsonStringEnd(body, i)
				if top.want && top.on {
					top.matched = jsonKeyIs(body[i:end], path[top.k])
				}
				top.want = false
				i = end - 1
			case ',':
				top.want, top.matched = true, false
			case '}':
				stack = stack[:len(stack)-1]
			case '{', '[':
				child := frame{obj: c == '{', want: true}
				if c == '[' && top.on && top.matched {
					child.on, child.k = true, top.k+1
				}
				stack = append(stack, child)
			case ':':
			default: // a scalar value: read to its end
				i = jsonScalarEnd(body, i) - 1
			}
			continue
		}
		// An array (or the document's sentinel).
		switch c {
		case ',':
			top.want = true
			continue
		case ']':
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		root := len(stack) == 1
		if top.want && top.on && !root && top.k == len(path) {
			n++
			if n > limit {
				return n, true
			}
		}
		top.want = false
		switch c {
		case '"':
			i = jsonStringEnd(body, i) - 1
		case '{', '[':
			child := frame{obj: c == '{', want: true}
			switch {
			case root && c == '[' && len(path) == 0:
				child.on = true // the document is the array counted
			case c == '{' && top.on && top.k < len(path):
				child.on, child.k = true, top.k
			}
			stack = append(stack, child)
		default:
			i = jsonScalarEnd(body, i) - 1
		}
	}
	return n, false
}

// jsonStringEnd returns the index after the string starting at b[i]
// (a quote), or len(b) when it does not end.
func jsonStringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return len(b)
		}
		j += q
		esc := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			esc++
		}
		if esc%2 == 0 {
			return j + 1
		}
		j++
	}
	return len(b)
}

// jsonScalarEnd returns the index after the number or literal starting
// at b[i].
func jsonScalarEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', ']', '}', ':', '"', '{', '[', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// jsonKeyIs reports whether the quoted key raw is one of names, decoding
// it when it holds escapes.
func jsonKeyIs(raw []byte, names []string) bool {
	if len(raw) < 2 {
		return false
	}
	k := string(raw[1 : len(raw)-1])
	if bytes.IndexByte(raw, '\\') >= 0 {
		if json.Unmarshal(raw, &k) != nil {
			return false
		}
	}
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
