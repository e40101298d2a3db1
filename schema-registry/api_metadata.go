package registry

import (
	"net/http"
	"slices"
)

// getLatestWithMetadata serves GET /subjects/{s}/metadata?key=k&value=v
// (repeatable; the i-th key pairs with the i-th value): the latest
// version (soft-deleted ones too with ?deleted) whose metadata
// properties include every pair, as Confluent's serializers ask with
// use.latest.with.metadata. No such version is 40403 "Schema not found",
// an unknown subject 40401; ?format applies as on the other reads.
func (s *Server) getLatestWithMetadata(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectParam(r)
	if err != nil {
		writeError(w, err)
		return
	}
	q := r.URL.Query()
	keys, values := q["key"], q["value"]
	want := map[string]string{}
	for i := range min(len(keys), len(values)) {
		want[keys[i]] = values[i]
	}
	deleted := boolParam(r, "deleted")
	for _, v := range slices.Backward(s.state.versions(subject, deleted)) {
		if v.hasProperties(want) {
			out := toSubjectSchema(v)
			if out.Schema, err = s.formatted(r, v); err != nil {
				writeError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	if !s.state.hasVersions(subject, deleted) {
		writeError(w, errSubjectNotFound(subject))
		return
	}
	writeError(w, errLookupNotFound)
}

// hasProperties reports whether the version has metadata whose
// properties include every pair of want (any metadata, for none).
func (v *version) hasProperties(want map[string]string) bool {
	if v.Metadata == nil {
		return false
	}
	for k, val := range want {
		if got, ok := v.Metadata.Properties[k]; !ok || got != val {
			return false
		}
	}
	return true
}
