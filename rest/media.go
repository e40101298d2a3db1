package rest

import (
	"errors"
	"mime"
	"net/http"
)

// Request content types. Kafka's resources are declared
// @Consumes(MediaType.APPLICATION_JSON), and Jersey matches a request's
// Content-Type against that by type and subtype only: application/json in
// any case and with any parameters is accepted; everything else, +json
// types included, is refused with 415 before the resource is called, even
// when the body is empty (PUT /connectors/x/pause with text/plain). A request
// without a Content-Type reaches the resource; Jersey then reads a body as
// application/octet-stream, which Jackson does not read (415 again), while
// a request with no body has nothing to read and is served — which is why
// `curl -X PUT …/pause` works.
//
// This is also the guard against cross-site requests: the only bodies a web
// page can send to another origin without a CORS preflight are text/plain,
// application/x-www-form-urlencoded and multipart/form-data, and all three
// are refused here. GET and HEAD change nothing and are not checked.

// errUnsupportedMediaType is Jersey's NotSupportedException, as Kafka's
// ConnectExceptionMapper shows it.
var errUnsupportedMediaType = errors.New("HTTP 415 Unsupported Media Type")

// requireJSON refuses a request whose body is not declared JSON. It wraps
// the write endpoints once routed, so an unknown path is still 404 and a
// wrong method 405, as in Jersey. keepBody has read the body.
func (s *Server) requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if jsonContent(r) {
			next.ServeHTTP(w, r)
			return
		}
		s.writeError(w, r, errUnsupportedMediaType)
	})
}

// jsonContent reports whether r declares a JSON body, or declares nothing
// and has no body.
func jsonContent(r *http.Request) bool {
	types := r.Header.Values("Content-Type")
	switch len(types) {
	case 0:
		body, _ := r.Context().Value(bodyKey{}).([]byte)
		return len(body) == 0
	case 1:
		mediaType, _, err := mime.ParseMediaType(types[0])
		return err == nil && mediaType == "application/json"
	}
	return false // two Content-Type headers: which one is meant?
}
