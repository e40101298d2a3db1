package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/sluicehq/sluice/internal/protoknown"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// protoRootPath is the file name a schema being parsed is compiled as.
const protoRootPath = "schema-registry/root.proto"

// ProtobufFormat parses .proto schemas with protocompile. Imports resolve
// from the references (a reference's name is the import path) and the
// well-known google/protobuf/*.proto files. The zero value is ready to use.
type ProtobufFormat struct{}

// Type returns TypeProtobuf.
func (ProtobufFormat) Type() string { return TypeProtobuf }

// Parse compiles schema and the files it imports. Text that does not
// compile but is made of base64 characters is taken, as Confluent's
// registry takes it, for a base64-serialized FileDescriptorProto (what
// Confluent's clients send for Protobuf): it is linked against the
// references and kept as its .proto text, and its errors say which step
// failed.
func (ProtobufFormat) Parse(schema string, refs []ResolvedReference) (Parsed, error) {
	fd, err := compileProto(protocompile.SearchResult{Source: strings.NewReader(schema)}, refs)
	if err != nil {
		if looksSerialized(schema) {
			return parseSerializedProto(schema, refs)
		}
		return nil, fmt.Errorf("compile protobuf schema: %w", err)
	}
	return &parsedProtobuf{canonical: canonicalProto(schema), file: fd}, nil
}

// compileProto compiles the root file (as protoRootPath) with its
// imports resolved from refs, the well-known google/protobuf files and
// the files Confluent's registry knows without references.
func compileProto(root protocompile.SearchResult, refs []ResolvedReference) (linker.File, error) {
	sources := make(map[string]string, len(refs))
	for _, ref := range refs {
		sources[ref.Name] = ref.Schema
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			if path == protoRootPath {
				return root, nil
			}
			s, ok := sources[path]
			if !ok {
				s, ok = protoknown.Imports[path]
			}
			if !ok {
				return protocompile.SearchResult{}, fmt.Errorf("import %q: %w", path, errProtoUnresolved)
			}
			// The registry stores text; a caller may hand descriptors.
			if looksSerialized(s) {
				if fdp, err := decodeSerializedProto(s); err == nil {
					fdp.Name = proto.String(path)
					return protocompile.SearchResult{Proto: fdp}, nil
				}
			}
			return protocompile.SearchResult{Source: strings.NewReader(s)}, nil
		})),
		Reporter: reporter.NewReporter(nil, nil), // warnings are not errors
	}
	files, err := c.Compile(context.Background(), protoRootPath)
	if err != nil {
		return nil, err
	}
	return files[0], nil
}

// looksSerialized reports whether schema may be base64 rather than
// .proto text: non-empty and made of base64 characters only (any .proto
// text with a declaration has a space, a ';' or a '{').
func looksSerialized(schema string) bool {
	schema = strings.TrimSpace(schema)
	return schema != "" && !strings.ContainsFunc(schema, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '+' || r == '/' || r == '=')
	})
}

// decodeSerializedProto decodes a base64-serialized FileDescriptorProto
// (padding optional, as Java's decoder); the error says which step failed.
func decodeSerializedProto(schema string) (*descriptorpb.FileDescriptorProto, error) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(schema), "="))
	if err != nil {
		return nil, fmt.Errorf("schema is neither .proto text nor a base64-serialized FileDescriptorProto: base64: %w", err)
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		return nil, fmt.Errorf("base64-serialized FileDescriptorProto does not decode: %w", err)
	}
	if len(fdp.ProtoReflect().GetUnknown()) > 0 {
		return nil, errors.New("base64-serialized FileDescriptorProto does not decode: it holds fields a FileDescriptorProto does not have")
	}
	return fdp, nil
}

// parseSerializedProto links a serialized descriptor and keeps its text.
func parseSerializedProto(schema string, refs []ResolvedReference) (Parsed, error) {
	fdp, err := decodeSerializedProto(schema)
	if err != nil {
		return nil, err
	}
	fdp.Name = proto.String(protoRootPath)
	fdp.SourceCodeInfo = nil
	fd, err := compileProto(protocompile.SearchResult{Proto: fdp}, refs)
	if err != nil {
		return nil, fmt.Errorf("link base64-serialized FileDescriptorProto: %w", err)
	}
	p := &parsedProtobuf{file: fd}
	p.canonical = canonicalProto(p.printed())
	return p, nil
}

var errProtoUnresolved = fmt.Errorf("not provided by the schema's references")

// canonicalProto trims every line and drops blank ones. Confluent stores a
// re-print of its own parse tree instead; the text is kept here so
// comments and option order survive.
func canonicalProto(schema string) string {
	lines := strings.Split(strings.ReplaceAll(schema, "\r\n", "\n"), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// parsedProtobuf is a compiled .proto file. It is shared through the
// parse cache, so printed is computed once.
type parsedProtobuf struct {
	canonical string
	file      protoreflect.FileDescriptor

	printOnce sync.Once
	print     string
}

// printed returns the file printed by protoText: equal for equivalent
// schemas whatever their layout, comments or form (text or serialized).
func (p *parsedProtobuf) printed() string {
	p.printOnce.Do(func() { p.print = protoText(p.file, false) })
	return p.print
}

// Canonical returns the schema text with each line trimmed and blank lines
// removed.
func (p *parsedProtobuf) Canonical() string { return p.canonical }

// Normalized returns a deterministic print of the compiled descriptor.
func (p *parsedProtobuf) Normalized() string { return printProto(p.file) }

// Name returns the first message's fully qualified name, as Confluent's
// RecordNameStrategy uses.
func (p *parsedProtobuf) Name() string {
	if p.file.Messages().Len() == 0 {
		return ""
	}
	return string(p.file.Messages().Get(0).FullName())
}

// ReadIncompatibilities lists the changes from writer to p that Confluent's
// Protobuf rules call incompatible.
func (p *parsedProtobuf) ReadIncompatibilities(writer Parsed) []string {
	w, ok := writer.(*parsedProtobuf)
	if !ok {
		return []string{incompatibleTypeMessage(writer)}
	}
	d := &protoDiff{}
	d.compareFiles(w.file, p.file)
	var out []string
	for _, diff := range d.diffs {
		if !protoCompatibleChanges[diff.kind] {
			out = append(out, diff.String())
		}
	}
	return out
}

// Protobuf output formats (Confluent's ProtobufSchema.Format).
const (
	protoFormatSerialized       = "serialized"
	protoFormatIgnoreExtensions = "ignore_extensions"
	protoSerializedRootName     = "default" // the file name Confluent gives the root descriptor
)

// Formatted returns the schema in a Confluent output format:
// "serialized" is the base64 FileDescriptorProto (the root file named
// "default", as Confluent names it; type names fully qualified),
// "ignore_extensions" the .proto text without extensions and custom
// options. ok is false for other formats, which mean the stored text.
func (p *parsedProtobuf) Formatted(format string) (string, bool, error) {
	switch strings.ToLower(format) {
	case protoFormatSerialized:
		fdp := protodesc.ToFileDescriptorProto(p.file)
		fdp.Name = proto.String(protoSerializedRootName)
		fdp.SourceCodeInfo = nil
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(fdp)
		if err != nil {
			return "", false, fmt.Errorf("serialize protobuf schema: %w", err)
		}
		return base64.StdEncoding.EncodeToString(b), true, nil
	case protoFormatIgnoreExtensions:
		return protoText(p.file, true), true, nil
	}
	return "", false, nil
}
