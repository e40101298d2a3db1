package httpsource

// Loki push, as Grafana Loki's distributor takes it (pkg/loghttp/push):
//
//	POST /loki/api/v1/push
//	  Content-Type: application/json      {"streams":[{"stream":{labels},
//	                                        "values":[["<unix ns>","line",{metadata}?]]}]}
//	  anything else (application/x-protobuf, none): a snappy block of a
//	                                        logproto.PushRequest
//	  Content-Encoding: gzip, deflate, zstd (any body); snappy (Vector sets
//	                                        it on its snappy protobuf body)
//	GET /ready                            200 "ready"
//
// Success is 204 No Content, Loki's own. Errors are plain text, as Loki
// writes them: 400 for malformed data naming the stream and entry (no
// shipper retries a 400), 401/403 for credentials, 413 past the size
// limit, 429/503 with Retry-After when delivery is busy.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// routesLoki registers the Loki push API on mux.
func routesLoki(mux *http.ServeMux, e endpoint) {
	mux.HandleFunc("POST /loki/api/v1/push", func(w http.ResponseWriter, r *http.Request) {
		lokiPush(w, r, e)
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ready\n")
	})
}

// lokiPush serves one push request: every entry of every stream becomes
// one event, delivered together.
func lokiPush(w http.ResponseWriter, r *http.Request, e endpoint) {
	if err := e.Authorize(r); err != nil {
		lokiFail(w, err)
		return
	}
	body, err := e.Body(r)
	if err != nil {
		lokiFail(w, err)
		return
	}
	streams, err := lokiDecode(r, e, body)
	if err != nil {
		lokiFail(w, err)
		return
	}
	events, err := lokiEvents(streams)
	if err != nil {
		lokiFail(w, err)
		return
	}
	if len(events) > 0 {
		if err := e.Deliver(r.Context(), r, ProtoLoki, events); err != nil {
			lokiFail(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// lokiDecode decodes a push body by its Content-Type: JSON for
// application/json, otherwise the snappy-compressed protobuf, as Loki
// does. The protobuf body is a snappy block whether or not the client
// says so: with Content-Encoding: snappy (Vector) Body decoded it
// already; without (Promtail, Alloy, winston-loki) it is decoded here,
// within the same limit.
func lokiDecode(r *http.Request, e endpoint, body []byte) ([]lokiStream, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	max := e.Settings().MaxEvents
	if ct == "application/json" {
		if _, over := jsonCount(body, lokiJSONPath, max); max > 0 && over {
			return nil, tooManyEvents(max)
		}
		streams, err := decodeLokiJSON(body)
		if err != nil {
			return nil, lokiBad("the JSON push body: %v", err)
		}
		return streams, nil
	}
	if len(body) == 0 {
		return nil, nil
	}
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "snappy") {
		// Decode through Body, so the limit and its 413 are the server's.
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		r2.Header.Set("Content-Encoding", "snappy")
		var err error
		if body, err = e.Body(r2); err != nil {
			if he := lokiAsError(err); he.Status == http.StatusBadRequest {
				return nil, lokiBad("the protobuf push body is not a snappy block (%s); send Content-Type: application/json for JSON", he.Msg)
			}
			return nil, err
		}
	}
	if _, over := protoCount(body, lokiProtoPath, max); max > 0 && over {
		return nil, tooManyEvents(max)
	}
	streams, err := decodeLokiProto(body)
	if err != nil {
		return nil, lokiBad("the protobuf push body: %v", err)
	}
	return streams, nil
}

// lokiEvents turns streams into events, checking labels as Loki does.
func lokiEvents(streams []lokiStream) ([]Event, error) {
	var events []Event
	for i := range streams {
		s := &streams[i]
		if len(s.entries) == 0 {
			// Loki's distributor skips a stream without entries before
			// it looks at the labels.
			continue
		}
		if s.fields == nil && s.labels != "" {
			f, err := parseLokiLabels(s.labels)
			if err != nil {
				return nil, lokiBad("stream %d: error parsing labels: %v", i, err)
			}
			s.fields = f
		}
		if len(s.fields) == 0 {
			// Loki's own message (validation.MissingLabelsErrorMsg).
			return nil, lokiBad("stream %d: error at least one label pair is required per stream", i)
		}
		// The stream's fields are made once and shared by its entries
		// without structured metadata: a copy per entry would take labels
		// × entries of memory.
		shared := make([]Field, 0, len(s.fields))
		for _, f := range s.fields {
			shared = append(shared, Field{Name: "labels." + f.Name, Value: f.Value})
		}
		shared = shared[:len(shared):len(shared)]
		for j, en := range s.entries {
			meta := shared
			if len(en.metadata) > 0 {
				meta = append(make([]Field, 0, len(shared)+len(en.metadata)), shared...)
			}
			for _, f := range en.metadata {
				if f.Name == "" {
					return nil, lokiBad("stream %d %s, entry %d: structured metadata has an empty name", i, lokiLabelString(s.fields), j)
				}
				meta = append(meta, Field{Name: "metadata." + f.Name, Value: f.Value})
			}
			events = append(events, Event{Value: en.line, Time: en.ts, Meta: meta})
		}
	}
	return events, nil
}

// lokiLabelString prints labels back in Loki's syntax for messages.
func lokiLabelString(fields []Field) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(f.Value))
	}
	b.WriteByte('}')
	return b.String()
}

