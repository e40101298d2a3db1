package registry

import (
	"net/http"
	"strings"
)

// configResponse is GET /config's body; PUT takes and returns
// configRequest (Confluent's asymmetry: compatibilityLevel vs
// compatibility).
type configResponse struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
	Normalize          *bool  `json:"normalize,omitempty"`
}

type configRequest struct {
	Compatibility string `json:"compatibility"`
	Normalize     *bool  `json:"normalize,omitempty"`
}

func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c, ok := s.state.configFor(subject, subject == "" || boolParam(r, "defaultToGlobal"))
	if !ok {
		writeError(w, newAPIError(codeSubjectConfigNotFound, "Subject '%s' does not have subject-level compatibility configured", subject))
		return
	}
	writeJSON(w, http.StatusOK, configResponse(c))
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	subject, ok := checkScopeSubject(w, r)
	if !ok || s.forwardWrite(w, r) {
		return
	}
	var req configRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	level, err := parseLevel(req.Compatibility)
	if err == nil {
		err = s.putScoped(r.Context(), keyConfig, subject, &configValue{CompatibilityLevel: level, Normalize: req.Normalize})
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, configRequest{Compatibility: level, Normalize: req.Normalize})
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.forwardWrite(w, r) {
		return
	}
	old, ok := s.state.configFor(subject, subject == "")
	if !ok {
		writeError(w, errSubjectNotFound(subject))
		return
	}
	if err := s.putScoped(r.Context(), keyConfig, subject, nil); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, configResponse(old))
}

type modeBody struct {
	Mode string `json:"mode"`
}

func (s *Server) getMode(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	m, ok := s.state.modeFor(subject, subject == "" || boolParam(r, "defaultToGlobal"))
	if !ok {
		writeError(w, newAPIError(codeSubjectModeNotFound, "Subject '%s' does not have subject-level mode configured", subject))
		return
	}
	writeJSON(w, http.StatusOK, modeBody{m})
}

func (s *Server) putMode(w http.ResponseWriter, r *http.Request) {
	subject, ok := checkScopeSubject(w, r)
	if !ok || s.forwardWrite(w, r) {
		return
	}
	var req modeBody
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	mode, err := parseMode(req.Mode)
	if err == nil && mode == ModeImport && !boolParam(r, "force") && s.hasSchemas(subject) {
		err = newAPIError(codeOperationNotPermitted, "Cannot import since found existing subjects")
	}
	if err == nil {
		err = s.putScoped(r.Context(), keyMode, subject, &modeValue{Mode: mode})
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, modeBody{mode})
}

// hasSchemas reports whether the subject (or, for "", any subject) has
// versions.
func (s *Server) hasSchemas(subject string) bool {
	if subject != "" {
		return s.state.hasVersions(subject, true)
	}
	return len(s.state.subjectNames("", filterIncludeDeleted)) > 0
}

func (s *Server) deleteMode(w http.ResponseWriter, r *http.Request) {
	subject, err := subjectOf(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if s.forwardWrite(w, r) {
		return
	}
	old, ok := s.state.modeFor(subject, subject == "")
	if !ok {
		writeError(w, errSubjectNotFound(subject))
		return
	}
	if err := s.putScoped(r.Context(), keyMode, subject, nil); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, modeBody{old})
}

// checkScopeSubject refuses to set a config or mode for an invalid
// subject (42208), as Confluent does, and returns the subject (see
// subjectOf) and whether the handler may go on.
func checkScopeSubject(w http.ResponseWriter, r *http.Request) (string, bool) {
	subject, err := subjectParam(r)
	if err == nil && !validSubject(subject, true) {
		err = errInvalidSubject(pathParam(r, "subject"))
	}
	if err != nil {
		writeError(w, err)
		return "", false
	}
	return strings.TrimSpace(subject), true
}
