package registry

import (
	"net/http"

	"github.com/go-chi/chi/v5"
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
	subject := subjectOf(r)
	c, ok := s.state.configFor(subject, subject == "" || boolParam(r, "defaultToGlobal"))
	if !ok {
		writeError(w, newAPIError(codeSubjectConfigNotFound, "Subject '%s' does not have subject-level compatibility configured", subject))
		return
	}
	writeJSON(w, http.StatusOK, configResponse(c))
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request) {
	if !checkScopeSubject(w, r) || s.forwardWrite(w, r) {
		return
	}
	var req configRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	level, err := parseLevel(req.Compatibility)
	if err == nil {
		err = s.putScoped(r.Context(), keyConfig, subjectOf(r), &configValue{CompatibilityLevel: level, Normalize: req.Normalize})
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, configRequest{Compatibility: level, Normalize: req.Normalize})
}

func (s *Server) deleteConfig(w http.ResponseWriter, r *http.Request) {
	if s.forwardWrite(w, r) {
		return
	}
	subject := subjectOf(r)
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
	subject := subjectOf(r)
	m, ok := s.state.modeFor(subject, subject == "" || boolParam(r, "defaultToGlobal"))
	if !ok {
		writeError(w, newAPIError(codeSubjectModeNotFound, "Subject '%s' does not have subject-level mode configured", subject))
		return
	}
	writeJSON(w, http.StatusOK, modeBody{m})
}

func (s *Server) putMode(w http.ResponseWriter, r *http.Request) {
	if !checkScopeSubject(w, r) || s.forwardWrite(w, r) {
		return
	}
	var req modeBody
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	subject := subjectOf(r)
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
	return len(s.state.subjectNames("", true)) > 0
}

func (s *Server) deleteMode(w http.ResponseWriter, r *http.Request) {
	if s.forwardWrite(w, r) {
		return
	}
	subject := subjectOf(r)
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
// subject (42208), as Confluent does, and reports whether it may go on.
func checkScopeSubject(w http.ResponseWriter, r *http.Request) bool {
	if subject := chi.URLParam(r, "subject"); !validSubject(subject, true) {
		writeError(w, errInvalidSubject(subject))
		return false
	}
	return true
}
