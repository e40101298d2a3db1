package registry

import (
	"fmt"
	"strings"
)

// Compatibility levels (names are case-insensitive on input).
const (
	LevelNone               = "NONE"
	LevelBackward           = "BACKWARD"
	LevelBackwardTransitive = "BACKWARD_TRANSITIVE"
	LevelForward            = "FORWARD"
	LevelForwardTransitive  = "FORWARD_TRANSITIVE"
	LevelFull               = "FULL"
	LevelFullTransitive     = "FULL_TRANSITIVE"
)

// Modes.
const (
	ModeReadWrite = "READWRITE"
	ModeReadOnly  = "READONLY"
	ModeImport    = "IMPORT"
	// modeForward is Confluent's mode for a registry receiving schemas
	// forwarded from another (schema linking); refused here.
	modeForward = "FORWARD"
)

// parseLevel returns the canonical level name, or errInvalidLevel.
func parseLevel(s string) (string, error) {
	l := strings.ToUpper(s)
	switch l {
	case LevelNone, LevelBackward, LevelBackwardTransitive, LevelForward, LevelForwardTransitive, LevelFull, LevelFullTransitive:
		return l, nil
	}
	return "", errInvalidLevel
}

// parseMode returns the canonical mode name, or errInvalidMode.
func parseMode(s string) (string, error) {
	m := strings.ToUpper(s)
	switch m {
	case ModeReadWrite, ModeReadOnly, ModeImport:
		return m, nil
	case modeForward:
		return "", errForwardMode
	}
	return "", errInvalidMode
}

// previous is an earlier version a new schema is checked against.
type previous struct {
	version int
	schema  Parsed
	typ     string
}

// checkCompatibility returns every reason candidate (of type typ) breaks
// level against prev (oldest first, undeleted only); empty means
// compatible. Non-transitive levels look at the latest version only.
func checkCompatibility(level, typ string, candidate Parsed, prev []previous) []string {
	if level == LevelNone || len(prev) == 0 {
		return nil
	}
	if !strings.HasSuffix(level, "_TRANSITIVE") {
		prev = prev[len(prev)-1:]
	}
	base := strings.TrimSuffix(level, "_TRANSITIVE")
	var msgs []string
	for i := len(prev) - 1; i >= 0; i-- {
		old := prev[i]
		var found []string
		if old.typ != typ {
			found = []string{fmt.Sprintf("Incompatible because of different schema type: %s vs %s", typ, old.typ)}
		} else {
			if base == LevelBackward || base == LevelFull {
				found = append(found, candidate.ReadIncompatibilities(old.schema)...)
			}
			if base == LevelForward || base == LevelFull {
				found = append(found, old.schema.ReadIncompatibilities(candidate)...)
			}
		}
		if len(found) > 0 {
			msgs = append(msgs, found...)
			msgs = append(msgs, fmt.Sprintf("{oldSchemaVersion: %d}", old.version),
				fmt.Sprintf("{oldSchema: '%s'}", old.schema.Canonical()))
		}
	}
	if len(msgs) > 0 {
		msgs = append(msgs, fmt.Sprintf("{compatibility: '%s'}", level))
	}
	return msgs
}
