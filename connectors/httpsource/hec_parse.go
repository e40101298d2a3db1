package httpsource

// HEC request bodies.
//
// /event: JSON objects one after another, whitespace between or none:
//
//	{"time":1714557600.5,"host":"web1","sourcetype":"access","event":"GET /"}{"event":{"a":1}}
//
// Each object's event becomes Event.Value; time (epoch seconds, a
// number or a numeric string) Event.Time; host, source, sourcetype and
// index, when set, the metadata fields of those names, else the query
// string's (Splunk takes the query string's values as defaults for
// /event); fields (indexed fields, each a string or an array of
// strings) the fields fields.<name>, one per value; the channel the
// field channel.
//
// /raw: each non-blank line is one event, a string as sent (only a
// trailing CR dropped); the metadata and
// time come from the query string.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// hecDefaults are a request's metadata from the query string.
type hecDefaults struct {
	host, source, sourcetype, index, channel string
	time                                     time.Time
	maxEvents                                int // max.events.per.request, 0 for no bound
}

// hecQueryDefaults reads the query string's metadata.
func hecQueryDefaults(r *http.Request, channel string) (hecDefaults, *hecReply) {
	q := r.URL.Query()
	d := hecDefaults{host: q.Get("host"), source: q.Get("source"), sourcetype: q.Get("sourcetype"),
		index: q.Get("index"), channel: channel}
	if t := q.Get("time"); t != "" {
		ts, err := hecTime(json.Number(t))
		if err != nil {
			return d, &hecReply{Text: "Invalid data format: the time query parameter: " + err.Error(), Code: hecInvalidFormat}
		}
		d.time = ts
	}
	return d, nil
}

// hecEnvelope is one /event object.
type hecEnvelope struct {
	Time       json.Number                `json:"time"`
	Host       *string                    `json:"host"`
	Source     *string                    `json:"source"`
	Sourcetype *string                    `json:"sourcetype"`
	Index      *string                    `json:"index"`
	Event      json.RawMessage            `json:"event"`
	Fields     map[string]json.RawMessage `json:"fields"`
}

// parseHECEvents reads an /event body; any bad event refuses the whole
// request, naming the event's number and byte offset.
func parseHECEvents(body []byte, def hecDefaults) ([]Event, *hecReply) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &hecReply{Text: "No data", Code: hecNoData}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var events []Event
	for n := 0; ; n++ {
		at := dec.InputOffset()
		var env hecEnvelope
		err := dec.Decode(&env)
		if errors.Is(err, io.EOF) {
			return events, nil
		}
		bad := func(code int, text string) *hecReply {
			num := n
			return &hecReply{Text: text, Code: code, InvalidEvent: &num}
		}
		if err != nil {
			return nil, bad(hecInvalidFormat, fmt.Sprintf("Invalid data format: event %d at byte %d: %v", n, at, err))
		}
		if def.maxEvents > 0 && n >= def.maxEvents {
			return nil, &hecReply{tooMany: true}
		}
		ev, reply := hecEvent(&env, def)
		if reply != nil {
			return nil, bad(reply.Code, fmt.Sprintf("%s: event %d at byte %d", reply.Text, n, at))
		}
		events = append(events, ev)
	}
}

// hecEvent makes the event of one envelope, or the reply refusing it.
func hecEvent(env *hecEnvelope, def hecDefaults) (Event, *hecReply) {
	raw := bytes.TrimSpace(env.Event)
	if len(raw) == 0 || string(raw) == "null" {
		return Event{}, &hecReply{Text: "Event field is required", Code: hecEventRequired}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Event{}, &hecReply{Text: "Invalid data format: " + err.Error(), Code: hecInvalidFormat}
	}
	if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
		return Event{}, &hecReply{Text: "Event field cannot be blank", Code: hecEventBlank}
	}
	ev := Event{Value: v, Time: def.time}
	if env.Time != "" {
		ts, err := hecTime(env.Time)
		if err != nil {
			return Event{}, &hecReply{Text: "Invalid data format: time: " + err.Error(), Code: hecInvalidFormat}
		}
		ev.Time = ts
	}
	add := func(name string, v *string, dflt string) {
		switch {
		case v != nil && *v != "":
			ev.Meta = append(ev.Meta, Field{name, *v})
		case dflt != "":
			ev.Meta = append(ev.Meta, Field{name, dflt})
		}
	}
	add("host", env.Host, def.host)
	add("source", env.Source, def.source)
	add("sourcetype", env.Sourcetype, def.sourcetype)
	add("index", env.Index, def.index)
	if len(env.Fields) > 0 {
		names := make([]string, 0, len(env.Fields))
		for k := range env.Fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			vals, err := hecFieldValues(env.Fields[k])
			if err != nil {
				return Event{}, &hecReply{Text: fmt.Sprintf("Error in handling indexed fields: field %q: %v", k, err), Code: hecBadFields}
			}
			for _, fv := range vals {
				ev.Meta = append(ev.Meta, Field{"fields." + k, fv})
			}
		}
	}
	if def.channel != "" {
		ev.Meta = append(ev.Meta, Field{"channel", def.channel})
	}
	return ev, nil
}

// hecFieldValues reads an indexed field: a string, a number or boolean
// (kept as written), or an array of those. Objects are refused, as
// Splunk refuses them.
func hecFieldValues(raw json.RawMessage) ([]string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	scalar := func(v any) (string, error) {
		switch t := v.(type) {
		case string:
			return t, nil
		case json.Number:
			return t.String(), nil
		case bool:
			return strconv.FormatBool(t), nil
		}
		return "", fmt.Errorf("a %s is not a field value (a string, number or an array of them is)", jsonKind(v))
	}
	if arr, ok := v.([]any); ok {
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// hecTime reads HEC's time: epoch seconds with an optional fraction, as
// a JSON number or a numeric string. json.Number holds both: the
// envelope's string form arrives as its text.
func hecTime(n json.Number) (time.Time, error) {
	s := strings.Trim(string(n), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%q is not epoch seconds", s)
	}
	sec, frac := int64(f), f-float64(int64(f))
	return time.Unix(sec, int64(frac*1e9)).Round(time.Microsecond).UTC(), nil
}

// parseHECRaw reads a /raw body: one string event per non-blank line.
func parseHECRaw(body []byte, def hecDefaults) ([]Event, *hecReply) {
	var events []Event
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if def.maxEvents > 0 && len(events) >= def.maxEvents {
			return nil, &hecReply{tooMany: true}
		}
		ev := Event{Value: string(line), Time: def.time}
		for _, f := range []Field{{"host", def.host}, {"source", def.source}, {"sourcetype", def.sourcetype},
			{"index", def.index}, {"channel", def.channel}} {
			if f.Value != "" {
				ev.Meta = append(ev.Meta, f)
			}
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil, &hecReply{Text: "No data", Code: hecNoData}
	}
	return events, nil
}
