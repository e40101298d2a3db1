package httpsource

// The _bulk request: NDJSON, an action line and (but for delete) a
// source line per item.
//
//	{"create":{"_index":"logs","_id":"1"}}
//	{"@timestamp":"2024-05-01T10:00:00Z","message":"hello"}
//
// Actions:
//   - index, create: the source document becomes an event; the item
//     answers 201 "created" with the given _id or a generated one.
//   - update: refused, item 400: an update is a change to a stored
//     document, which a log stream has not got, and writing its partial
//     doc as if it were a whole event would mislead every consumer.
//   - delete: nothing to delete and nothing written; the item answers as
//     Elasticsearch does for a document it has not got, 404 "not_found",
//     which is not an error ("errors" stays false, so Vector and Fluent
//     Bit count the request delivered).
//
// _index comes from the action or the path, _type is accepted and
// ignored (Fluent Bit sends "_type":"_doc"), _id, pipeline and routing
// (from the action, or the query string) become the metadata fields id,
// pipeline and routing; action names the action.
//
// A bad item is answered alone, the valid ones are written: a source
// line that is not a JSON object, an action line that is not one of the
// four actions, a missing _index. A malformed action line takes the
// next line with it unless that line is itself an action line, so one
// bad line does not shift every item after it. A body whose first line
// is not a JSON object is not a bulk request at all: 400 for the whole.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// bulkItem is one action of a bulk request and its answer.
type bulkItem struct {
	action string // as sent: index, create, update, delete, or the unknown name
	index  string
	id     string
	status int    // 201, 404, or the error's status
	errTyp string // set when the item failed
	reason string
	event  int // the event's position in the delivered slice, or -1
}

// bulkAction is the metadata object of an action line.
type bulkAction struct {
	Index    string `json:"_index"`
	ID       string `json:"_id"`
	Pipeline string `json:"pipeline"`
	Routing  string `json:"routing"`
}

// bulkDefaults are the request-wide values from the path and query.
type bulkDefaults struct {
	index, pipeline, routing string
}

// esBulkContentTypes are the media types a bulk body may declare.
var esBulkContentTypes = map[string]bool{
	"application/x-ndjson":                   true,
	"application/json":                       true,
	"application/vnd.elasticsearch+x-ndjson": true,
	"application/vnd.elasticsearch+json":     true,
}

// bulk answers POST|PUT /_bulk and /{index}/_bulk.
func (h *esHandler) bulk(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !esBulkContentTypes[strings.ToLower(mt)] {
			esJSON(w, r, http.StatusNotAcceptable, esObj{
				{"error", fmt.Sprintf("Content-Type header [%s] is not supported", ct)},
				{"status", http.StatusNotAcceptable}})
			return
		}
	}
	body, err := h.e.Body(r)
	if err != nil {
		esFail(w, r, err)
		return
	}
	// Every action gets an item in the answer, events or not (a delete, a
	// malformed line): max.events.per.request bounds them too, else a
	// body of short lines makes an answer and a heap tens of times its
	// size. An action takes a line or two: the line count bounds the
	// parse.
	maxItems := h.e.Settings().MaxEvents
	if n := bytes.Count(body, []byte{'\n'}); maxItems > 0 && n > 2*maxItems+1 {
		esFail(w, r, &Error{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("the bulk request has %d lines, more than twice max.events.per.request (%d)", n, maxItems)})
		return
	}
	q := r.URL.Query()
	def := bulkDefaults{index: r.PathValue("index"), pipeline: q.Get("pipeline"), routing: q.Get("routing")}
	items, events, perr := parseBulk(body, def)
	if perr != nil {
		esError(w, r, http.StatusBadRequest, perr.typ, perr.reason, 0)
		return
	}
	if maxItems > 0 && len(items) > maxItems {
		esFail(w, r, &Error{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("the bulk request holds %d actions, more than max.events.per.request (%d)", len(items), maxItems)})
		return
	}
	if len(events) > 0 {
		if err := h.e.Deliver(r.Context(), r, ProtoES, events); err != nil {
			if !h.e.Settings().ESBusyItems || !esBusy(err) {
				esFail(w, r, err)
				return
			}
			rejectItems(items, err)
		}
	}
	if q.Get("filter_path") == "" {
		// The common answer, written straight: the same bytes as
		// bulkResponse's tree, without building it for every item.
		writeESBytes(w, r, http.StatusOK, appendBulkAnswer(nil, items, time.Since(start)))
		return
	}
	resp := bulkResponse(items, time.Since(start))
	f := parseFilterPath(q.Get("filter_path"))
	v, ok := f.apply(resp)
	if !ok {
		v = esObj{}
	}
	esJSON(w, r, http.StatusOK, v)
}

