package storage

// RoundTripOffset returns a source partition or offset as a task reads it
// back from the offsets topic: validated as Set validates it, encoded as
// the topic's JSON and decoded again, so integers come back as int64,
// other numbers as float64 and byte slices as base64 text. A nil map
// stays nil. Test doubles of a task's context use it to hand a task the
// types a real worker would.
func RoundTripOffset(data map[string]any) (map[string]any, error) {
	norm, err := normalizeOffsetMap(data)
	if err != nil || norm == nil {
		return nil, err
	}
	return parseOffsetValue(appendJSON(nil, norm))
}
