package registry

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
)

// subjectSchema is a version as GET /subjects/{s}/versions/{v} and the
// lookup return it; schemaType is omitted for AVRO, as Karapace does (all
// clients read a missing type as AVRO).
type subjectSchema struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

func toSubjectSchema(v *version) subjectSchema {
	out := subjectSchema{Subject: v.Subject, Version: v.Version, ID: v.ID, References: v.References, Schema: v.Schema}
	if v.Type != TypeAvro {
		out.SchemaType = v.Type
	}
	return out
}

func (s *Server) listSubjects(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.state.subjectNames(r.URL.Query().Get("subjectPrefix"), boolParam(r, "deleted")))
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	subject := chi.URLParam(r, "subject")
	vs := s.state.versions(subject, boolParam(r, "deleted"))
	if len(vs) == 0 {
		writeError(w, errSubjectNotFound(subject))
		return
	}
	writeJSON(w, http.StatusOK, versionNumbers(vs))
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	v, err := s.version(chi.URLParam(r, "subject"), chi.URLParam(r, "version"), boolParam(r, "deleted"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toSubjectSchema(v))
}

func (s *Server) getVersionSchema(w http.ResponseWriter, r *http.Request) {
	v, err := s.version(chi.URLParam(r, "subject"), chi.URLParam(r, "version"), boolParam(r, "deleted"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeRaw(w, v.Schema)
}

// writeRaw writes a schema's text unescaped, as Confluent's .../schema
// endpoints do.
func writeRaw(w http.ResponseWriter, schema string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(schema))
}

func (s *Server) referencedByHandler(w http.ResponseWriter, r *http.Request) {
	v, err := s.version(chi.URLParam(r, "subject"), chi.URLParam(r, "version"), true)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.state.referencedBy(v.Subject, v.Version))
}

func (s *Server) registerHandler(w http.ResponseWriter, r *http.Request) {
	if subject := chi.URLParam(r, "subject"); !validSubject(subject, false) {
		writeError(w, errInvalidSubject(subject))
		return
	}
	if s.forwardWrite(w, r) {
		return
	}
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	reg, err := s.register(r.Context(), chi.URLParam(r, "subject"), &req, boolParam(r, "normalize"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"id": reg.ID})
}

func (s *Server) lookupSchema(w http.ResponseWriter, r *http.Request) {
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	v, err := s.lookup(chi.URLParam(r, "subject"), &req, boolParam(r, "normalize"), boolParam(r, "deleted"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toSubjectSchema(v))
}

func (s *Server) deleteSubjectHandler(w http.ResponseWriter, r *http.Request) {
	if s.forwardWrite(w, r) {
		return
	}
	vs, err := s.deleteSubject(r.Context(), chi.URLParam(r, "subject"), boolParam(r, "permanent"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (s *Server) deleteVersionHandler(w http.ResponseWriter, r *http.Request) {
	if s.forwardWrite(w, r) {
		return
	}
	v, err := s.deleteVersion(r.Context(), chi.URLParam(r, "subject"), chi.URLParam(r, "version"), boolParam(r, "permanent"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// compatibilityHandler serves both compatibility endpoints: with
// {version} it checks against that version only.
func (s *Server) compatibilityHandler(w http.ResponseWriter, r *http.Request) {
	verbose := boolParam(r, "verbose")
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	msgs, err := s.compatibility(chi.URLParam(r, "subject"), chi.URLParam(r, "version"), &req, boolParam(r, "normalize"))
	if err != nil {
		status, code, msg := restError(err)
		if !verbose || code != codeInvalidSchema {
			writeErrorBody(w, status, code, msg)
			return
		}
		msgs = []string{msg}
	}
	resp := struct {
		IsCompatible bool      `json:"is_compatible"`
		Messages     *[]string `json:"messages,omitempty"` // only with verbose, then even when empty
	}{IsCompatible: len(msgs) == 0}
	if verbose {
		all := append([]string{}, msgs...)
		resp.Messages = &all
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) schemaTypes(w http.ResponseWriter, _ *http.Request) {
	types := make([]string, 0, len(s.formats))
	for _, t := range []string{TypeJSON, TypeProtobuf, TypeAvro} {
		if _, ok := s.formats[t]; ok {
			types = append(types, t)
		}
	}
	writeJSON(w, http.StatusOK, types)
}

// subjectOf returns the {subject} URL parameter ("" on global routes).
func subjectOf(r *http.Request) string {
	return strings.TrimSpace(chi.URLParam(r, "subject"))
}

// Subject names Confluent reserves for its global config and mode.
const (
	reservedGlobal = "__GLOBAL"
	reservedEmpty  = "__EMPTY"
)

// validSubject reports whether schemas may be registered under subject
// (configOrMode: whether it may carry a config or mode), following
// Confluent's QualifiedSubject.isValidSubject: no control characters
// (U+0000-U+001F, U+007F-U+009F, as Java's isISOControl) and not a
// reserved name. Sluice also refuses, for registration, the empty
// subject (Confluent does with schema.reject.empty.subject=true, and by
// default keeps accepting it only for deployments that already have one)
// and text that is not UTF-8, which the JSON of the _schemas records
// cannot carry unchanged.
func validSubject(subject string, configOrMode bool) bool {
	if !utf8.ValidString(subject) || strings.ContainsFunc(subject, unicode.IsControl) {
		return false
	}
	if subject == reservedGlobal || subject == reservedEmpty {
		return false
	}
	return configOrMode || subject != ""
}