// appendBulkAnswer appends the answer bulkResponse describes, compact, as
// appendESJSON writes it.
func appendBulkAnswer(b []byte, items []bulkItem, took time.Duration) []byte {
	errs := false
	for _, it := range items {
		errs = errs || it.errTyp != ""
	}
	b = append(b, `{"took":`...)
	b = strconv.AppendInt(b, took.Milliseconds(), 10)
	b = append(b, `,"errors":`...)
	b = strconv.AppendBool(b, errs)
	b = append(b, `,"items":[`...)
	seq := 0
	str := func(b []byte, s string) []byte { out, _ := appendESJSON(b, s); return out }
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = str(b, it.action)
		b = append(b, `:{"_index":`...)
		b = str(b, it.index)
		if it.id != "" {
			b = append(b, `,"_id":`...)
			b = str(b, it.id)
		}
		if it.errTyp != "" {
			b = append(b, `,"status":`...)
			b = strconv.AppendInt(b, int64(it.status), 10)
			b = append(b, `,"error":{"type":`...)
			b = str(b, it.errTyp)
			b = append(b, `,"reason":`...)
			b = str(b, it.reason)
			b = append(b, "}}}"...)
			continue
		}
		result := "created"
		if it.status == http.StatusNotFound {
			result = "not_found"
		}
		b = append(b, `,"_version":1,"result":"`...)
		b = append(b, result...)
		b = append(b, `","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":`...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `,"_primary_term":1,"status":`...)
		b = strconv.AppendInt(b, int64(it.status), 10)
		b = append(b, "}}"...)
		seq++
	}
	return append(b, "]}"...)
}

// The values of es.busy.response.
const (
	esBusyRequest = "request"
	esBusyItems   = "items"
)

// esBusy tells whether err is a busy answer of the endpoint (429, or 503
// and the other 5xx), which esFail turns into a whole-request 429.
func esBusy(err error) bool {
	var he *Error
	if !errors.As(err, &he) {
		return true
	}
	return he.Status == http.StatusTooManyRequests || he.Status >= 500
}

// rejectItems refuses, for es.busy.response=items, every item that was to
// be written: 429 es_rejected_execution_exception with err's message, the
// per-item answer rsyslog's omelasticsearch and Beats resend. The items
// already refused (400) or answered not_found keep their answers.
func rejectItems(items []bulkItem, err error) {
	for i := range items {
		if items[i].event < 0 {
			continue
		}
		items[i].status, items[i].errTyp = http.StatusTooManyRequests, "es_rejected_execution_exception"
		items[i].reason = "rejected, the broker is behind: " + err.Error()
		items[i].event = -1
	}
}

// bulkError is a whole-request failure of a bulk body.
type bulkError struct{ typ, reason string }

