package registry

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// applyRecord encodes and applies one record to st.
func applyRecord(t *testing.T, st *state, key recordKey, value any) {
	t.Helper()
	k, v, err := encodeRecord(key, value)
	require.NoError(t, err)
	st.apply(k, v)
}

// TestStateIndexesFollowTheVersions applies random records (registrations
// reusing ids and schemas, soft deletes, tombstones, subject deletes) and
// checks after each that every index says what a scan of all versions
// says.
func TestStateIndexesFollowTheVersions(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	st := newState(discardLogger())
	subjects := []string{"a", "b", "c"}
	schemas := []string{`"int"`, `"long"`, `"string"`}
	for range 3000 {
		subject, ver := subjects[rng.IntN(3)], 1+rng.IntN(4)
		switch op := rng.IntN(10); {
		case op < 6:
			v := &schemaValue{Subject: subject, Version: ver, ID: 1 + rng.IntN(6), Schema: schemas[rng.IntN(3)], Deleted: rng.IntN(4) == 0}
			if rng.IntN(3) == 0 {
				v.References = []Reference{{Name: "r", Subject: subjects[rng.IntN(3)], Version: 1 + rng.IntN(4)}}
			}
			applyRecord(t, st, schemaKey(subject, ver), v)
		case op < 8:
			applyRecord(t, st, schemaKey(subject, ver), nil)
		case op < 9:
			applyRecord(t, st, scopeKey(keyDeleteSubject, subject), &deleteSubjectValue{Subject: subject, Version: ver})
		default:
			applyRecord(t, st, scopeKey(keyClearSubject, subject), &deleteSubjectValue{Subject: subject, Version: ver})
		}
		checkIndexes(t, st)
	}
}

// checkIndexes compares every index of st with a scan of its versions.
func checkIndexes(t *testing.T, st *state) {
	t.Helper()
	users := map[int][]subjectVersion{}
	hashes := map[digest][]int{}
	refs := map[subjectVersion][]subjectVersion{}
	for name, sub := range st.subjects {
		require.NotEmpty(t, sub.versions, "subject %s kept without versions", name)
		byDigest := map[digest][]int{}
		for i, v := range sub.versions {
			if i > 0 {
				require.Less(t, sub.versions[i-1].Version, v.Version)
			}
			require.Equal(t, digestOf(v.Type, v.Schema, v.References, v.contract), v.digest)
			byDigest[v.digest] = append(byDigest[v.digest], v.Version)
			key := subjectVersion{name, v.Version}
			users[v.ID] = append(users[v.ID], key)
			e := st.ids[v.ID]
			require.NotNil(t, e, "id %d of %v", v.ID, key)
			require.Equal(t, e.Schema, v.Schema, "every user of id %d holds its schema", v.ID)
			require.LessOrEqual(t, v.ID, st.maxID)
			for _, r := range v.References {
				target := subjectVersion{r.Subject, r.Version}
				refs[target] = append(refs[target], key)
			}
		}
		require.Equal(t, byDigest, sub.byDigest, "subject %s", name)
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(users)), slices.Collect(maps.Keys(st.ids)))
	for id, e := range st.ids {
		require.ElementsMatch(t, users[id], slices.Collect(maps.Keys(st.idUsers[id])), "users of id %d", id)
		hashes[e.digest] = append(hashes[e.digest], id)
	}
	for d := range hashes {
		slices.Sort(hashes[d])
	}
	require.Equal(t, hashes, st.idsByHash)
	require.Len(t, st.referrers, len(refs))
	for target, from := range refs {
		require.ElementsMatch(t, from, slices.Collect(maps.Keys(st.referrers[target])), "referrers of %v", target)
	}
}

// TestStateKeepsTheFirstSchemaOfAnID: a record giving an id already used
// by another version a different schema (a write that landed after its
// writer answered 50002 while another instance reused the id) is skipped
// by every reader alike; rewriting the only user of an id is not.
func TestStateKeepsTheFirstSchemaOfAnID(t *testing.T) {
	st := newState(discardLogger())
	applyRecord(t, st, schemaKey("a", 1), &schemaValue{Subject: "a", Version: 1, ID: 5, Schema: `"int"`})
	applyRecord(t, st, schemaKey("b", 1), &schemaValue{Subject: "b", Version: 1, ID: 5, Schema: `"long"`})
	e, ok := st.byID(5)
	require.True(t, ok)
	assert.Equal(t, `"int"`, e.Schema)
	assert.False(t, st.hasVersions("b", true), "the conflicting version is not applied")

	applyRecord(t, st, schemaKey("b", 1), &schemaValue{Subject: "b", Version: 1, ID: 5, Schema: `"int"`})
	assert.Len(t, st.idVersions(5, false), 2, "the same schema shares the id")

	applyRecord(t, st, schemaKey("c", 1), &schemaValue{Subject: "c", Version: 1, ID: 6, Schema: `"string"`})
	applyRecord(t, st, schemaKey("c", 1), &schemaValue{Subject: "c", Version: 1, ID: 6, Schema: `"bytes"`})
	e, _ = st.byID(6)
	assert.Equal(t, `"bytes"`, e.Schema, "an id's only user may be rewritten")
	checkIndexes(t, st)
}

// TestStateSoftDeleteCopies: a soft delete replaces the versions it
// deletes, so a version a handler already holds never changes under it.
func TestStateSoftDeleteCopies(t *testing.T) {
	st := newState(discardLogger())
	for v := 1; v <= 3; v++ {
		applyRecord(t, st, schemaKey("s", v), &schemaValue{Subject: "s", Version: v, ID: v, Schema: fmt.Sprintf(`{"type":"fixed","name":"f","size":%d}`, v)})
	}
	held := st.latest("s", false)
	applyRecord(t, st, scopeKey(keyDeleteSubject, "s"), &deleteSubjectValue{Subject: "s", Version: 3})
	assert.False(t, held.Deleted)
	assert.Nil(t, st.latest("s", false))
	assert.True(t, st.latest("s", true).Deleted)
	assert.Equal(t, []int{1, 2, 3}, versionNumbers(st.versions("s", true)))
}
