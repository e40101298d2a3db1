package registry

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// version is one registered version of a subject. A version is never
// changed once applied (a soft delete applies a changed copy), so
// handlers read the versions they got without the lock.
type version struct {
	Subject    string
	Version    int
	ID         int
	Type       string
	Schema     string
	References []Reference
	contract   // metadata and rule set
	Deleted    bool
	digest     digest // of Type, Schema, References and contract
}

// schemaByID is what an id resolves to.
type schemaByID struct {
	Type       string
	Schema     string
	References []Reference
	contract
	digest digest
}

// same reports whether e holds exactly v's schema.
func (e *schemaByID) same(v *version) bool {
	return e.digest == v.digest && e.Type == v.Type && e.Schema == v.Schema &&
		slices.Equal(e.References, v.References) && e.contract.equal(v.contract)
}

// digest identifies a schema's type, text, references and contract
// (metadata and rules): the key under
// which identical schemas are found without comparing against every one,
// as Confluent's registry finds them by an MD5 of the same. SHA-256 here,
// and a match is still compared in full.
type digest [sha256.Size]byte

func digestOf(typ, schema string, refs []Reference, c contract) digest {
	h := sha256.New()
	for _, s := range []string{typ, schema, c.key()} {
		writeField(h, s)
	}
	for _, r := range refs {
		writeField(h, r.Name)
		writeField(h, r.Subject)
		writeField(h, strconv.Itoa(r.Version))
	}
	return digest(h.Sum(nil))
}

// writeField writes s with its length first, so fields cannot run into
// each other.
func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	_, _ = io.WriteString(h, s)
}

// subjectVersion names one version of one subject.
type subjectVersion struct {
	subject string
	version int
}

// subjectState is one subject's versions and their index.
type subjectState struct {
	versions []*version       // ascending by Version
	byDigest map[digest][]int // version numbers holding each schema
}

// state is everything the _schemas topic holds, rebuilt by applying its
// records in order. Only the topic reader mutates it (apply); request
// handlers read under mu. Besides the subjects it keeps indexes, so no
// request has to look at every version: schemas by digest, the versions
// using each id, and the versions referencing each version.
type state struct {
	log *slog.Logger

	mu        sync.RWMutex
	subjects  map[string]*subjectState
	ids       map[int]*schemaByID
	idUsers   map[int]map[subjectVersion]struct{}
	idsByHash map[digest][]int // ascending
	referrers map[subjectVersion]map[subjectVersion]struct{}
	maxID     int
	config    map[string]configValue // "" = global
	mode      map[string]string      // "" = global
}