// parseBulk reads a bulk body into its items and the events of the
// valid ones, in order. The error is for a body that is not a bulk
// request at all.
func parseBulk(body []byte, def bulkDefaults) ([]bulkItem, []Event, *bulkError) {
	lines := splitLines(body)
	if len(lines) == 0 {
		return nil, nil, &bulkError{"action_request_validation_exception",
			"Validation Failed: 1: no requests added; the body is empty"}
	}
	if first := lines[0].text; len(first) == 0 || first[0] != '{' || !json.Valid(first) {
		return nil, nil, &bulkError{"illegal_argument_exception", fmt.Sprintf(
			"Malformed action/metadata line [%d], expected a JSON object: the body is not NDJSON action and source lines", lines[0].num)}
	}
	var (
		items  []bulkItem
		events []Event
		idGen  = newIDGen()
		// Action lines mostly repeat: parsed once while they do.
		actions actionCache
		// The documents' rewritten bytes, one after the other; each
		// RawJSON keeps its part alive when buf grows.
		buf = make([]byte, 0, len(body)+len(body)/16+64)
	)
	for i := 0; i < len(lines); i++ {
		ln := lines[i]
		name, meta, reason := actions.parse(ln.text)
		it := bulkItem{action: name, index: def.index, event: -1}
		if reason != "" {
			if it.action == "" {
				it.action = "index"
			}
			it.status, it.errTyp = http.StatusBadRequest, "illegal_argument_exception"
			it.reason = fmt.Sprintf("Malformed action/metadata line [%d]: %s", ln.num, reason)
			// Take its source line along unless the next line is an action.
			if i+1 < len(lines) && !isActionLine(lines[i+1].text) {
				i++
			}
			items = append(items, it)
			continue
		}
		if meta.Index != "" {
			it.index = meta.Index
		}
		it.id = meta.ID
		if name == "delete" {
			switch {
			case it.id == "":
				it.status, it.errTyp = http.StatusBadRequest, "action_request_validation_exception"
				it.reason = fmt.Sprintf("Validation Failed: 1: id is missing (delete on line [%d])", ln.num)
			case it.index == "":
				it.status, it.errTyp = http.StatusBadRequest, "action_request_validation_exception"
				it.reason = fmt.Sprintf("Validation Failed: 1: index is missing (line [%d])", ln.num)
			default:
				it.status = http.StatusNotFound // nothing stored, nothing deleted
			}
			items = append(items, it)
			continue
		}
		if i+1 >= len(lines) {
			it.status, it.errTyp = http.StatusBadRequest, "action_request_validation_exception"
			it.reason = fmt.Sprintf("Validation Failed: 1: the %s action on line [%d] has no source line", name, ln.num)
			items = append(items, it)
			continue
		}
		i++
		src := lines[i]
		switch {
		case name == "update":
			it.status, it.errTyp = http.StatusBadRequest, "action_request_validation_exception"
			it.reason = fmt.Sprintf("update (line [%d]) is not supported by a log ingest: send index or create", ln.num)
		case it.index == "":
			it.status, it.errTyp = http.StatusBadRequest, "action_request_validation_exception"
			it.reason = fmt.Sprintf("Validation Failed: 1: index is missing (line [%d]): give _index or POST /{index}/_bulk", ln.num)
		default:
			// A document travels as the JsonConverter's bytes for it
			// (connect.RawJSON), as generic JSON lines do, rather than
			// decoded and encoded again; one the rewrite cannot take (a
			// member named twice) or that is not an object is decoded,
			// which keeps the last member or names the error.
			var doc any
			start := len(buf)
			if out, ok := convert.AppendCanonicalJSON(buf, src.text); ok {
				buf = out
				doc = connect.RawJSON(buf[start:len(buf):len(buf)])
			} else {
				buf = buf[:start]
				m, err := decodeObject(src.text)
				if err != nil {
					it.status, it.errTyp = http.StatusBadRequest, "mapper_parsing_exception"
					it.reason = fmt.Sprintf("failed to parse the source on line [%d]: %v", src.num, err)
					break
				}
				doc = m
			}
			if it.id == "" {
				it.id = idGen.next()
			}
			it.status, it.event = http.StatusCreated, len(events)
			events = append(events, bulkEvent(name, it.index, meta, def, doc))
		}
		items = append(items, it)
	}
	return items, events, nil
}

// bulkEvent makes the event of a valid index or create item.
func bulkEvent(action, index string, meta bulkAction, def bulkDefaults, doc any) Event {
	ev := Event{Value: doc}
	if ts, ok := member(doc, "@timestamp"); ok {
		ev.Time = esTimestamp(ts)
	}
	ev.Meta = append(ev.Meta, Field{"index", index})
	if meta.ID != "" {
		ev.Meta = append(ev.Meta, Field{"id", meta.ID})
	}
	if p := firstNonEmpty(meta.Pipeline, def.pipeline); p != "" {
		ev.Meta = append(ev.Meta, Field{"pipeline", p})
	}
	if rt := firstNonEmpty(meta.Routing, def.routing); rt != "" {
		ev.Meta = append(ev.Meta, Field{"routing", rt})
	}
	ev.Meta = append(ev.Meta, Field{"action", action})
	return ev
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseAction reads an action line: its action name and metadata, or
// why it is malformed.
func parseAction(line []byte) (string, bulkAction, string) {
	_, v, err := kafkaJSON.ToConnect("", nil, line)
	if err != nil {
		return "", bulkAction{}, "not a JSON object: " + strings.TrimPrefix(err.Error(),
			"Converting byte[] to Kafka Connect data failed due to serialization error: ")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", bulkAction{}, fmt.Sprintf("not a JSON object but a JSON %s", jsonKind(v))
	}
	if len(m) != 1 {
		return "", bulkAction{}, fmt.Sprintf("expected one action, found %d keys", len(m))
	}
	for name, raw := range m {
		switch name {
		case "index", "create", "update", "delete":
		default:
			return name, bulkAction{}, fmt.Sprintf("expected one of [create, delete, index, update] but found [%s]", name)
		}
		fields, ok := raw.(map[string]any)
		if !ok {
			return name, bulkAction{}, fmt.Sprintf("the %s metadata is not valid: a JSON %s, not an object", name, jsonKind(raw))
		}
		var a bulkAction
		for key, dst := range map[string]*string{"_index": &a.Index, "_id": &a.ID, "pipeline": &a.Pipeline, "routing": &a.Routing} {
			switch f := fields[key].(type) {
			case nil:
			case string:
				*dst = f
			default:
				return name, bulkAction{}, fmt.Sprintf("the %s metadata is not valid: %s is a JSON %s, not a string", name, key, jsonKind(f))
			}
		}
		return name, a, ""
	}
	return "", bulkAction{}, "empty"
}

// actionCache remembers the last action line parsed: shippers send the
// same one before every document unless they set ids.
type actionCache struct {
	line   []byte
	name   string
	action bulkAction
	reason string
}

// parse is parseAction, from the cache when line is the last one's.
func (c *actionCache) parse(line []byte) (string, bulkAction, string) {
	if c.line == nil || !bytes.Equal(line, c.line) {
		c.line = line
		c.name, c.action, c.reason = parseAction(line)
	}
	return c.name, c.action, c.reason
}

// isActionLine tells whether line looks like an action line, to resync
// after a malformed one.
func isActionLine(line []byte) bool {
	name, _, reason := parseAction(line)
	return reason == "" && name != ""
}

// decodeObject decodes one JSON object as Kafka's schemaless JsonConverter
// reads it (integers as int64, other numbers as float64), as a document
// traveling as connect.RawJSON would be decoded.
func decodeObject(b []byte) (map[string]any, error) {
	_, v, err := kafkaJSON.ToConnect("", nil, b)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "Converting byte[] to Kafka Connect data failed due to serialization error: "))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document is a JSON %s, not an object", jsonKind(v))
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, int64, float64:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "object"
}

