package registry

import (
	"encoding/json"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
)

// version is one registered version of a subject.
type version struct {
	Subject    string
	Version    int
	ID         int
	Type       string
	Schema     string
	References []Reference
	Deleted    bool
}

// schemaByID is what an id resolves to.
type schemaByID struct {
	Type       string
	Schema     string
	References []Reference
}

// state is everything the _schemas topic holds, rebuilt by applying its
// records in order. Only the topic reader mutates it (apply); request
// handlers read under mu.
type state struct {
	log *slog.Logger

	mu       sync.RWMutex
	subjects map[string][]*version // ascending by Version
	ids      map[int]*schemaByID
	maxID    int
	config   map[string]configValue // "" = global
	mode     map[string]string      // "" = global
}

func newState(log *slog.Logger) *state {
	return &state{
		log:      log,
		subjects: map[string][]*version{},
		ids:      map[int]*schemaByID{},
		config:   map[string]configValue{},
		mode:     map[string]string{},
	}
}

// apply applies one _schemas record. Records it cannot decode are logged
// and skipped, like Confluent's reader: one bad record must not stop the
// registry.
func (s *state) apply(key, value []byte) {
	var k recordKey
	if err := json.Unmarshal(key, &k); err != nil {
		s.log.Warn("skipping undecodable _schemas key", "key", string(key), "error", err)
		return
	}
	subject := ""
	if k.Subject != nil {
		subject = *k.Subject
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch k.KeyType {
	case keySchema:
		err = s.applySchemaLocked(subject, k.Version, value)
	case keyConfig:
		err = applyScoped(value, func(v configValue) { s.config[subject] = v }, func() { delete(s.config, subject) })
	case keyMode:
		err = applyScoped(value, func(v modeValue) { s.mode[subject] = v.Mode }, func() { delete(s.mode, subject) })
	case keyDeleteSubject:
		err = s.applySubjectLocked(value, false)
	case keyClearSubject:
		err = s.applySubjectLocked(value, true)
	}
	if err != nil {
		s.log.Warn("skipping undecodable _schemas value", "key", string(key), "error", err)
	}
}

// applyScoped decodes a CONFIG or MODE value, or clears it on a tombstone.
func applyScoped[T any](value []byte, set func(T), clear func()) error {
	if value == nil {
		clear()
		return nil
	}
	var v T
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	set(v)
	return nil
}

func (s *state) applySchemaLocked(subject string, ver int, value []byte) error {
	if value == nil {
		s.removeVersionLocked(subject, ver)
		return nil
	}
	var v schemaValue
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	entry := &version{Subject: v.Subject, Version: v.Version, ID: v.ID, Type: v.schemaType(),
		Schema: v.Schema, References: v.References, Deleted: v.Deleted}
	versions := s.subjects[subject]
	i := sort.Search(len(versions), func(i int) bool { return versions[i].Version >= v.Version })
	if i < len(versions) && versions[i].Version == v.Version {
		versions[i] = entry
	} else {
		versions = slices.Insert(versions, i, entry)
	}
	s.subjects[subject] = versions
	s.ids[v.ID] = &schemaByID{Type: entry.Type, Schema: v.Schema, References: v.References}
	s.maxID = max(s.maxID, v.ID)
	return nil
}

// removeVersionLocked drops a version and, when no version uses its id
// any more, the id.
func (s *state) removeVersionLocked(subject string, ver int) {
	versions := s.subjects[subject]
	i := slices.IndexFunc(versions, func(v *version) bool { return v.Version == ver })
	if i < 0 {
		return
	}
	id := versions[i].ID
	versions = slices.Delete(versions, i, i+1)
	if len(versions) == 0 {
		delete(s.subjects, subject)
	} else {
		s.subjects[subject] = versions
	}
	for _, vs := range s.subjects {
		for _, v := range vs {
			if v.ID == id {
				return
			}
		}
	}
	delete(s.ids, id)
}

func (s *state) applySubjectLocked(value []byte, clear bool) error {
	if value == nil {
		return nil
	}
	var v deleteSubjectValue
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	for _, ver := range slices.Clone(s.subjects[v.Subject]) {
		if ver.Version > v.Version {
			continue
		}
		if clear {
			s.removeVersionLocked(v.Subject, ver.Version)
		} else {
			ver.Deleted = true
		}
	}
	return nil
}

// versions returns a subject's versions (deleted ones only if asked).
func (s *state) versions(subject string, deleted bool) []*version {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*version
	for _, v := range s.subjects[subject] {
		if deleted || !v.Deleted {
			out = append(out, v)
		}
	}
	return out
}

// subjectNames lists subjects with at least one (undeleted, unless
// deleted) version, sorted.
func (s *state) subjectNames(prefix string, deleted bool) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []string{}
	for name, vs := range s.subjects {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if slices.ContainsFunc(vs, func(v *version) bool { return deleted || !v.Deleted }) {
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
	for _, vs := range s.subjects {
		for _, v := range vs {
			if v.ID == id && (deleted || !v.Deleted) {
				out = append(out, v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Subject < out[j].Subject || out[i].Subject == out[j].Subject && out[i].Version < out[j].Version
	})
	return out
}

// findID returns the id of an identical schema in any subject.
func (s *state) findID(typ, schema string, refs []Reference) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, e := range s.ids {
		if e.Type == typ && e.Schema == schema && slices.Equal(e.References, refs) {
			return id, true
		}
	}
	return 0, false
}

// referencedBy lists ids of undeleted versions referencing subject/version.
func (s *state) referencedBy(subject string, ver int) []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []int{}
	for _, vs := range s.subjects {
		for _, v := range vs {
			if !v.Deleted && slices.ContainsFunc(v.References, func(r Reference) bool {
				return r.Subject == subject && r.Version == ver
			}) {
				out = append(out, v.ID)
			}
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
