package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLevelAndMode(t *testing.T) {
	l, err := parseLevel("full_transitive")
	require.NoError(t, err)
	assert.Equal(t, LevelFullTransitive, l)
	_, err = parseLevel("sideways")
	assert.ErrorIs(t, err, errInvalidLevel)
	m, err := parseMode("import")
	require.NoError(t, err)
	assert.Equal(t, ModeImport, m)
	_, err = parseMode("FORWARDING")
	assert.ErrorIs(t, err, errInvalidMode)
	_, err = parseMode("forward")
	assert.ErrorIs(t, err, errForwardMode)
}

// TestCompatibilityLevels is the matrix: each level against a change
// that breaks only one direction, and a transitive chain of three
// versions where only the oldest conflicts.
func TestCompatibilityLevels(t *testing.T) {
	const (
		base = `{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}`
		// addNoDefault: new readers need b, old data lacks it (breaks BACKWARD).
		addNoDefault = `{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}`
		// addDefault: compatible both ways.
		addDefault = `{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":0}]}`
		// dropA: old readers need a without default (breaks FORWARD).
		dropA = `{"type":"record","name":"r","fields":[]}`
		// promote: int to long reads old data; old readers cannot read long (breaks FORWARD).
		promote = `{"type":"record","name":"r","fields":[{"name":"a","type":"long"}]}`
	)
	// A chain: v1, then v2 adding c with a default; the candidate drops a.
	chain := []string{
		`{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}`,
		`{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"c","type":"int","default":1}]}`,
	}
	chainNew := `{"type":"record","name":"r","fields":[{"name":"c","type":"int","default":1}]}`
	// The candidate reads v1 and v2 data (BACKWARD_TRANSITIVE holds), but
	// v1 and v2 readers need a, which it drops (FORWARD breaks).
	tests := []struct {
		level, next string
		prev        []string
		ok          bool
	}{
		{LevelNone, addNoDefault, []string{base}, true},
		{LevelBackward, addNoDefault, []string{base}, false},
		{LevelBackward, addDefault, []string{base}, true},
		{LevelBackward, dropA, []string{base}, true},
		{LevelBackward, promote, []string{base}, true},
		{LevelForward, addNoDefault, []string{base}, true},
		{LevelForward, dropA, []string{base}, false},
		{LevelForward, promote, []string{base}, false},
		{LevelFull, addDefault, []string{base}, true},
		{LevelFull, addNoDefault, []string{base}, false},
		{LevelFull, dropA, []string{base}, false},
		// Non-transitive levels look at the latest only.
		{LevelBackward, base, []string{dropA, addNoDefault}, true},
		{LevelBackwardTransitive, base, []string{dropA, addNoDefault}, false},
		{LevelBackward, addNoDefault, []string{addDefault, base}, false},
		{LevelBackward, addNoDefault, []string{base, addDefault}, true},
		{LevelBackwardTransitive, addNoDefault, []string{base, addDefault}, false},
		{LevelForwardTransitive, dropA, []string{dropA, dropA}, true},
		{LevelForward, addDefault, []string{base, dropA}, true},
		{LevelForwardTransitive, addDefault, []string{base, dropA}, true},
		{LevelFullTransitive, addDefault, []string{base, addDefault}, true},
		{LevelFullTransitive, addDefault, []string{addNoDefault, addDefault}, true},
		{LevelFullTransitive, promote, []string{base, base}, false},
		{LevelBackwardTransitive, chainNew, chain, true},
		{LevelForward, chainNew, chain, false},
		{LevelFullTransitive, chainNew, chain, false},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+tt.next, func(t *testing.T) {
			var prev []previous
			for i, p := range tt.prev {
				prev = append(prev, previous{version: i + 1, schema: parseAvro(t, p), typ: TypeAvro})
			}
			msgs := checkCompatibility(tt.level, TypeAvro, parseAvro(t, tt.next), prev)
			assert.Equal(t, tt.ok, len(msgs) == 0, "%v", msgs)
		})
	}
}

func TestCompatibilityDifferentType(t *testing.T) {
	prev := []previous{{version: 1, schema: parseAvro(t, `"string"`), typ: TypeJSON}}
	msgs := checkCompatibility(LevelBackward, TypeAvro, parseAvro(t, `"string"`), prev)
	require.NotEmpty(t, msgs)
	assert.Contains(t, msgs[0], "different schema type")
}