// decodeLokiJSON decodes a JSON push:
// {"streams":[{"stream":{...},"values":[["ns","line",{...}?],...]}]}.
func decodeLokiJSON(body []byte) ([]lokiStream, error) {
	var req struct {
		Streams []json.RawMessage `json:"streams"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	streams := make([]lokiStream, 0, len(req.Streams))
	for i, raw := range req.Streams {
		var js struct {
			Stream map[string]json.RawMessage `json:"stream"`
			Values []json.RawMessage          `json:"values"`
		}
		if err := json.Unmarshal(raw, &js); err != nil {
			return nil, fmt.Errorf("stream %d: %w", i, err)
		}
		labels, err := lokiStringMap(js.Stream)
		if err != nil {
			return nil, fmt.Errorf("stream %d: label %w", i, err)
		}
		s := lokiStream{fields: labels}
		if s.fields == nil {
			s.fields = []Field{}
		}
		for j, v := range js.Values {
			en, err := decodeLokiJSONEntry(v)
			if err != nil {
				return nil, fmt.Errorf("stream %d %s, entry %d: %w", i, lokiLabelString(labels), j, err)
			}
			s.entries = append(s.entries, en)
		}
		streams = append(streams, s)
	}
	return streams, nil
}

// decodeLokiJSONEntry decodes ["<unix ns>", "line", {metadata}?]; the
// timestamp may also be a JSON integer.
func decodeLokiJSONEntry(raw json.RawMessage) (lokiEntry, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return lokiEntry{}, fmt.Errorf("not an array [timestamp, line, metadata?]: %w", err)
	}
	if len(parts) < 2 || len(parts) > 3 {
		return lokiEntry{}, fmt.Errorf("has %d elements, want [timestamp, line] or [timestamp, line, metadata]", len(parts))
	}
	var en lokiEntry
	ts, err := lokiJSONTime(parts[0])
	if err != nil {
		return en, err
	}
	en.ts = ts
	if err := json.Unmarshal(parts[1], &en.line); err != nil {
		return en, fmt.Errorf("the line is not a string: %s", lokiSnip(parts[1]))
	}
	if len(parts) == 3 && string(parts[2]) != "null" {
		var md map[string]json.RawMessage
		if err := json.Unmarshal(parts[2], &md); err != nil {
			return en, fmt.Errorf("structured metadata is not an object: %s", lokiSnip(parts[2]))
		}
		if en.metadata, err = lokiStringMap(md); err != nil {
			return en, fmt.Errorf("structured metadata %w", err)
		}
	}
	return en, nil
}

// lokiJSONTime reads a timestamp in Unix nanoseconds, as a decimal
// string (the protocol) or a JSON integer; 0 is no timestamp.
func lokiJSONTime(raw json.RawMessage) (time.Time, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return time.Time{}, fmt.Errorf("the timestamp %s is not a string of Unix nanoseconds", lokiSnip(raw))
		}
		s = n.String()
	}
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ns < 0 {
		return time.Time{}, fmt.Errorf("the timestamp %q is not a non-negative integer of Unix nanoseconds", s)
	}
	if ns == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, ns).UTC(), nil
}

// lokiStringMap turns a JSON object of strings into fields sorted by
// name; a value that is not a string is an error naming it.
func lokiStringMap(m map[string]json.RawMessage) ([]Field, error) {
	out := make([]Field, 0, len(m))
	for k, raw := range m {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%q is not a string: %s", k, lokiSnip(raw))
		}
		if k == "" {
			return nil, fmt.Errorf("with an empty name")
		}
		out = append(out, Field{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// lokiSnip shortens a JSON value for an error message.
func lokiSnip(raw json.RawMessage) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}

func lokiBad(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// lokiFail answers err as Loki does: its status and the message as
// plain text; Retry-After on 429 and 503. An error that is not an
// *Error (none should be) is a 503, never a 500 that shippers drop.
func lokiFail(w http.ResponseWriter, err error) {
	e := lokiAsError(err)
	lokiRetryAfter(w, e)
	http.Error(w, e.Msg, e.Status)
}

// lokiAsError returns err's *Error, or a 503 carrying its message.
func lokiAsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) && e.Status >= 400 {
		return e
	}
	return &Error{Status: http.StatusServiceUnavailable, Msg: err.Error(), RetryAfter: time.Second}
}

// lokiRetryAfter sets Retry-After, in whole seconds rounded up, on a 429
// or 503; without one from the error it says 1.
func lokiRetryAfter(w http.ResponseWriter, e *Error) {
	if e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable {
		return
	}
	secs := int64(math.Ceil(e.RetryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
}