func newState(log *slog.Logger) *state {
	return &state{
		log:       log,
		subjects:  map[string]*subjectState{},
		ids:       map[int]*schemaByID{},
		idUsers:   map[int]map[subjectVersion]struct{}{},
		idsByHash: map[digest][]int{},
		referrers: map[subjectVersion]map[subjectVersion]struct{}{},
		config:    map[string]configValue{},
		mode:      map[string]string{},
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
	entry := &version{Subject: subject, Version: ver, ID: v.ID, Type: v.schemaType(),
		Schema: v.Schema, References: v.References, contract: v.contract.normalize(), Deleted: v.Deleted}
	entry.digest = digestOf(entry.Type, entry.Schema, entry.References, entry.contract)
	if v.Subject != subject || v.Version != ver {
		s.log.Warn("skipping _schemas record whose value names another subject version than its key",
			"subject", subject, "version", ver, "value_subject", v.Subject, "value_version", v.Version)
		return nil
	}
	if s.idTakenLocked(entry) {
		// Every reader applies the topic in the same order, so each
		// keeps the first schema that took the id. A second one can only
		// come from a write whose outcome was unknown to its writer (it
		// answered 50002) while another instance handed out the id again.
		s.log.Warn("skipping _schemas record reusing the id of a different schema",
			"subject", subject, "version", ver, "id", v.ID)
		return nil
	}
	s.removeVersionLocked(subject, ver)
	s.addVersionLocked(entry)
	return nil
}

// idTakenLocked reports whether entry's id already names a different
// schema used by some other version.
func (s *state) idTakenLocked(entry *version) bool {
	e, ok := s.ids[entry.ID]
	if !ok || e.same(entry) {
		return false
	}
	self := subjectVersion{entry.Subject, entry.Version}
	for user := range s.idUsers[entry.ID] {
		if user != self {
			return true
		}
	}
	return false
}

// addVersionLocked adds a version (none with its number may exist) to
// the subject and every index.
func (s *state) addVersionLocked(v *version) {
	sub := s.subjects[v.Subject]
	if sub == nil {
		sub = &subjectState{byDigest: map[digest][]int{}}
		s.subjects[v.Subject] = sub
	}
	i := sort.Search(len(sub.versions), func(i int) bool { return sub.versions[i].Version >= v.Version })
	sub.versions = slices.Insert(sub.versions, i, v)
	sub.byDigest[v.digest] = insertSorted(sub.byDigest[v.digest], v.Version)

	key := subjectVersion{v.Subject, v.Version}
	if s.idUsers[v.ID] == nil {
		s.idUsers[v.ID] = map[subjectVersion]struct{}{}
	}
	s.idUsers[v.ID][key] = struct{}{}
	if _, ok := s.ids[v.ID]; !ok {
		s.ids[v.ID] = &schemaByID{Type: v.Type, Schema: v.Schema, References: v.References, contract: v.contract, digest: v.digest}
		s.idsByHash[v.digest] = insertSorted(s.idsByHash[v.digest], v.ID)
	}
	s.maxID = max(s.maxID, v.ID)
	for _, r := range v.References {
		target := subjectVersion{r.Subject, r.Version}
		if s.referrers[target] == nil {
			s.referrers[target] = map[subjectVersion]struct{}{}
		}
		s.referrers[target][key] = struct{}{}
	}
}

// removeVersionLocked drops a version from the subject and every index
// and, when no version uses its id any more, the id.
func (s *state) removeVersionLocked(subject string, ver int) {
	sub := s.subjects[subject]
	if sub == nil {
		return
	}
	i, found := slices.BinarySearchFunc(sub.versions, ver, func(v *version, n int) int { return v.Version - n })
	if !found {
		return
	}
	old := sub.versions[i]
	sub.versions = slices.Delete(sub.versions, i, i+1)
	sub.byDigest[old.digest] = deleteSorted(sub.byDigest[old.digest], ver)
	if len(sub.byDigest[old.digest]) == 0 {
		delete(sub.byDigest, old.digest)
	}
	if len(sub.versions) == 0 {
		delete(s.subjects, subject)
	}

	key := subjectVersion{subject, ver}
	for _, r := range old.References {
		target := subjectVersion{r.Subject, r.Version}
		delete(s.referrers[target], key)
		if len(s.referrers[target]) == 0 {
			delete(s.referrers, target)
		}
	}
	delete(s.idUsers[old.ID], key)
	if len(s.idUsers[old.ID]) > 0 {
		return
	}
	delete(s.idUsers, old.ID)
	if e, ok := s.ids[old.ID]; ok {
		s.idsByHash[e.digest] = deleteSorted(s.idsByHash[e.digest], old.ID)
		if len(s.idsByHash[e.digest]) == 0 {
			delete(s.idsByHash, e.digest)
		}
		delete(s.ids, old.ID)
	}
}

func (s *state) applySubjectLocked(value []byte, clear bool) error {
	if value == nil {
		return nil
	}
	var v deleteSubjectValue
	if err := json.Unmarshal(value, &v); err != nil {
		return err
	}
	sub := s.subjects[v.Subject]
	if sub == nil {
		return nil
	}
	for _, ver := range slices.Clone(sub.versions) {
		switch {
		case ver.Version > v.Version:
		case clear:
			s.removeVersionLocked(v.Subject, ver.Version)
		case !ver.Deleted:
			deleted := *ver
			deleted.Deleted = true
			i, _ := slices.BinarySearchFunc(sub.versions, ver.Version, func(v *version, n int) int { return v.Version - n })
			sub.versions[i] = &deleted
		}
	}
	return nil
}

// insertSorted adds n to an ascending slice unless present.
func insertSorted(xs []int, n int) []int {
	i, found := slices.BinarySearch(xs, n)
	if found {
		return xs
	}
	return slices.Insert(xs, i, n)
}

// deleteSorted removes n from an ascending slice.
func deleteSorted(xs []int, n int) []int {
	if i, found := slices.BinarySearch(xs, n); found {
		return slices.Delete(xs, i, i+1)
	}
	return xs
}
