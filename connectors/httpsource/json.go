package httpsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// routesJSON serves the generic JSON endpoint on json.paths: POST a JSON
// object (one event), a JSON array (one event per element) or NDJSON
// (one event per line, blank lines skipped), whatever the Content-Type.
// The answer is 200 {"accepted":N} once the broker has every event, or
// {"error":"…"} with the failure's status.
func routesJSON(mux *http.ServeMux, e endpoint) {
	h := func(w http.ResponseWriter, r *http.Request) { serveJSON(w, r, e) }
	for _, p := range e.Settings().JSONPaths {
		pattern := p
		if p == "/" {
			pattern = "/{$}" // / alone, not every path
		}
		mux.HandleFunc("POST "+pattern, h)
	}
}

func serveJSON(w http.ResponseWriter, r *http.Request, e endpoint) {
	if err := e.Authorize(r); err != nil {
		answerJSONError(w, err)
		return
	}
	body, err := e.Body(r)
	if err != nil {
		answerJSONError(w, err)
		return
	}
	// Counted before decoding: a body of tiny events would otherwise be
	// built whole (a 1 MiB body of {} takes ~45 MiB) before the limit
	// refuses it.
	if limit := e.Settings().MaxEvents; limit > 0 && jsonTooMany(body, limit) {
		answerJSONError(w, tooManyEvents(limit))
		return
	}
	events, err := parseJSONEvents(body, e.Settings().TimestampField)
	if err != nil {
		answerJSONError(w, err)
		return
	}
	if err := e.Deliver(r.Context(), r, ProtoGeneric, events); err != nil {
		answerJSONError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, `{"accepted":%d}`, len(events))
}

// answerJSONError writes err as {"error":"…"}: an *Error with its status
// and Retry-After, anything else as a 503 (never 500, which some
// shippers drop).
func answerJSONError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusServiceUnavailable, Msg: err.Error()}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	b, _ := json.Marshal(map[string]string{"error": e.Msg})
	_, _ = w.Write(b)
}

// parseJSONEvents reads a JSON object, a JSON array (one event per
// element) or NDJSON (one JSON value per line, one event each; blank
// lines are skipped). Anything malformed fails the whole body with a 400
// naming the line and the byte offset in it: nothing of it is delivered.
// An object already in the form the JsonConverter writes stays as it
// came, a connect.RawJSON (see decodeRaw).
func parseJSONEvents(body []byte, tsField string) ([]Event, error) {
	values, err := decodeRaw(body)
	if err != nil {
		return nil, err
	}
	if len(values) == 1 {
		if arr, ok := values[0].([]any); ok {
			values = arr
		}
	}
	events := make([]Event, len(values))
	for i, v := range values {
		events[i].Value = v
		if tsField == "" {
			continue
		}
		raw, ok := member(v, tsField)
		if !ok {
			continue
		}
		// A field that holds no time (another use of the name "date")
		// leaves the event the request's arrival time: refusing it would
		// make the shipper retry it forever.
		if t, err := parseTime(raw); err == nil {
			events[i].Time = t
		}
	}
	return events, nil
}

// member returns the top-level field name of an object event, decoded,
// whether it is a map or a connect.RawJSON.
func member(v any, name string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		f, ok := x[name]
		return f, ok
	case connect.RawJSON:
		// A RawJSON is the converter's canonical text, where a member
		// name without quotes, backslashes or control characters is
		// written as it is: absent from the bytes, it is not a member,
		// which a byte search tells faster than scanning the object.
		if plainName(name) && !bytes.Contains(x, quoted(name)) {
			return nil, false
		}
		return convert.JSONMember(x, name)
	}
	return nil, false
}

// plainName reports whether name is written in JSON as it is.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return false
		}
	}
	return true
}

// quoted returns name between double quotes.
func quoted(name string) []byte { return append(append([]byte{'"'}, name...), '"') }

// kafkaJSON parses JSON as Kafka's JsonConverter with schemas.enable=false
// reads it (and faster than encoding/json): objects as map[string]any,
// integers as int64 (beyond int64's range they wrap, as the Java
// converter's longValue does), other numbers as float64.
var kafkaJSON = func() *convert.JSONConverter {
	c := convert.NewJSONConverter()
	if err := c.Configure(map[string]string{"schemas.enable": "false"}, false); err != nil {
		panic(err)
	}
	return c
}()

