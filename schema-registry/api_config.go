package registry

import (
	"encoding/json"
	"net/http"
	"strings"
)

// GET /config answers with configValue (compatibilityLevel); PUT takes
// configRequest and answers with configUpdate (Confluent's asymmetry:
// compatibilityLevel vs compatibility).

// configRequest is PUT /config's body. As in Confluent, an absent field
// keeps the stored value and an explicit null clears it.
type configRequest struct {
	Compatibility      optional[*string]   `json:"compatibility"`
	Normalize          optional[*bool]     `json:"normalize"`
	CompatibilityGroup optional[string]    `json:"compatibilityGroup"`
	DefaultMetadata    optional[*Metadata] `json:"defaultMetadata"`
	OverrideMetadata   optional[*Metadata] `json:"overrideMetadata"`
	DefaultRuleSet     optional[*RuleSet]  `json:"defaultRuleSet"`
	OverrideRuleSet    optional[*RuleSet]  `json:"overrideRuleSet"`
}

// optional is a JSON field that may be absent (set false), null (set,
// zero value) or given.
type optional[T any] struct {
	set   bool
	value T
}

func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.set = true
	return json.Unmarshal(b, &o.value)
}

// or returns the given value, or old when the field was absent.
func (o optional[T]) or(old T) T {
	if o.set {
		return o.value
	}
	return old
}

// configUpdate is PUT /config's answer: the config now stored, in the
// request's shape.
type configUpdate struct {
	Compatibility      string    `json:"compatibility,omitempty"`
	Normalize          *bool     `json:"normalize,omitempty"`
	CompatibilityGroup string    `json:"compatibilityGroup,omitempty"`
	DefaultMetadata    *Metadata `json:"defaultMetadata,omitempty"`
	OverrideMetadata   *Metadata `json:"overrideMetadata,omitempty"`
	DefaultRuleSet     *RuleSet  `json:"defaultRuleSet,omitempty"`
	OverrideRuleSet    *RuleSet  `json:"overrideRuleSet,omitempty"`
}

// update returns old with req applied (Confluent's ConfigValue.update),
// refusing an unknown level (42203) and an invalid rule set (400, 42210).
func (req *configRequest) update(old configValue) (configValue, error) {
	c := configValue{
		CompatibilityLevel: old.CompatibilityLevel,
		Normalize:          req.Normalize.or(old.Normalize),
		CompatibilityGroup: req.CompatibilityGroup.or(old.CompatibilityGroup),
		DefaultMetadata:    req.DefaultMetadata.or(old.DefaultMetadata),
		OverrideMetadata:   req.OverrideMetadata.or(old.OverrideMetadata),
		DefaultRuleSet:     req.DefaultRuleSet.or(old.DefaultRuleSet),
		OverrideRuleSet:    req.OverrideRuleSet.or(old.OverrideRuleSet),
	}
	if req.Compatibility.set {
		c.CompatibilityLevel = ""
		if req.Compatibility.value != nil {
			level, err := parseLevel(*req.Compatibility.value)
			if err != nil {
				return configValue{}, err
			}
			c.CompatibilityLevel = level
		}
	}
	for _, rs := range []optional[*RuleSet]{req.DefaultRuleSet, req.OverrideRuleSet} {
		if err := checkContract(contract{RuleSet: rs.value}); err != nil {
			return configValue{}, err
		}
	}
	c.DefaultMetadata = contract{Metadata: c.DefaultMetadata}.normalize().Metadata
	c.OverrideMetadata = contract{Metadata: c.OverrideMetadata}.normalize().Metadata
	c.DefaultRuleSet = contract{RuleSet: c.DefaultRuleSet}.normalize().RuleSet
	c.OverrideRuleSet = contract{RuleSet: c.OverrideRuleSet}.normalize().RuleSet
	return c, nil
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
	writeJSON(w, http.StatusOK, c)
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
	c, err := s.updateConfig(r.Context(), subject, &req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, configUpdate{Compatibility: c.CompatibilityLevel, Normalize: c.Normalize,
		CompatibilityGroup: c.CompatibilityGroup, DefaultMetadata: c.DefaultMetadata, OverrideMetadata: c.OverrideMetadata,
		DefaultRuleSet: c.DefaultRuleSet, OverrideRuleSet: c.OverrideRuleSet})
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
	writeJSON(w, http.StatusOK, old)
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
