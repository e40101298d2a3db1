package connect

// RawJSON is a record value a source already holds as JSON text: validated,
// and exactly the bytes Kafka's schemaless JsonConverter would write for
// the value it holds (compact, object members in java.util.HashMap order,
// numbers as Java prints them). It spares the worker decoding the value
// only to encode it again.
//
// Converters that write JSON write it as it is (a JsonConverter with
// schemas.enable wraps it in a null-schema envelope, as Kafka does for a
// schemaless value): they say so by implementing RawJSONWriter. For any
// other value converter, and whenever transforms are configured, the
// worker decodes the value first, so a converter, a transform, a
// predicate, the dead letter queue and the errors log see what decoding
// the same JSON would give (maps, []any, int64, float64, string, bool,
// nil): it puts the decoded value in the record itself, before the
// transforms. A RawJSON record value has a nil ValueSchema, and its bytes
// must not change once the record is handed over: a converter may return
// them as they are, without a copy.
type RawJSON []byte

// String returns the JSON text, for logs.
func (r RawJSON) String() string { return string(r) }

// RawJSONWriter is implemented by a value converter that writes a RawJSON
// value without decoding it. WritesRawJSON may say false for a
// configuration that needs the decoded value.
type RawJSONWriter interface {
	WritesRawJSON() bool
}