// decodeRaw reads a body that is one JSON value, or NDJSON (one value
// per line, blank lines skipped). Each object stays undecoded: a
// connect.RawJSON holding the very bytes the JsonConverter would write
// for it (convert.AppendCanonicalJSON), which the worker writes as they
// are. The record is the same as when the object is decoded and encoded
// again, without the cost. Other values (arrays, strings…) are decoded.
func decodeRaw(body []byte) ([]any, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil
	}
	// The objects' rewritten bytes, one after the other; a RawJSON keeps
	// its part alive when buf grows.
	buf := make([]byte, 0, len(trimmed)+len(trimmed)/16+64)
	if out, ok := convert.AppendCanonicalJSON(buf, trimmed); ok {
		return []any{connect.RawJSON(out)}, nil
	}
	// A first line that is a whole object followed by more lines is
	// NDJSON: no need to try the body as one value.
	first, _, multi := bytes.Cut(trimmed, []byte("\n"))
	if _, ok := convert.AppendCanonicalJSON(buf, first); !multi || !ok {
		if _, v, err := kafkaJSON.ToConnect("", nil, trimmed); err == nil {
			return []any{v}, nil
		}
	}
	lines := splitLines(body)
	out := make([]any, 0, len(lines))
	for _, ln := range lines {
		n, line := ln.num, ln.text
		start := len(buf)
		var ok bool
		if buf, ok = convert.AppendCanonicalJSON(buf, line); ok {
			out = append(out, connect.RawJSON(buf[start:len(buf):len(buf)]))
			continue
		}
		_, v, err := kafkaJSON.ToConnect("", nil, line)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "Converting byte[] to Kafka Connect data failed due to serialization error: ")
			return nil, badJSON(fmt.Sprintf("line %d is not valid JSON: %s", n, msg))
		}
		out = append(out, v)
	}
	return out, nil
}

func badJSON(msg string) *Error { return &Error{Status: http.StatusBadRequest, Msg: msg} }

// parseTime reads an event time: a number of seconds (Fluent Bit's date,
// with a fraction), milliseconds or nanoseconds — told apart by magnitude:
// below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds,
// else nanoseconds — or an RFC 3339 string, or a string holding such a
// number.
func parseTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t, nil
		}
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		return time.Time{}, fmt.Errorf("%v is neither a number nor an RFC 3339 time", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return time.Time{}, fmt.Errorf("%q is neither a number nor an RFC 3339 time", s)
	}
	// Integers keep their precision through ParseInt.
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case i < 1e11:
			return time.Unix(i, 0), nil
		case i < 1e14:
			return time.UnixMilli(i), nil
		case i < 1e17:
			return time.UnixMicro(i), nil
		default:
			return time.Unix(0, i), nil
		}
	}
	switch {
	case f < 1e11:
		// A float64 of seconds holds about microseconds: rounding there
		// gives back the time the shipper wrote (1.053 stays .053000).
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3), nil
	case f < 1e14:
		return time.UnixMicro(int64(math.Round(f * 1e3))), nil
	case f < 1e17:
		return time.Unix(0, int64(math.Round(f*1e3))), nil
	case f < 9.2e18:
		return time.Unix(0, int64(f)), nil
	}
	return time.Time{}, fmt.Errorf("%s is out of range for a time", strings.TrimSpace(s))
}

// jsonTooMany reports whether a generic JSON body holds more than limit
// events, scanning its bytes without decoding: the elements of a body
// that is one array, else its non-blank lines (one event each).
func jsonTooMany(body []byte, limit int) bool {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' && !bytes.Contains(trimmed, []byte("\n[")) {
		_, over := jsonCount(trimmed, nil, limit)
		return over
	}
	if bytes.Count(trimmed, []byte("\n")) < limit {
		return false
	}
	n := 0
	for line := range bytes.Lines(trimmed) {
		if len(bytes.TrimSpace(line)) > 0 {
			if n++; n > limit {
				return true
			}
		}
	}
	return false
}
