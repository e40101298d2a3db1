// Package registry is Sluice's schema registry: the Confluent Schema
// Registry REST API over a compacted _schemas topic, enforcing
// compatibility for AVRO, JSON and PROTOBUF schemas.
package registry

// Schema types as the REST API names them.
const (
	TypeAvro     = "AVRO"
	TypeJSON     = "JSON"
	TypeProtobuf = "PROTOBUF"
)

// Reference is a schema reference as registered: the name the referencing
// schema uses, and the subject and version it resolves to.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// ResolvedReference is a reference with the referenced schema's text and
// type, resolved (transitively) by the registry before parsing.
type ResolvedReference struct {
	Reference
	Type   string
	Schema string
}

// Format parses one schema type. Implementations are stateless and safe
// for concurrent use.
type Format interface {
	// Type returns TypeAvro, TypeJSON or TypeProtobuf.
	Type() string
	// Parse parses and validates schema text. refs holds every reference
	// the schema names (and, transitively, theirs). The error says what is
	// invalid; the registry reports it as 42201.
	Parse(schema string, refs []ResolvedReference) (Parsed, error)
}

// Parsed is a parsed, valid schema.
type Parsed interface {
	// Canonical returns the schema text as stored and compared for
	// "same schema" lookups: the input with insignificant whitespace
	// removed, keys in their original order (Confluent keeps the text).
	Canonical() string
	// Normalized returns the normalized form used with ?normalize=true
	// (Confluent's normalize: e.g. for Avro the Parsing Canonical Form
	// plus defaults, aliases and logical types kept).
	Normalized() string
	// Name returns the fully qualified record/message/title name used by
	// the RecordName subject strategies ("" when the schema has none).
	Name() string
	// ReadIncompatibilities lists every reason data written with writer
	// cannot be read with this schema (reader); empty means compatible.
	// Messages follow Confluent's verbose compatibility output, e.g.
	// "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'...', additionalInfo:'f1'}".
	ReadIncompatibilities(writer Parsed) []string
}
