package httpsource

// OTLP/HTTP logs, per opentelemetry-proto docs/specification.md
// (OTLP/HTTP Request, Response, Failures, Throttling):
//
//	POST /v1/logs
//	  Content-Type: application/x-protobuf   binary ExportLogsServiceRequest
//	  Content-Type: application/json         OTLP/JSON (hex trace/span ids)
//	  Content-Encoding: gzip (or what Body decodes)
//
// Success is 200 with an ExportLogsServiceResponse in the request's
// encoding, also for an empty request. Failures carry a google.rpc.Status
// in the request's encoding: 400 for bad data, 401/403 for credentials,
// 413 past the size limit, 429/503 with Retry-After when delivery is
// busy (clients retry only 429, 502, 503 and 504, and drop a 500).
// Another Content-Type is a 415.

import (
	"mime"
	"net/http"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
)

// The two OTLP/HTTP encodings, by Content-Type.
const (
	otlpProtobuf = "application/x-protobuf"
	otlpJSON     = "application/json"
)

// routesOTLP registers the OTLP/HTTP logs endpoint on mux.
func routesOTLP(mux *http.ServeMux, e endpoint) {
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, r *http.Request) {
		otlpLogs(w, r, e)
	})
}

// otlpLogs serves one export request: every log record becomes one
// event, delivered together.
func otlpLogs(w http.ResponseWriter, r *http.Request, e endpoint) {
	ct := otlpContentType(r)
	if err := e.Authorize(r); err != nil {
		otlpFail(w, ct, err)
		return
	}
	if ct == "" {
		http.Error(w, "415 unsupported media type: Content-Type "+strconv.Quote(r.Header.Get("Content-Type"))+
			" (OTLP/HTTP takes application/x-protobuf or application/json)", http.StatusUnsupportedMediaType)
		return
	}
	body, err := e.Body(r)
	if err != nil {
		otlpFail(w, ct, err)
		return
	}
	if max := e.Settings().MaxEvents; max > 0 {
		var over bool
		if ct == otlpJSON {
			_, over = jsonCount(body, otlpJSONPath, max)
		} else {
			_, over = protoCount(body, otlpProtoPath, max)
		}
		if over {
			otlpFail(w, ct, tooManyEvents(max))
			return
		}
	}
	req := &collogs.ExportLogsServiceRequest{}
	if ct == otlpJSON {
		err = otlpUnmarshalJSON(body, req)
	} else {
		err = proto.Unmarshal(body, req)
	}
	if err != nil {
		otlpFail(w, ct, &Error{Status: http.StatusBadRequest, Msg: "the ExportLogsServiceRequest does not decode: " + err.Error()})
		return
	}
	events := otlpEvents(req)
	if len(events) > 0 {
		if err := e.Deliver(r.Context(), r, ProtoOTLP, events); err != nil {
			otlpFail(w, ct, err)
			return
		}
	}
	otlpWrite(w, ct, http.StatusOK, &collogs.ExportLogsServiceResponse{})
}

// otlpContentType returns the request's encoding, or "" for neither.
// application/protobuf is taken too, as the collector does.
func otlpContentType(r *http.Request) string {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case otlpProtobuf, "application/protobuf":
		return otlpProtobuf
	case otlpJSON:
		return otlpJSON
	}
	return ""
}

// otlpFail answers err with its status and a google.rpc.Status body in
// the request's encoding (JSON when it has none), Retry-After on 429 and
// 503. An error that is not an *Error is a 503, never a 500.
func otlpFail(w http.ResponseWriter, ct string, err error) {
	e := lokiAsError(err)
	lokiRetryAfter(w, e)
	if ct == "" {
		ct = otlpJSON
	}
	otlpWrite(w, ct, e.Status, &status.Status{Code: int32(otlpCode(e.Status)), Message: e.Msg})
}

// otlpCode maps an HTTP status to the gRPC code its Status carries.
func otlpCode(httpStatus int) code.Code {
	switch httpStatus {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		return code.Code_INVALID_ARGUMENT
	case http.StatusUnauthorized:
		return code.Code_UNAUTHENTICATED
	case http.StatusForbidden:
		return code.Code_PERMISSION_DENIED
	case http.StatusTooManyRequests:
		return code.Code_RESOURCE_EXHAUSTED
	case http.StatusUnsupportedMediaType:
		return code.Code_UNIMPLEMENTED
	case http.StatusServiceUnavailable:
		return code.Code_UNAVAILABLE
	}
	return code.Code_UNKNOWN
}

// otlpWrite writes m in the encoding ct with the status.
func otlpWrite(w http.ResponseWriter, ct string, httpStatus int, m proto.Message) {
	var b []byte
	var err error
	if ct == otlpJSON {
		b, err = protojson.MarshalOptions{UseEnumNumbers: true}.Marshal(m)
	} else {
		b, err = proto.Marshal(m)
	}
	if err != nil { // cannot happen for these messages
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}
