package registry

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Writes run on the primary, one at a time (writeMu), after catching up
// with the topic, and return once their records are read back.

// registered is the result of a register call.
type registered struct {
	ID      int
	Version int
}

// register adds a schema to a subject (Confluent's register semantics:
// an identical undeleted schema returns its id and version without a
// compatibility check; an identical schema elsewhere lends its id).
func (s *Server) register(ctx context.Context, subject string, req *schemaRequest, normalize bool) (registered, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.store.readToEnd(ctx); err != nil {
		return registered{}, storeError(err)
	}
	mode, _ := s.state.modeFor(subject, true)
	if mode == ModeReadOnly {
		return registered{}, errReadOnly(subject)
	}
	p, err := s.parse(req, normalize || s.normalizeConfig(subject))
	if err != nil {
		return registered{}, err
	}
	all := s.state.versions(subject, true)
	for _, v := range all {
		if !v.Deleted && sameSchema(v, p) {
			return registered{ID: v.ID, Version: v.Version}, nil
		}
	}
	id, err := s.assignID(p, req, mode)
	if err != nil {
		return registered{}, err
	}
	if mode != ModeImport {
		if err := s.checkRegister(subject, p); err != nil {
			return registered{}, err
		}
	}
	next := 1
	if len(all) > 0 {
		next = all[len(all)-1].Version + 1
	}
	if mode == ModeImport && req.Version > 0 {
		next = req.Version
	}
	value := &schemaValue{Subject: subject, Version: next, ID: id, Schema: p.text, References: p.refs}
	if p.typ != TypeAvro {
		value.SchemaType = p.typ
	}
	if err := s.put(ctx, schemaKey(subject, next), value); err != nil {
		return registered{}, err
	}
	return registered{ID: id, Version: next}, nil
}

// assignID reuses the id of an identical schema, takes the requested one
// in IMPORT mode, or allocates max+1.
func (s *Server) assignID(p *parsedRequest, req *schemaRequest, mode string) (int, error) {
	existing, found := s.state.findID(p.typ, p.text, p.refs)
	if mode == ModeImport && req.ID > 0 {
		if other, ok := s.state.byID(req.ID); ok && (other.Schema != p.text || other.Type != p.typ) {
			return 0, newAPIError(codeIDMismatch, "Overwrite new schema with id %d is not permitted.", req.ID)
		}
		return req.ID, nil
	}
	if found {
		return existing, nil
	}
	s.state.mu.RLock()
	defer s.state.mu.RUnlock()
	return s.state.maxID + 1, nil
}

// checkRegister applies the subject's compatibility level.
func (s *Server) checkRegister(subject string, p *parsedRequest) error {
	cfg, _ := s.state.configFor(subject, true)
	prev, err := s.parsePrevious(s.state.versions(subject, false))
	if err != nil {
		return err
	}
	msgs := checkCompatibility(cfg.CompatibilityLevel, p.typ, p.parsed, prev)
	if len(msgs) == 0 {
		return nil
	}
	return newAPIError(codeIncompatible, "Schema being registered is incompatible with an earlier schema for subject %q, details: [%s]",
		subject, strings.Join(msgs, ", "))
}

// deleteVersion soft deletes a version, or removes a soft-deleted one.
func (s *Server) deleteVersion(ctx context.Context, subject, v string, permanent bool) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writable(ctx, subject); err != nil {
		return 0, err
	}
	ver, err := s.version(subject, v, permanent)
	if err != nil {
		return 0, err
	}
	if len(s.state.referencedBy(subject, ver.Version)) > 0 {
		return 0, newAPIError(codeReferenceExists, "One or more references exist to the schema {subject=%s,version=%d}.", subject, ver.Version)
	}
	if permanent {
		if !ver.Deleted {
			return 0, newAPIError(codeVersionNotSoftDeleted,
				"Subject '%s' Version %d was not deleted first before being permanently deleted", subject, ver.Version)
		}
		return ver.Version, s.put(ctx, schemaKey(subject, ver.Version), nil)
	}
	value := &schemaValue{Subject: subject, Version: ver.Version, ID: ver.ID, Schema: ver.Schema,
		References: ver.References, Deleted: true}
	if ver.Type != TypeAvro {
		value.SchemaType = ver.Type
	}
	return ver.Version, s.put(ctx, schemaKey(subject, ver.Version), value)
}

// deleteSubject soft deletes every version of a subject, or removes a
// soft-deleted subject with its config and mode.
func (s *Server) deleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writable(ctx, subject); err != nil {
		return nil, err
	}
	all := s.state.versions(subject, true)
	if len(all) == 0 {
		return nil, errSubjectNotFound(subject)
	}
	live := s.state.versions(subject, false)
	for _, v := range live {
		if len(s.state.referencedBy(subject, v.Version)) > 0 {
			return nil, newAPIError(codeReferenceExists, "One or more references exist to the schema {subject=%s,version=%d}.", subject, v.Version)
		}
	}
	if !permanent {
		if len(live) == 0 {
			return nil, newAPIError(codeSubjectSoftDeleted, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
		}
		value := &deleteSubjectValue{Subject: subject, Version: all[len(all)-1].Version}
		return versionNumbers(live), s.put(ctx, scopeKey(keyDeleteSubject, subject), value)
	}
	if len(live) > 0 {
		return nil, newAPIError(codeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
	}
	var recs []*kgo.Record
	for _, v := range slices.Backward(all) {
		r, err := record(schemaKey(subject, v.Version), nil)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	for _, kt := range []string{keyConfig, keyMode} {
		r, err := record(scopeKey(kt, subject), nil)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	if err := s.store.write(ctx, recs...); err != nil {
		return nil, storeError(err)
	}
	return versionNumbers(all), nil
}

func versionNumbers(vs []*version) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

// writable catches up with the topic and refuses writes in READONLY mode.
func (s *Server) writable(ctx context.Context, subject string) error {
	if err := s.store.readToEnd(ctx); err != nil {
		return storeError(err)
	}
	if mode, _ := s.state.modeFor(subject, true); mode == ModeReadOnly {
		return errReadOnly(subject)
	}
	return nil
}

// putScoped writes a CONFIG or MODE record (nil value deletes it).
func (s *Server) putScoped(ctx context.Context, keyType, subject string, value any) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.store.readToEnd(ctx); err != nil {
		return storeError(err)
	}
	return s.put(ctx, scopeKey(keyType, subject), value)
}

// put writes one record and waits until it is applied.
func (s *Server) put(ctx context.Context, key recordKey, value any) error {
	r, err := record(key, value)
	if err != nil {
		return err
	}
	if err := s.store.write(ctx, r); err != nil {
		return storeError(err)
	}
	return nil
}

// storeError reports a failed or timed-out store write with Confluent's
// codes.
func storeError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return newAPIError(codeTimeout, "Operation timed out: %v", err)
	}
	return newAPIError(codeStoreError, "Error while storing schema registry state: %v", err)
}
