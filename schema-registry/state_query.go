package registry

import (
	"slices"
	"sort"
	"strings"
)

// Queries on the state. Each takes the read lock and looks at the
// versions it needs, through the indexes, not at every version.

// versions returns a subject's versions (deleted ones only if asked).
func (s *state) versions(subject string, deleted bool) []*version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*version
	if sub := s.subjects[subject]; sub != nil {
		for _, v := range sub.versions {
			if deleted || !v.Deleted {
				out = append(out, v)
			}
		}
	}
	return out
}

// hasVersions reports whether a subject has a version (an undeleted one
// unless deleted).
func (s *state) hasVersions(subject string, deleted bool) bool {
	return s.latest(subject, deleted) != nil
}

// latest returns a subject's latest undeleted version; with deleted, the
// latest of all when none is undeleted. nil when there is none.
func (s *state) latest(subject string, deleted bool) *version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sub := s.subjects[subject]
	if sub == nil {
		return nil
	}
	for _, v := range slices.Backward(sub.versions) {
		if !v.Deleted {
			return v
		}
	}
	if deleted && len(sub.versions) > 0 {
		return sub.versions[len(sub.versions)-1]
	}
	return nil
}

// lastVersionNumber returns the highest version number a subject has,
// deleted or not (0 without versions).
func (s *state) lastVersionNumber(subject string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sub := s.subjects[subject]; sub != nil && len(sub.versions) > 0 {
		return sub.versions[len(sub.versions)-1].Version
	}
	return 0
}

// versionNumber returns a subject's version n, deleted or not.
func (s *state) versionNumber(subject string, n int) *version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sub := s.subjects[subject]
	if sub == nil {
		return nil
	}
	i, found := slices.BinarySearchFunc(sub.versions, n, func(v *version, n int) int { return v.Version - n })
	if !found {
		return nil
	}
	return sub.versions[i]
}

// schemaVersions returns the subject's versions holding exactly the
// schema p (deleted ones only if asked), ascending.
func (s *state) schemaVersions(subject string, p *parsedRequest, deleted bool) []*version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sub := s.subjects[subject]
	if sub == nil {
		return nil
	}
	var out []*version
	for _, n := range sub.byDigest[p.digest] {
		i, _ := slices.BinarySearchFunc(sub.versions, n, func(v *version, n int) int { return v.Version - n })
		if v := sub.versions[i]; (deleted || !v.Deleted) && sameSchema(v, p) {
			out = append(out, v)
		}
	}
	return out
}

// subjectNames lists the subjects with at least one version the filter
// includes, sorted.
func (s *state) subjectNames(prefix string, filter lookupFilter) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []string{}
	for name, sub := range s.subjects {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if slices.ContainsFunc(sub.versions, func(v *version) bool { return filter.includes(v.Deleted) }) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// byID returns the schema with an id.
func (s *state) byID(id int) (*schemaByID, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.ids[id]
	return e, ok
}

// idVersions lists the subject versions using an id.
func (s *state) idVersions(id int, deleted bool) []*version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*version
	for key := range s.idUsers[id] {
		if v := s.versionLocked(key); v != nil && (deleted || !v.Deleted) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Subject < out[j].Subject || out[i].Subject == out[j].Subject && out[i].Version < out[j].Version
	})
	return out
}

func (s *state) versionLocked(key subjectVersion) *version {
	sub := s.subjects[key.subject]
	if sub == nil {
		return nil
	}
	i, found := slices.BinarySearchFunc(sub.versions, key.version, func(v *version, n int) int { return v.Version - n })
	if !found {
		return nil
	}
	return sub.versions[i]
}

// findID returns the lowest id of a schema identical to p in any subject.
func (s *state) findID(p *parsedRequest) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range s.idsByHash[p.digest] {
		if e := s.ids[id]; e.Type == p.typ && e.Schema == p.text && slices.Equal(e.References, p.refs) {
			return id, true
		}
	}
	return 0, false
}

// nextID returns the id a new schema gets: one more than the highest ever
// applied.
func (s *state) nextID() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.maxID + 1
}

// referencedBy lists ids of undeleted versions referencing subject/version.
func (s *state) referencedBy(subject string, ver int) []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []int{}
	for key := range s.referrers[subjectVersion{subject, ver}] {
		if v := s.versionLocked(key); v != nil && !v.Deleted {
			out = append(out, v.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// configFor returns the subject's config, or with fallback the global one
// (and the default BACKWARD); ok is false when nothing applies.
func (s *state) configFor(subject string, fallback bool) (configValue, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.config[subject]; ok {
		return c, true
	}
	if !fallback {
		return configValue{}, false
	}
	if c, ok := s.config[""]; ok {
		return c, true
	}
	return configValue{CompatibilityLevel: LevelBackward}, true
}

// modeFor is configFor for the mode (default READWRITE).
func (s *state) modeFor(subject string, fallback bool) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m, ok := s.mode[subject]; ok {
		return m, true
	}
	if !fallback {
		return "", false
	}
	if m, ok := s.mode[""]; ok {
		return m, true
	}
	return ModeReadWrite, true
}
