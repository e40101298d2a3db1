package registry

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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
	names := []string{}
	if prefix, ok := subjectPrefixParam(r); ok {
		names = s.state.subjectNames(prefix, lookupFilterParam(r, false))
	}
	names, err := page(r, names, unlimited)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, names)
}

// listVersions lists a subject's version numbers; deletedAsNegative
// lists soft-deleted ones as negative numbers, as Confluent does.
func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	filter := lookupFilterParam(r, true)
	all := s.state.versions(subject, true)
	withDeleted := boolParam(r, "deleted") || boolParam(r, "deletedOnly")
	if !slices.ContainsFunc(all, func(v *version) bool { return withDeleted || !v.Deleted }) {
		writeError(w, errSubjectNotFound(subject))
		return
	}
	numbers := []int{}
	for _, v := range all {
		switch {
		case !filter.includes(v.Deleted):
		case filter == filterDeletedAsNegative && v.Deleted:
			numbers = append(numbers, -v.Version)
		default:
			numbers = append(numbers, v.Version)
		}
	}
	numbers, err = page(r, numbers, unlimited)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, numbers)
}

// versionParam resolves {subject} and {version}.
func (s *Server) versionParam(r *http.Request, deleted bool) (*version, error) {
	subject, err := subjectParam(r)
	if err != nil {
		return nil, err
	}
	return s.version(subject, pathParam(r, "version"), deleted)
}

// getVersion serves a version; ?format picks the schema's output format.
// ?referenceFormat=qualified qualifies references with the subject's
// context in Confluent; in the default context (the only one here) the
// names stay as they are.
func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	v, err := s.versionParam(r, boolParam(r, "deleted"))
	if err != nil {
		writeError(w, err)
		return
	}
	out := toSubjectSchema(v)
	if out.Schema, err = s.formatted(r, v); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getVersionSchema(w http.ResponseWriter, r *http.Request) {
	v, err := s.versionParam(r, boolParam(r, "deleted"))
	if err != nil {
		writeError(w, err)
		return
	}
	text, err := s.formatted(r, v)
	if err != nil {
		writeError(w, err)
		return
	}
	writeRaw(w, text)
}

// writeRaw writes a schema's text unescaped, as Confluent's .../schema
// endpoints do.
func writeRaw(w http.ResponseWriter, schema string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(schema))
}

func (s *Server) referencedByHandler(w http.ResponseWriter, r *http.Request) {
	v, err := s.versionParam(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	ids, err := page(r, s.state.referencedBy(v.Subject, v.Version), defaultSchemaLimit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

// schemaRequestParams reads {subject} and a schema request body, with
// the default context's qualifier removed from the references' subjects.
func schemaRequestParams(r *http.Request) (string, *schemaRequest, error) {
	subject, err := subjectParam(r)
	if err != nil {
		return "", nil, err
	}
	var req schemaRequest
	if err := decode(r, &req); err != nil {
		return "", nil, err
	}
	if err := unqualifyReferences(req.References); err != nil {
		return "", nil, err
	}
	return subject, &req, nil
}

func (s *Server) registerHandler(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err == nil && !validSubject(subject, false) {
		err = errInvalidSubject(pathParam(r, "subject"))
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if s.forwardWrite(w, r) {
		return
	}
	subject, req, err := schemaRequestParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	reg, err := s.register(r.Context(), subject, req, boolParam(r, "normalize"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"id": reg.ID})
}

func (s *Server) lookupSchema(w http.ResponseWriter, r *http.Request) {
	subject, req, err := schemaRequestParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	normalize, deleted := boolParam(r, "normalize"), boolParam(r, "deleted")
	v, err := s.lookup(subject, req, normalize, deleted)
	if errors.Is(err, errLookupNotFound) {
		if p, perr := s.parse(req, normalize || s.normalizeConfig(subject)); perr == nil {
			if eq := s.equivalentVersion(subject, p, deleted); eq != nil {
				v, err = eq, nil
			}
		}
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out := toSubjectSchema(v)
	if out.Schema, err = s.formatted(r, v); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteSubjectHandler(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.forwardWrite(w, r) {
		return
	}
	vs, err := s.deleteSubject(r.Context(), subject, boolParam(r, "permanent"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (s *Server) deleteVersionHandler(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.forwardWrite(w, r) {
		return
	}
	v, err := s.deleteVersion(r.Context(), subject, pathParam(r, "version"), boolParam(r, "permanent"))
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
	subject, req, err := schemaRequestParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	msgs, err := s.compatibility(subject, pathParam(r, "version"), req, boolParam(r, "normalize"))
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

// subjectOf returns the {subject} URL parameter ("" on global routes),
// unescaped, trimmed and without a default-context qualifier.
func subjectOf(r *http.Request) (string, error) {
	s, err := subjectParam(r)
	return strings.TrimSpace(s), err
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
