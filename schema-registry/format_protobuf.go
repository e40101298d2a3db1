package registry

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoRootPath is the file name a schema being parsed is compiled as.
const protoRootPath = "schema-registry/root.proto"

// ProtobufFormat parses .proto schemas with protocompile. Imports resolve
// from the references (a reference's name is the import path) and the
// well-known google/protobuf/*.proto files. The zero value is ready to use.
type ProtobufFormat struct{}

// Type returns TypeProtobuf.
func (ProtobufFormat) Type() string { return TypeProtobuf }

// Parse compiles schema and the files it imports.
func (ProtobufFormat) Parse(schema string, refs []ResolvedReference) (Parsed, error) {
	sources := make(map[string]string, len(refs)+1)
	for _, ref := range refs {
		sources[ref.Name] = ref.Schema
	}
	sources[protoRootPath] = schema
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: func(path string) (io.ReadCloser, error) {
				if s, ok := sources[path]; ok {
					return io.NopCloser(strings.NewReader(s)), nil
				}
				if s, ok := knownProtoImports[path]; ok {
					return io.NopCloser(strings.NewReader(s)), nil
				}
				return nil, fmt.Errorf("import %q: %w", path, errProtoUnresolved)
			},
		}),
		Reporter: reporter.NewReporter(nil, nil), // warnings are not errors
	}
	files, err := c.Compile(context.Background(), protoRootPath)
	if err != nil {
		return nil, fmt.Errorf("compile protobuf schema: %w", err)
	}
	fd := files[0]
	return &parsedProtobuf{
		canonical: canonicalProto(schema),
		file:      fd,
	}, nil
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

// parsedProtobuf is a compiled .proto file.
type parsedProtobuf struct {
	canonical string
	file      protoreflect.FileDescriptor
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
