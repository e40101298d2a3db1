package httpsource

// Splunk HTTP Event Collector.
//
// Routes:
//
//	POST /services/collector[/event[/1.0]]   concatenated JSON events (hec_parse.go)
//	POST /services/collector/raw[/1.0]       one event per line, metadata from the query
//	POST /services/collector/ack             indexer acknowledgements (hec.ack.enabled)
//	GET  /services/collector/health[/1.0]    {"text":"HEC is healthy","code":17}
//
// Every answer is {"text":…,"code":N} with Splunk's HTTP status for the
// code (hecStatus). A request is all or nothing, as Splunk's: one bad
// event refuses the whole request with 400 and nothing is written.
// Credentials: Authorization: Splunk <token> (the endpoint's Authorize
// also takes Bearer and Basic with the token as password, as Splunk
// does); a token in the query string is refused with code 16, as Splunk
// does unless allowQueryStringAuth is set.
//
// Acknowledgements: with hec.ack.enabled every data request must name a
// channel (X-Splunk-Request-Channel or ?channel=, a GUID: code 10 when
// missing, 11 when not a GUID) and its answer carries an "ackId".
// Sluice answers only after the broker acknowledged every record, so an
// ackId exists only for data already durable: /ack answers true for
// every id asked. Hence no per-channel state is kept at all — the ids
// come from one counter — and neither many channels nor many ids cost
// memory; an /ack body is bounded by max.request.bytes and hecMaxAckIDs.
// Without hec.ack.enabled no ackId is given (Vector then counts the
// events delivered on the 200) and /ack answers code 14, ACK is disabled.

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
)

// The HEC reply codes Sluice answers [doc: Splunk, "Troubleshoot HTTP
// Event Collector", status codes].
const (
	hecSuccess        = 0
	hecTokenRequired  = 2
	hecInvalidAuth    = 3
	hecInvalidToken   = 4
	hecNoData         = 5
	hecInvalidFormat  = 6
	hecServerBusy     = 9
	hecNoChannel      = 10
	hecBadChannel     = 11
	hecEventRequired  = 12
	hecEventBlank     = 13
	hecAckDisabled    = 14
	hecBadFields      = 15
	hecQueryAuthOff   = 16
	hecHealthy        = 17
	hecUnhealthyQueue = 18
)

// hecStatus is the HTTP status Splunk sends with each code.
var hecStatus = map[int]int{
	hecSuccess:        http.StatusOK,
	hecTokenRequired:  http.StatusUnauthorized,
	hecInvalidAuth:    http.StatusUnauthorized,
	hecInvalidToken:   http.StatusForbidden,
	hecNoData:         http.StatusBadRequest,
	hecInvalidFormat:  http.StatusBadRequest,
	hecServerBusy:     http.StatusServiceUnavailable,
	hecNoChannel:      http.StatusBadRequest,
	hecBadChannel:     http.StatusBadRequest,
	hecEventRequired:  http.StatusBadRequest,
	hecEventBlank:     http.StatusBadRequest,
	hecAckDisabled:    http.StatusBadRequest,
	hecBadFields:      http.StatusBadRequest,
	hecQueryAuthOff:   http.StatusBadRequest,
	hecHealthy:        http.StatusOK,
	hecUnhealthyQueue: http.StatusServiceUnavailable,
}

// hecMaxAckIDs bounds the ids of one /ack request.
const hecMaxAckIDs = 100000

// routesHEC registers the Splunk HEC routes on mux.
func routesHEC(mux *http.ServeMux, e endpoint) {
	h := &hecHandler{e: e}
	for _, p := range []string{"/services/collector", "/services/collector/event", "/services/collector/event/1.0"} {
		mux.HandleFunc("POST "+p, h.auth(h.event))
	}
	for _, p := range []string{"/services/collector/raw", "/services/collector/raw/1.0"} {
		mux.HandleFunc("POST "+p, h.auth(h.raw))
	}
	mux.HandleFunc("POST /services/collector/ack", h.auth(h.ack))
	mux.HandleFunc("POST /services/collector/ack/1.0", h.auth(h.ack))
	mux.HandleFunc("GET /services/collector/health", h.health)
	mux.HandleFunc("GET /services/collector/health/1.0", h.health)
}

// hecHandler answers the HEC routes for one endpoint.
type hecHandler struct {
	e     endpoint
	ackID atomic.Uint64 // the next ackId, shared by every channel
}

// hecReply is HEC's answer document.
type hecReply struct {
	Text         string  `json:"text"`
	Code         int     `json:"code"`
	InvalidEvent *int    `json:"invalid-event-number,omitempty"`
	AckID        *uint64 `json:"ackId,omitempty"`
	// tooMany, in a parser's reply, refuses a request of more than
	// max.events.per.request events (413).
	tooMany bool
}

// hecAnswer writes reply with the HTTP status of its code.
func hecAnswer(w http.ResponseWriter, reply hecReply) {
	status, ok := hecStatus[reply.Code]
	if !ok {
		status = http.StatusBadRequest
	}
	b, _ := json.Marshal(reply)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// auth wraps next with the endpoint's credential check, answered with
// HEC's codes: 2 (no credentials), 3 (not a scheme HEC reads), 4 (wrong
// token), 16 (a token in the query string).
func (h *hecHandler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h.e.Authorize(r)
		if err == nil {
			next(w, r)
			return
		}
		authz := r.Header.Get("Authorization")
		var he *Error
		switch {
		case authz == "" && r.URL.Query().Has("token"):
			hecAnswer(w, hecReply{Text: "Query string authorization is not enabled", Code: hecQueryAuthOff})
		case errors.As(err, &he) && he.Status == http.StatusUnauthorized && authz == "":
			hecAnswer(w, hecReply{Text: "Token is required", Code: hecTokenRequired})
		case !hecKnownScheme(authz):
			hecAnswer(w, hecReply{Text: "Invalid authorization", Code: hecInvalidAuth})
		default:
			hecAnswer(w, hecReply{Text: "Invalid token", Code: hecInvalidToken})
		}
	}
}

