package registry

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
)

// contentType is what every response is sent as.
const contentType = "application/vnd.schemaregistry.v1+json"

// requestTypes are the accepted request content types (octet-stream is
// what clients send when they send none; it is treated as JSON).
var requestTypes = map[string]bool{
	"application/vnd.schemaregistry.v1+json": true,
	"application/vnd.schemaregistry+json":    true,
	"application/json":                       true,
	"application/octet-stream":               true,
}

// routes builds the Confluent REST API.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(routeEscaped, withDeadline, limitBody(s.opts.MaxRequestBodyBytes), checkContentType)
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, struct{}{}) })
	r.Route("/subjects", func(r chi.Router) {
		r.Get("/", s.listSubjects)
		r.Post("/{subject}", s.lookupSchema)
		r.Delete("/{subject}", s.deleteSubjectHandler)
		r.Get("/{subject}/versions", s.listVersions)
		r.Post("/{subject}/versions", s.registerHandler)
		r.Get("/{subject}/versions/{version}", s.getVersion)
		r.Delete("/{subject}/versions/{version}", s.deleteVersionHandler)
		r.Get("/{subject}/versions/{version}/schema", s.getVersionSchema)
		r.Get("/{subject}/versions/{version}/referencedby", s.referencedByHandler)
	})
	r.Route("/schemas", func(r chi.Router) {
		r.Get("/", s.listSchemas)
		r.Get("/types", s.schemaTypes)
		r.Get("/ids/{id}", s.getByID)
		r.Get("/ids/{id}/schema", s.getByIDSchema)
		r.Get("/ids/{id}/versions", s.getIDVersions)
		r.Get("/ids/{id}/subjects", s.getIDSubjects)
	})
	r.Get("/contexts", listContexts)
	r.Post("/compatibility/subjects/{subject}/versions/{version}", s.compatibilityHandler)
	r.Post("/compatibility/subjects/{subject}/versions", s.compatibilityHandler)
	for _, p := range []string{"/config", "/config/{subject}"} {
		r.Get(p, s.getConfig)
		r.Put(p, s.putConfig)
		r.Delete(p, s.deleteConfig)
	}
	for _, p := range []string{"/mode", "/mode/{subject}"} {
		r.Get(p, s.getMode)
		r.Put(p, s.putMode)
		r.Delete(p, s.deleteMode)
	}
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeErrorBody(w, http.StatusNotFound, http.StatusNotFound, "HTTP 404 Not Found")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeErrorBody(w, http.StatusMethodNotAllowed, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
	})
	return r
}

// checkContentType refuses request bodies of other types with 415.
func checkContentType(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "" && r.ContentLength != 0 {
			mt, _, err := mime.ParseMediaType(ct)
			if err != nil || !requestTypes[mt] {
				writeErrorBody(w, http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType, "HTTP 415 Unsupported Media Type")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withDeadline gives every request's context a deadline, so no handler
// (waiting for the write lock, a primary, the store) outlives the
// connection's write timeout.
func withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), handlerTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody refuses a body larger than limit with 413: at once when its
// Content-Length says so (without reading it), otherwise when reading
// passes the limit (decode and forwardWrite report it). Go's server then
// closes the connection instead of draining the rest.
func limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				writeError(w, errBodyTooLarge(r.ContentLength, limit))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes err as Confluent's error body; restError picks the
// status and code.
func writeError(w http.ResponseWriter, err error) {
	status, code, msg := restError(err)
	writeErrorBody(w, status, code, msg)
}

func writeErrorBody(w http.ResponseWriter, status, code int, msg string) {
	b, _ := json.Marshal(struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}{code, msg})
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decode reads a JSON request body; a malformed one is 422, one over the
// body limit 413.
func decode(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return bodyError(err)
	}
	return nil
}

// bodyError reports a failure to read or decode a request body.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return errBodyTooLarge(-1, tooLarge.Limit)
	}
	return newAPIError(codeUnprocessable, "Unprocessable Entity: %v", err)
}

func boolParam(r *http.Request, name string) bool {
	b, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return b
}

// idParam parses {id}; a malformed id is an unknown schema.
func idParam(r *http.Request) (int, error) {
	raw := pathParam(r, "id")
	id, err := strconv.Atoi(raw)
	if err != nil {
		return 0, newAPIError(codeSchemaNotFound, "Schema %s not found", raw)
	}
	return id, nil
}
