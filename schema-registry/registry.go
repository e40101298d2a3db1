package registry

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// schemaRequest is the body of register, lookup and compatibility
// requests. ID and Version are honoured only in IMPORT mode.
type schemaRequest struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	contract
	ID      int `json:"id,omitempty"`
	Version int `json:"version,omitempty"`
}

func (r *schemaRequest) schemaType() string {
	if r.SchemaType == "" {
		return TypeAvro
	}
	return strings.ToUpper(r.SchemaType)
}

// parsedRequest is a request's schema, parsed, with the text the
// registry stores and compares (normalized when asked) and the contract
// (the request's, or at registration the one merged from the config and
// the previous version).
type parsedRequest struct {
	typ      string
	parsed   Parsed
	text     string
	refs     []Reference
	contract contract
	digest   digest // of typ, text, refs and contract
}

// withContract returns p carrying c instead.
func (p *parsedRequest) withContract(c contract) *parsedRequest {
	out := *p
	out.contract = c.normalize()
	out.digest = digestOf(out.typ, out.text, out.refs, out.contract)
	return &out
}

// parse resolves a request's references and parses its schema.
func (s *Server) parse(req *schemaRequest, normalize bool) (*parsedRequest, error) {
	typ := req.schemaType()
	format, ok := s.formats[typ]
	if !ok {
		return nil, newAPIError(codeInvalidSchema, "Invalid schema type %s", req.SchemaType)
	}
	resolved, err := s.resolveReferences(req.References)
	if err != nil {
		return nil, err
	}
	parsed, err := format.Parse(req.Schema, resolved)
	if err != nil {
		return nil, errInvalidSchema(err)
	}
	p := &parsedRequest{typ: typ, parsed: parsed, text: parsed.Canonical(), refs: req.References}
	if normalize {
		p.text = parsed.Normalized()
		p.refs = slices.Clone(p.refs)
		slices.SortFunc(p.refs, func(a, b Reference) int {
			return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
		})
		p.refs = slices.Compact(p.refs)
	}
	return p.withContract(req.contract), nil
}

// resolveReferences returns every referenced schema, transitively, with
// dependencies before dependents.
func (s *Server) resolveReferences(refs []Reference) ([]ResolvedReference, error) {
	var out []ResolvedReference
	seen := map[Reference]bool{}
	var visit func(refs []Reference) error
	visit = func(refs []Reference) error {
		for _, ref := range refs {
			key := Reference{Subject: ref.Subject, Version: ref.Version}
			if seen[key] {
				continue
			}
			seen[key] = true
			v, err := s.version(ref.Subject, strconv.Itoa(ref.Version), true)
			if err != nil {
				return errInvalidSchema(fmt.Errorf("reference %s to subject %s version %d: %w", ref.Name, ref.Subject, ref.Version, err))
			}
			if err := visit(v.References); err != nil {
				return err
			}
			out = append(out, ResolvedReference{Reference: ref, Type: v.Type, Schema: v.Schema})
		}
		return nil
	}
	return out, visit(refs)
}

// parseVersion checks a version id: 1..2^31-1, "latest" or -1 (both 0
// meaning latest).
func parseVersion(v string) (int, error) {
	if v == "latest" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 || n < -1 || n > math.MaxInt32 {
		return 0, errInvalidVersion(v)
	}
	if n == -1 {
		return 0, nil
	}
	return int(n), nil
}

// version finds a subject's version; latest means the latest undeleted
// one. deleted allows soft-deleted versions by number.
func (s *Server) version(subject, v string, deleted bool) (*version, error) {
	n, err := parseVersion(v)
	if err != nil {
		return nil, err
	}
	if !s.state.hasVersions(subject, true) {
		return nil, errSubjectNotFound(subject)
	}
	if n == 0 {
		latest := s.state.latest(subject, deleted)
		if latest == nil {
			return nil, errSubjectNotFound(subject)
		}
		return latest, nil
	}
	ver := s.state.versionNumber(subject, n)
	if ver == nil || ver.Deleted && !deleted {
		return nil, errVersionNotFound(v)
	}
	return ver, nil
}