// esTimestamp reads @timestamp as Elasticsearch's default date format
// does (strict_date_optional_time||epoch_millis); the zero time when it
// is missing or unreadable, so the record takes the arrival time.
func esTimestamp(v any) time.Time {
	switch t := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
			if ts, err := time.Parse(layout, t); err == nil {
				return ts
			}
		}
		if ms, err := strconv.ParseInt(t, 10, 64); err == nil {
			return time.UnixMilli(ms).UTC()
		}
	case int64: // epoch_millis, from a RawJSON document
		return time.UnixMilli(t).UTC()
	case float64:
		return time.UnixMicro(int64(t * 1000)).UTC()
	case json.Number:
		if ms, err := t.Int64(); err == nil {
			return time.UnixMilli(ms).UTC()
		}
		if f, err := t.Float64(); err == nil {
			return time.UnixMicro(int64(f * 1000)).UTC()
		}
	}
	return time.Time{}
}

// numberedLine is one non-blank line of a body and its 1-based number.
type numberedLine struct {
	num  int
	text []byte
}

// splitLines splits an NDJSON body into its non-blank lines, CR
// trimmed, numbered as in the body.
func splitLines(body []byte) []numberedLine {
	var out []numberedLine
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			out = append(out, numberedLine{n, line})
		}
	}
	return out
}

// idGen makes the _id of items sent without one: 20 base64url
// characters, as Elasticsearch's own, from a random per-request prefix
// and a counter.
type idGen struct {
	buf [15]byte
	n   uint32
}

func newIDGen() *idGen {
	g := &idGen{}
	_, _ = rand.Read(g.buf[:11])
	return g
}

func (g *idGen) next() string {
	g.n++
	binary.BigEndian.PutUint32(g.buf[11:], g.n)
	return base64.RawURLEncoding.EncodeToString(g.buf[:])
}

// bulkResponse is the _bulk answer: one item per action, in order.
func bulkResponse(items []bulkItem, took time.Duration) esObj {
	errs := false
	list := make([]any, len(items))
	seq := 0
	for i, it := range items {
		body := esObj{{"_index", it.index}}
		if it.id != "" {
			body = append(body, esKV{"_id", it.id})
		}
		switch {
		case it.errTyp != "":
			errs = true
			body = append(body, esKV{"status", it.status},
				esKV{"error", esObj{{"type", it.errTyp}, {"reason", it.reason}}})
		case it.status == http.StatusNotFound:
			body = append(body, esKV{"_version", 1}, esKV{"result", "not_found"},
				esKV{"_shards", esObj{{"total", 1}, {"successful", 1}, {"failed", 0}}},
				esKV{"_seq_no", seq}, esKV{"_primary_term", 1}, esKV{"status", it.status})
			seq++
		default:
			body = append(body, esKV{"_version", 1}, esKV{"result", "created"},
				esKV{"_shards", esObj{{"total", 1}, {"successful", 1}, {"failed", 0}}},
				esKV{"_seq_no", seq}, esKV{"_primary_term", 1}, esKV{"status", it.status})
			seq++
		}
		list[i] = esObj{{it.action, body}}
	}
	return esObj{{"took", took.Milliseconds()}, {"errors", errs}, {"items", list}}
}
