package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Writes run on the primary, one at a time (writeLock), after catching up
// with the topic, and return once their records are read back; each step
// is bounded by the store timeout (see store_write.go).

// Operation names, as Confluent's timeout messages name them.
const (
	opRegister      = "Register"
	opDeleteVersion = "Delete Schema Version"
	opDeleteSubject = "Delete subject"
	opUpdateConfig  = "Update config"
	opUpdateMode    = "Update mode"
)

// beginWrite waits (up to the store timeout) for earlier writes to have an
// outcome, takes the write lock (as long as ctx allows) and reads the
// topic to its end. The caller runs release when done.
func (s *Server) beginWrite(ctx context.Context, op string) (release func(), err error) {
	if err := s.store.awaitSettled(ctx); err != nil {
		return nil, storeError(op, err)
	}
	select {
	case s.writeLock <- struct{}{}:
	case <-ctx.Done():
		return nil, storeError(op, fmt.Errorf("wait for the write lock: %w", ctx.Err()))
	}
	release = func() { <-s.writeLock }
	if err := s.store.catchUp(ctx); err != nil {
		release()
		return nil, storeError(op, err)
	}
	return release, nil
}

// registered is the result of a register call.
type registered struct {
	ID      int
	Version int
}

// register adds a schema to a subject (Confluent's register semantics:
// an identical undeleted schema returns its id and version without a
// compatibility check; an identical schema elsewhere lends its id).
func (s *Server) register(ctx context.Context, subject string, req *schemaRequest, normalize bool) (registered, error) {
	release, err := s.beginWrite(ctx, opRegister)
	if err != nil {
		return registered{}, err
	}
	defer release()
	mode, _ := s.state.modeFor(subject, true)
	if mode == ModeReadOnly {
		return registered{}, errReadOnly(subject)
	}
	p, err := s.parse(req, normalize || s.normalizeConfig(subject))
	if err != nil {
		return registered{}, err
	}
	if found := s.state.schemaVersions(subject, p, false); len(found) > 0 {
		return registered{ID: found[0].ID, Version: found[0].Version}, nil
	}
	if v := s.equivalentVersion(subject, p, false); v != nil {
		return registered{ID: v.ID, Version: v.Version}, nil
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
	next := s.state.lastVersionNumber(subject) + 1
	if mode == ModeImport && req.Version > 0 {
		next = req.Version
	}
	value := &schemaValue{Subject: subject, Version: next, ID: id, Schema: p.text, References: p.refs}
	if p.typ != TypeAvro {
		value.SchemaType = p.typ
	}
	if err := s.put(ctx, opRegister, schemaKey(subject, next), value); err != nil {
		return registered{}, err
	}
	// Readers skip a record whose id an earlier record gave another
	// schema (see state.applySchemaLocked); never answer with such an id.
	if got := s.state.versionNumber(subject, next); got == nil || got.ID != id || !sameSchema(got, p) {
		return registered{}, newAPIError(codeStoreError,
			"Register operation failed: schema id %d was taken by another write meanwhile; retry", id)
	}
	return registered{ID: id, Version: next}, nil
}

// assignID reuses the id of an identical schema, takes the requested one
// in IMPORT mode, or allocates max+1.
func (s *Server) assignID(p *parsedRequest, req *schemaRequest, mode string) (int, error) {
	existing, found := s.state.findID(p)
	if mode == ModeImport && req.ID > 0 {
		if other, ok := s.state.byID(req.ID); ok && (other.Schema != p.text || other.Type != p.typ ||
			!slices.Equal(other.References, p.refs)) {
			return 0, newAPIError(codeIDMismatch, "Overwrite new schema with id %d is not permitted.", req.ID)
		}
		return req.ID, nil
	}
	if found {
		return existing, nil
	}
	return s.state.nextID(), nil
}

// checkRegister applies the subject's compatibility level.
func (s *Server) checkRegister(subject string, p *parsedRequest) error {
	cfg, _ := s.state.configFor(subject, true)
	prev, err := s.parsePrevious(s.checkedVersions(subject, cfg.CompatibilityLevel))
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
	release, err := s.beginWrite(ctx, opDeleteVersion)
	if err != nil {
		return 0, err
	}
	defer release()
	if err := s.writable(subject); err != nil {
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
		return ver.Version, s.put(ctx, opDeleteVersion, schemaKey(subject, ver.Version), nil)
	}
	value := &schemaValue{Subject: subject, Version: ver.Version, ID: ver.ID, Schema: ver.Schema,
		References: ver.References, Deleted: true}
	if ver.Type != TypeAvro {
		value.SchemaType = ver.Type
	}
	return ver.Version, s.put(ctx, opDeleteVersion, schemaKey(subject, ver.Version), value)
}

// deleteSubject soft deletes every version of a subject, or removes a
// soft-deleted subject with its config and mode.
func (s *Server) deleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	release, err := s.beginWrite(ctx, opDeleteSubject)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := s.writable(subject); err != nil {
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
		return versionNumbers(live), s.put(ctx, opDeleteSubject, scopeKey(keyDeleteSubject, subject), value)
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
		return nil, storeError(opDeleteSubject, err)
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

// writable refuses writes in READONLY mode.
func (s *Server) writable(subject string) error {
	if mode, _ := s.state.modeFor(subject, true); mode == ModeReadOnly {
		return errReadOnly(subject)
	}
	return nil
}

// putScoped writes a CONFIG or MODE record (nil value deletes it).
func (s *Server) putScoped(ctx context.Context, keyType, subject string, value any) error {
	op := opUpdateConfig
	if keyType == keyMode {
		op = opUpdateMode
	}
	release, err := s.beginWrite(ctx, op)
	if err != nil {
		return err
	}
	defer release()
	return s.put(ctx, op, scopeKey(keyType, subject), value)
}

// put writes one record and waits until it is applied.
func (s *Server) put(ctx context.Context, op string, key recordKey, value any) error {
	r, err := record(key, value)
	if err != nil {
		return err
	}
	if err := s.store.write(ctx, r); err != nil {
		return storeError(op, err)
	}
	return nil
}

// storeError reports a failed store operation op with Confluent's codes:
// 50002 when it timed out (or an earlier write's outcome is still
// unknown), 42209 when the broker refused the record as too large, 50001
// otherwise.
func storeError(op string, err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errUnsettled):
		return newAPIError(codeTimeout, "%s operation timed out: %v", op, err)
	case errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge):
		return newAPIError(codeSchemaTooLarge, "%s operation failed because schema is too large", op)
	default:
		return newAPIError(codeStoreError, "Error while storing schema registry state (%s): %v", op, err)
	}
}
