package registry

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hamba/avro/v2"
)

// avroFormat parses AVRO schemas with hamba/avro.
//
// Every parse uses a fresh named-type cache: hamba's default cache is
// process-global, so a schema naming a type it neither defines nor
// references would otherwise parse because some earlier schema defined it,
// and a redefinition would silently replace the earlier one.
type avroFormat struct{}

// Type implements Format.
func (avroFormat) Type() string { return TypeAvro }

// Parse implements Format. References are named types: each referenced
// schema is parsed first into the same cache, so the referencing schema
// can name them. refs must list dependencies before their dependents; a
// reference that does not parse yet is retried after the others.
func (avroFormat) Parse(schema string, refs []ResolvedReference) (Parsed, error) {
	cache := &avro.SchemaCache{}
	if err := preloadAvroRefs(cache, refs); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(schema)); err != nil {
		// A bare primitive name such as "string" without quotes is not JSON;
		// hamba accepts it, so the canonical text falls back to the input.
		compact.Reset()
		compact.WriteString(schema)
	}
	parsed, err := avro.ParseWithCache(schema, "", cache)
	if err != nil {
		return nil, fmt.Errorf("parse AVRO schema: %w", err)
	}
	return &avroParsed{schema: parsed, canonical: compact.String()}, nil
}

// preloadAvroRefs parses every referenced schema into cache, retrying
// those that name a type defined by a later reference.
func preloadAvroRefs(cache *avro.SchemaCache, refs []ResolvedReference) error {
	pending := refs
	for len(pending) > 0 {
		var failed []ResolvedReference
		var lastErr error
		for _, ref := range pending {
			if _, err := avro.ParseWithCache(ref.Schema, "", cache); err != nil {
				failed, lastErr = append(failed, ref), fmt.Errorf("parse AVRO reference %s (subject %s version %d): %w",
					ref.Name, ref.Subject, ref.Version, err)
			}
		}
		if len(failed) == len(pending) {
			return lastErr
		}
		pending = failed
	}
	return nil
}

// avroParsed is a parsed AVRO schema.
type avroParsed struct {
	schema    avro.Schema
	canonical string
}

// Canonical implements Parsed.
func (p *avroParsed) Canonical() string { return p.canonical }

// Normalized implements Parsed: hamba's JSON form, which writes full names
// and keeps defaults, aliases, docs and logical types.
func (p *avroParsed) Normalized() string {
	b, err := json.Marshal(p.schema)
	if err != nil {
		return p.canonical
	}
	return string(b)
}

// Name implements Parsed: the full name of a named top-level type.
func (p *avroParsed) Name() string {
	if n, ok := deref(p.schema).(avro.NamedSchema); ok {
		return n.FullName()
	}
	return ""
}

// ReadIncompatibilities implements Parsed with Avro's schema resolution
// rules, reader = p. Every incompatibility found is listed.
func (p *avroParsed) ReadIncompatibilities(writer Parsed) []string {
	w, ok := writer.(*avroParsed)
	if !ok {
		return []string{incompatibility("TYPE_MISMATCH",
			fmt.Sprintf("An %s schema cannot read data written with a %T", TypeAvro, writer), "")}
	}
	c := &avroResolver{inProgress: map[[2]string]bool{}}
	c.check(p.schema, w.schema, "")
	return c.found
}

// deref follows a reference to a named type to its definition.
func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// incompatibility formats one finding like Confluent's verbose output.
func incompatibility(errorType, description, info string) string {
	return fmt.Sprintf("{errorType:'%s', description:'%s', additionalInfo:'%s'}",
		errorType, description, info)
}
