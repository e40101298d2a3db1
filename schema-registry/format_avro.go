package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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

// Normalized implements Parsed: hamba's JSON form, which writes full
// names, a fixed key order, and keeps defaults, docs, logical types and
// custom properties, with aliases sorted as Confluent's normalize does.
func (p *avroParsed) Normalized() string {
	b, err := json.Marshal(p.schema)
	if err == nil {
		b, err = sortAliases(b)
	}
	if err != nil {
		return p.canonical
	}
	return string(b)
}

// sortAliases rewrites JSON with every "aliases" array sorted, keeping
// the order of object keys.
func sortAliases(raw []byte) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
		var out bytes.Buffer
		out.WriteByte('{')
		for i := 0; dec.More(); i++ {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, err
			}
			if key == "aliases" {
				v, err = sortedStrings(v)
			} else {
				v, err = sortAliases(v)
			}
			if err != nil {
				return nil, err
			}
			k, _ := json.Marshal(key)
			if i > 0 {
				out.WriteByte(',')
			}
			out.Write(k)
			out.WriteByte(':')
			out.Write(v)
		}
		out.WriteByte('}')
		return out.Bytes(), nil
	case len(raw) > 0 && raw[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		for i, item := range items {
			sorted, err := sortAliases(item)
			if err != nil {
				return nil, err
			}
			items[i] = sorted
		}
		return json.Marshal(items)
	}
	return raw, nil
}

func sortedStrings(raw json.RawMessage) (json.RawMessage, error) {
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, err
	}
	slices.Sort(ss)
	return json.Marshal(slices.Compact(ss))
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

// Formatted returns the schema in Confluent's "resolved" format: every
// referenced named type written out in full at its first use. ok is
// false for other formats, which mean the stored text.
func (p *avroParsed) Formatted(format string) (string, bool, error) {
	if !strings.EqualFold(format, "resolved") {
		return "", false, nil
	}
	b, err := json.Marshal(p.schema)
	if err != nil {
		return "", false, fmt.Errorf("write resolved AVRO schema: %w", err)
	}
	return string(b), true, nil
}
