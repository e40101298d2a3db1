package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// jsonRootURL is where a schema without an absolute $id is placed, so
// relative reference names resolve against it.
const jsonRootURL = "mem://schema-registry/schema.json"

// JSONFormat parses JSON Schema documents (drafts 4 to 2020-12; draft 7
// when $schema is absent, as Confluent assumes). References are resolved
// only from the ResolvedReference list: a reference's name is the $ref URL
// the schema uses, relative to the schema's $id. Nothing is fetched from
// the network or the filesystem. The zero value is ready to use.
type JSONFormat struct{}

// Type returns TypeJSON.
func (JSONFormat) Type() string { return TypeJSON }

// Parse compiles schema with its references and keeps the raw documents
// for compatibility checks.
func (JSONFormat) Parse(schema string, refs []ResolvedReference) (Parsed, error) {
	doc, err := decodeJSONDoc(schema)
	if err != nil {
		return nil, fmt.Errorf("parse JSON schema: %w", err)
	}
	base := jsonBase(doc)
	docs := jsonDocs{jsonRootURL: doc}
	if base != jsonRootURL {
		docs[base] = doc
	}
	byName := make(map[string]any, len(refs))
	for _, ref := range refs {
		refDoc, err := decodeJSONDoc(ref.Schema)
		if err != nil {
			return nil, fmt.Errorf("parse JSON schema reference %q (subject %q version %d): %w",
				ref.Name, ref.Subject, ref.Version, err)
		}
		byName[ref.Name] = refDoc
		for _, b := range []string{jsonRootURL, base} {
			if u, err := resolveJSONURL(b, ref.Name); err == nil {
				docs[u] = refDoc
			}
		}
		if id := jsonBase(refDoc); id != jsonRootURL {
			docs[id] = refDoc
		}
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(jsonNoLoader{})
	for u, d := range docs {
		if u == base && base != jsonRootURL {
			continue // the compiler learns the root's $id from the document itself
		}
		if err := c.AddResource(u, d); err != nil {
			return nil, fmt.Errorf("add JSON schema resource %s: %w", u, err)
		}
	}
	if _, err := c.Compile(jsonRootURL); err != nil {
		return nil, fmt.Errorf("compile JSON schema: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(schema)); err != nil {
		return nil, fmt.Errorf("compact JSON schema: %w", err)
	}
	normalized, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("normalize JSON schema: %w", err)
	}
	p := &parsedJSON{
		canonical:  compact.String(),
		normalized: string(normalized),
		docs:       docs,
		byName:     byName,
	}
	p.root = jsonNode{v: doc, base: base, p: p}
	return p, nil
}

// jsonNoLoader refuses every URL the references do not provide.
type jsonNoLoader struct{}

func (jsonNoLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("load %s: %w", u, errJSONUnresolved)
}

var errJSONUnresolved = errors.New("not provided by the schema's references")

// decodeJSONDoc decodes one JSON document keeping numbers exact.
func decodeJSONDoc(s string) (any, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(s))
	if err != nil {
		return nil, err
	}
	switch doc.(type) {
	case map[string]any, bool:
		return doc, nil
	}
	return nil, fmt.Errorf("a schema must be a JSON object or boolean, got %s", jsonKind(doc))
}

// jsonBase returns the document's absolute $id (or draft 4 id) without
// fragment, or jsonRootURL.
func jsonBase(doc any) string {
	obj, _ := doc.(map[string]any)
	for _, key := range []string{"$id", "id"} {
		if id, ok := obj[key].(string); ok {
			if u, err := url.Parse(id); err == nil && u.IsAbs() {
				u.Fragment = ""
				return u.String()
			}
		}
	}
	return jsonRootURL
}

func resolveJSONURL(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r)
	u.Fragment = ""
	return u.String(), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}

// jsonDocs maps absolute URLs (no fragment) to decoded documents.
type jsonDocs map[string]any

// parsedJSON is a compiled JSON Schema and its raw documents.
type parsedJSON struct {
	canonical  string
	normalized string
	root       jsonNode
	docs       jsonDocs
	byName     map[string]any
}

// Canonical returns the schema text compacted, keys in their original order.
func (p *parsedJSON) Canonical() string { return p.canonical }

// Normalized returns the schema compacted with object keys sorted.
func (p *parsedJSON) Normalized() string { return p.normalized }

// Name returns the schema's title, which Confluent's RecordNameStrategy
// uses for JSON schemas.
func (p *parsedJSON) Name() string {
	obj, _ := p.root.v.(map[string]any)
	title, _ := obj["title"].(string)
	return title
}

// ReadIncompatibilities lists the changes from writer to p that Confluent's
// JSON Schema rules call incompatible, as its verbose messages show them.
func (p *parsedJSON) ReadIncompatibilities(writer Parsed) []string {
	w, ok := writer.(*parsedJSON)
	if !ok {
		return []string{incompatibleTypeMessage(writer)}
	}
	d := &jsonDiff{seen: map[[2]string]bool{}}
	d.compare("#", w.root, p.root)
	var out []string
	for _, diff := range d.diffs {
		if !jsonCompatibleChanges[diff.kind] {
			out = append(out, diff.String())
		}
	}
	return out
}

// incompatibleTypeMessage reports a schema type change, which Confluent
// never allows.
func incompatibleTypeMessage(writer Parsed) string {
	return fmt.Sprintf("Incompatible because of different schema type: %T", writer)
}
