package registry

import (
	"net/http"
	"slices"
)

// idSchema is GET /schemas/ids/{id}'s body.
type idSchema struct {
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
}

// schemaForID resolves {id}, restricted to ?subject when given.
func (s *Server) schemaForID(r *http.Request) (*schemaByID, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	e, ok := s.state.byID(id)
	if !ok {
		return nil, errSchemaNotFound(id)
	}
	subject, err := unqualifySubject(r.URL.Query().Get("subject"))
	if err != nil {
		return nil, err
	}
	if subject != "" {
		if !slices.ContainsFunc(s.state.idVersions(id, true), func(v *version) bool { return v.Subject == subject }) {
			return nil, errSchemaNotFound(id)
		}
	}
	return e, nil
}

// getByID serves GET /schemas/ids/{id}; ?format picks the output format
// (Confluent's JavaScript client asks format=serialized for Protobuf) and
// ?referenceFormat=qualified changes nothing in the default context.
func (s *Server) getByID(w http.ResponseWriter, r *http.Request) {
	e, err := s.schemaForID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out := idSchema{References: e.References}
	if e.Type != TypeAvro {
		out.SchemaType = e.Type
	}
	if out.Schema, err = s.formatted(r, idVersion(e)); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getByIDSchema(w http.ResponseWriter, r *http.Request) {
	e, err := s.schemaForID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	text, err := s.formatted(r, idVersion(e))
	if err != nil {
		writeError(w, err)
		return
	}
	writeRaw(w, text)
}

// idVersion is the schema of an id as a version, to be parsed and
// formatted.
func idVersion(e *schemaByID) *version {
	return &version{Type: e.Type, Schema: e.Schema, References: e.References, digest: e.digest}
}

// idVersionsFor lists the versions using {id}; an unknown id is 40403.
func (s *Server) idVersionsFor(r *http.Request) ([]*version, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	subject, err := unqualifySubject(r.URL.Query().Get("subject"))
	if err != nil {
		return nil, err
	}
	vs := s.state.idVersions(id, boolParam(r, "deleted"))
	if subject != "" {
		vs = slices.DeleteFunc(vs, func(v *version) bool { return v.Subject != subject })
	}
	if _, ok := s.state.byID(id); !ok {
		return nil, errSchemaNotFound(id)
	}
	return vs, nil
}

func (s *Server) getIDVersions(w http.ResponseWriter, r *http.Request) {
	vs, err := s.idVersionsFor(r)
	if err != nil {
		writeError(w, err)
		return
	}
	type subjectVersion struct {
		Subject string `json:"subject"`
		Version int    `json:"version"`
	}
	out := make([]subjectVersion, len(vs))
	for i, v := range vs {
		out[i] = subjectVersion{v.Subject, v.Version}
	}
	if out, err = page(r, out, unlimited); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getIDSubjects(w http.ResponseWriter, r *http.Request) {
	vs, err := s.idVersionsFor(r)
	if err != nil {
		writeError(w, err)
		return
	}
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Subject)
	}
	slices.Sort(out)
	if out, err = page(r, slices.Compact(out), unlimited); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listSchemas serves GET /schemas: the versions of the subjects with
// ?subjectPrefix (soft-deleted ones with ?deleted, only each subject's
// latest with ?latestOnly), by subject and version, a page of at most
// 1000 by default (Confluent's schema.search.default.limit).
func (s *Server) listSchemas(w http.ResponseWriter, r *http.Request) {
	out := []subjectSchema{}
	deleted, latestOnly := boolParam(r, "deleted"), boolParam(r, "latestOnly")
	filter := filterLive
	if deleted {
		filter = filterIncludeDeleted
	}
	if prefix, ok := subjectPrefixParam(r); ok {
		for _, subject := range s.state.subjectNames(prefix, filter) {
			vs := s.state.versions(subject, deleted)
			if latestOnly && len(vs) > 0 {
				vs = vs[len(vs)-1:]
			}
			for _, v := range vs {
				out = append(out, toSubjectSchema(v))
			}
		}
	}
	out, err := page(r, out, defaultSchemaLimit)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