// hecKnownScheme tells whether an Authorization header has a scheme HEC
// reads a token from.
func hecKnownScheme(authz string) bool {
	scheme, _, _ := strings.Cut(authz, " ")
	switch strings.ToLower(scheme) {
	case "splunk", "bearer", "basic":
		return true
	}
	return false
}

// health answers the health check; it needs no token, as Splunk's.
func (h *hecHandler) health(w http.ResponseWriter, _ *http.Request) {
	hecAnswer(w, hecReply{Text: "HEC is healthy", Code: hecHealthy})
}

// hecChannelRe is the GUID form Splunk requires of a channel.
var hecChannelRe = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// channel returns the request's channel and, when acknowledgements need
// one and it is missing or malformed, the answer to give.
func (h *hecHandler) channel(r *http.Request) (string, *hecReply) {
	ch := r.Header.Get("X-Splunk-Request-Channel")
	if ch == "" {
		ch = r.URL.Query().Get("channel")
	}
	if !h.e.Settings().HECAck {
		if len(ch) > 128 { // kept as metadata: bounded
			ch = ch[:128]
		}
		return ch, nil
	}
	switch {
	case ch == "":
		return "", &hecReply{Text: "Data channel is missing", Code: hecNoChannel}
	case !hecChannelRe.MatchString(ch):
		return "", &hecReply{Text: "Invalid data channel", Code: hecBadChannel}
	}
	return ch, nil
}

// event answers /services/collector[/event[/1.0]].
func (h *hecHandler) event(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, parseHECEvents)
}

// raw answers /services/collector/raw[/1.0].
func (h *hecHandler) raw(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, parseHECRaw)
}

// serve reads, parses and delivers one data request with parse.
func (h *hecHandler) serve(w http.ResponseWriter, r *http.Request, parse func([]byte, hecDefaults) ([]Event, *hecReply)) {
	ch, bad := h.channel(r)
	if bad != nil {
		hecAnswer(w, *bad)
		return
	}
	body, err := h.e.Body(r)
	if err != nil {
		hecFail(w, err)
		return
	}
	def, bad := hecQueryDefaults(r, ch)
	if bad != nil {
		hecAnswer(w, *bad)
		return
	}
	def.maxEvents = h.e.Settings().MaxEvents
	events, bad := parse(body, def)
	if bad != nil && bad.tooMany {
		hecFail(w, tooManyEvents(def.maxEvents))
		return
	}
	if bad != nil {
		hecAnswer(w, *bad)
		return
	}
	if err := h.e.Deliver(r.Context(), r, ProtoHEC, events); err != nil {
		hecFail(w, err)
		return
	}
	reply := hecReply{Text: "Success", Code: hecSuccess}
	if h.e.Settings().HECAck {
		id := h.ackID.Add(1) - 1
		reply.AckID = &id
	}
	hecAnswer(w, reply)
}

// hecFail answers an endpoint error: busy as 503 code 9 with
// Retry-After (Splunk's busy answer, retried by every HEC client), a
// size limit as 413, a body not received in time as 408, the rest as
// 400 code 6 with the message.
func hecFail(w http.ResponseWriter, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = &Error{Status: http.StatusServiceUnavailable, Msg: err.Error()}
	}
	switch {
	case he.Status == http.StatusTooManyRequests || he.Status >= 500:
		w.Header().Set("Retry-After", secondsRetryAfter(he.RetryAfter))
		hecAnswer(w, hecReply{Text: "Server is busy: " + he.Msg, Code: hecServerBusy})
	case he.Status == http.StatusRequestEntityTooLarge, he.Status == http.StatusRequestTimeout:
		text := "Content too large: "
		if he.Status == http.StatusRequestTimeout {
			text = "Request timeout: "
		}
		b, _ := json.Marshal(hecReply{Text: text + he.Msg, Code: hecInvalidFormat})
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(he.Status)
		_, _ = w.Write(b)
	default:
		b, _ := json.Marshal(hecReply{Text: "Invalid data format: " + he.Msg, Code: hecInvalidFormat})
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(he.Status)
		_, _ = w.Write(b)
	}
}

// ack answers /services/collector/ack: every id asked is true, since an
// ackId is given only once its records are durable.
func (h *hecHandler) ack(w http.ResponseWriter, r *http.Request) {
	if !h.e.Settings().HECAck {
		hecAnswer(w, hecReply{Text: "ACK is disabled", Code: hecAckDisabled})
		return
	}
	if _, bad := h.channel(r); bad != nil {
		hecAnswer(w, *bad)
		return
	}
	body, err := h.e.Body(r)
	if err != nil {
		hecFail(w, err)
		return
	}
	var req struct {
		Acks []uint64 `json:"acks"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		hecAnswer(w, hecReply{Text: "Invalid data format: the ack request must be {\"acks\":[ids]}: " + err.Error(), Code: hecInvalidFormat})
		return
	}
	if len(req.Acks) > hecMaxAckIDs {
		hecAnswer(w, hecReply{Text: "Invalid data format: more than " + strconv.Itoa(hecMaxAckIDs) + " acks asked at once", Code: hecInvalidFormat})
		return
	}
	out := make([]byte, 0, 16+12*len(req.Acks))
	out = append(out, `{"acks":{`...)
	for i, id := range req.Acks {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = strconv.AppendUint(out, id, 10)
		out = append(out, `":true`...)
	}
	out = append(out, "}}"...)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
}