// lookup finds the latest version of subject holding the request's
// schema (Confluent's lookUpSchemaUnderSubject): as sent, then with the
// metadata and rules registering it would give it (merged from the
// config in scope and the latest version), and for Protobuf through an
// equivalent descriptor.
func (s *Server) lookup(subject string, req *schemaRequest, normalize, deleted bool) (*version, error) {
	if !s.state.hasVersions(subject, deleted) {
		return nil, errSubjectNotFound(subject)
	}
	if err := req.RuleSet.checkEnums(); err != nil {
		return nil, err
	}
	p, err := s.parse(req, normalize || s.normalizeConfig(subject))
	if err != nil {
		return nil, err
	}
	candidates := []*parsedRequest{p}
	if latest := s.state.latest(subject, false); latest != nil {
		cfg, _ := s.state.configFor(subject, true)
		if merged := mergeContract(cfg, req.contract, latest); !merged.equal(p.contract) {
			candidates = append(candidates, p.withContract(merged))
		}
	}
	for _, c := range candidates {
		if found := s.state.schemaVersions(subject, c, deleted); len(found) > 0 {
			return found[len(found)-1], nil
		}
	}
	for _, c := range candidates {
		if eq := s.equivalentVersion(subject, c, deleted); eq != nil {
			return eq, nil
		}
	}
	return nil, errLookupNotFound
}

func sameSchema(v *version, p *parsedRequest) bool {
	return v.Type == p.typ && v.Schema == p.text && slices.Equal(v.References, p.refs) && v.contract.equal(p.contract)
}

// normalizeConfig reports the subject's (or global) normalize setting.
func (s *Server) normalizeConfig(subject string) bool {
	c, _ := s.state.configFor(subject, true)
	return c.Normalize != nil && *c.Normalize
}

// compatibility checks a request's schema against the subject's
// undeleted versions under its configured level, or against one version
// when v is set. It returns the incompatibilities.
func (s *Server) compatibility(subject, v string, req *schemaRequest, normalize bool) ([]string, error) {
	p, err := s.parse(req, normalize || s.normalizeConfig(subject))
	if err != nil {
		return nil, err
	}
	cfg, _ := s.state.configFor(subject, true)
	level := cfg.CompatibilityLevel
	var against []*version
	if v == "" {
		against = s.checkedVersions(subject, cfg, p.contract)
	} else {
		ver, err := s.version(subject, v, false)
		var ae *apiError
		if v == "latest" && errors.As(err, &ae) && ae.code == codeSubjectNotFound {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		against = inGroup([]*version{ver}, cfg.CompatibilityGroup, p.contract)
	}
	prev, err := s.parsePrevious(against)
	if err != nil {
		return nil, err
	}
	return checkCompatibility(level, p.typ, p.parsed, prev), nil
}

// checkedVersions returns the undeleted versions of subject a new schema
// with contract c is checked against under cfg: none for NONE, the
// latest for the non-transitive levels, all for the transitive ones;
// with a compatibility group, of the versions in c's group only.
func (s *Server) checkedVersions(subject string, cfg configValue, c contract) []*version {
	level := cfg.CompatibilityLevel
	switch {
	case level == LevelNone:
		return nil
	case cfg.CompatibilityGroup == "" && !strings.HasSuffix(level, "_TRANSITIVE"):
		if latest := s.state.latest(subject, false); latest != nil {
			return []*version{latest}
		}
		return nil
	}
	vs := inGroup(s.state.versions(subject, false), cfg.CompatibilityGroup, c)
	if !strings.HasSuffix(level, "_TRANSITIVE") && len(vs) > 0 {
		vs = vs[len(vs)-1:]
	}
	return vs
}

// inGroup keeps the versions whose metadata property named group has
// the value c's has (both absent counts as equal, as in Confluent); an
// empty group keeps all.
func inGroup(vs []*version, group string, c contract) []*version {
	if group == "" {
		return vs
	}
	want, wantOK := c.property(group)
	return slices.DeleteFunc(vs, func(v *version) bool {
		got, ok := v.property(group)
		return got != want || ok != wantOK
	})
}

// parsePrevious parses stored versions for a compatibility check, through
// the cache of parsed schemas.
func (s *Server) parsePrevious(versions []*version) ([]previous, error) {
	out := make([]previous, 0, len(versions))
	for _, v := range versions {
		p, err := s.parseStored(v)
		if err != nil {
			return nil, fmt.Errorf("parse subject %s version %d: %w", v.Subject, v.Version, err)
		}
		out = append(out, previous{version: v.Version, schema: p, typ: v.Type})
	}
	return out, nil
}

// parseStored parses a stored version, or takes it from the cache.
func (s *Server) parseStored(v *version) (Parsed, error) {
	format, ok := s.formats[v.Type]
	if !ok {
		return nil, fmt.Errorf("schema type %s is not served", v.Type)
	}
	resolved, err := s.resolveReferences(v.References)
	if err != nil {
		return nil, err
	}
	key := parsedKey(v.digest, resolved)
	if p, ok := s.parsed.get(key); ok {
		return p, nil
	}
	p, err := format.Parse(v.Schema, resolved)
	if err != nil {
		return nil, err
	}
	s.parsed.put(key, p)
	return p, nil
}
