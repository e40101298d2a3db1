package schemaconv

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/internal/protoknown"
	"github.com/sluicehq/sluice/runtime/connect"
)

// ProtobufConverterClass is Confluent's class name for the Protobuf
// converter.
const ProtobufConverterClass = "io.confluent.connect.protobuf.ProtobufConverter"

// Config keys of Confluent's ProtobufDataConfig that change how Connect
// data maps to Protobuf.
const (
	// EnhancedProtobufSchemaSupportConfig names Connect structs and enums
	// by their full Protobuf names (package included) instead of the
	// simple ones.
	EnhancedProtobufSchemaSupportConfig = "enhanced.protobuf.schema.support"
	// ScrubInvalidNamesConfig replaces characters that Protobuf names may
	// not hold.
	ScrubInvalidNamesConfig = "scrub.invalid.names"
	// IntForEnumsConfig reads enums as INT32 numbers instead of strings.
	IntForEnumsConfig = "int.for.enums"
	// OptionalForNullablesConfig declares optional Connect fields with
	// proto3 "optional", and reads only such fields as optional.
	OptionalForNullablesConfig = "optional.for.nullables"
	// OptionalForProto2Config reads proto2 optional fields as optional
	// under optional.for.nullables.
	OptionalForProto2Config = "optional.for.proto2"
	// WrapperForNullablesConfig declares optional primitives as
	// google.protobuf wrapper messages and reads wrappers as primitives.
	WrapperForNullablesConfig = "wrapper.for.nullables"
	// WrapperForRawPrimitivesConfig reads a top-level wrapper message as
	// the primitive it wraps.
	WrapperForRawPrimitivesConfig = "wrapper.for.raw.primitives"
	// GenerateStructForNullsConfig reads an unset message field as a
	// struct of defaults instead of null.
	GenerateStructForNullsConfig = "generate.struct.for.nulls"
	// GenerateIndexForUnionsConfig names the Connect field of a oneof
	// "<oneof>_<index>" instead of "<oneof>".
	GenerateIndexForUnionsConfig = "generate.index.for.unions"
	// FlattenUnionsConfig reads a oneof's members as fields of the
	// enclosing struct.
	FlattenUnionsConfig = "flatten.unions"
	// IgnoreDefaultForNullablesConfig writes a field whose value is unset
	// as unset rather than as its schema default.
	IgnoreDefaultForNullablesConfig = "ignore.default.for.nullables"
	// SchemasCacheSizeConfig is accepted and ignored, as
	// max.schemas.per.subject.
	SchemasCacheSizeConfig = "schemas.cache.size"
	// GeneralizedSumTypeSupportConfig is refused: see its Unsupported text.
	GeneralizedSumTypeSupportConfig = "generalized.sum.type.support"
	// ReferenceSubjectNameStrategyConfig is refused: Sluice's converter
	// registers self-contained schemas only.
	ReferenceSubjectNameStrategyConfig = "reference.subject.name.strategy"
)

// Names Confluent's ProtobufData gives Connect schemas and parameters.
const (
	protoNamespace     = "io.confluent.connect.protobuf"
	protoDefaultName   = "ConnectDefault"
	protoUnionPrefix   = protoNamespace + ".Union."
	protoEnumParam     = protoNamespace + ".Enum"
	protoTagParam      = protoNamespace + ".Tag"
	protoTypeParam     = protoNamespace + ".Type"
	protoWrapperParam  = protoNamespace + ".Wrapper"
	protoMapEntrySufix = "Entry"
)

// Well-known message types ProtobufData maps to Connect's logical types.
const (
	protoTimestamp = "google.protobuf.Timestamp"
	protoDate      = "google.type.Date"
	protoTimeOfDay = "google.type.TimeOfDay"
	protoDecimal   = "confluent.type.Decimal"
)

func protobufConfigDef() connect.ConfigDef {
	b := func(name string, def bool, doc string) connect.ConfigKey {
		return connect.ConfigKey{Name: name, Type: connect.ConfigBoolean, Default: def, Importance: connect.Medium,
			Doc: doc, Width: connect.WidthMedium, DisplayName: name, OrderInGroup: -1}
	}
	unsupported := func(name string, t connect.ConfigType, why string) connect.ConfigKey {
		return connect.ConfigKey{Name: name, Type: t, Importance: connect.Low, Doc: "Not supported: " + why,
			Width: connect.WidthMedium, DisplayName: name, OrderInGroup: -1, Unsupported: why}
	}
	return configDef().With(
		b(EnhancedProtobufSchemaSupportConfig, false, "Name Connect structs and enums by their full Protobuf names, package included."),
		b(ScrubInvalidNamesConfig, false, "Replace characters that Protobuf names may not hold."),
		b(IntForEnumsConfig, false, "Read enums as INT32 numbers instead of strings."),
		b(OptionalForNullablesConfig, false, "Declare optional fields with proto3 optional; read only such fields as optional."),
		b(OptionalForProto2Config, true, "With optional.for.nullables, read proto2 optional fields as optional."),
		b(WrapperForNullablesConfig, false, "Declare optional primitives as google.protobuf wrapper messages and read wrappers as primitives."),
		b(WrapperForRawPrimitivesConfig, true, "Read a top-level wrapper message as the primitive it wraps."),
		b(GenerateStructForNullsConfig, false, "Read an unset message field as a struct of defaults instead of null."),
		b(GenerateIndexForUnionsConfig, true, "Name the Connect field of a oneof <oneof>_<index>."),
		b(FlattenUnionsConfig, false, "Read a oneof's members as fields of the enclosing struct."),
		b(IgnoreDefaultForNullablesConfig, false, "Write a field whose value is unset as unset rather than as its schema default."),
		connect.ConfigKey{Name: SchemasCacheSizeConfig, Type: connect.ConfigInt, Default: 1000, Importance: connect.Low,
			Doc: "Accepted and ignored.", Width: connect.WidthMedium, DisplayName: SchemasCacheSizeConfig, OrderInGroup: -1},
		unsupported(GeneralizedSumTypeSupportConfig, connect.ConfigBoolean,
			"unions and enums use Confluent's default io.confluent.connect.protobuf.Union/Enum naming"),
		unsupported(ReferenceSubjectNameStrategyConfig, connect.ConfigString,
			"the converter registers self-contained schemas (it reads schemas with references)"),
	)
}

// protobufFormat is ProtobufConverter's format: Connect schemas as proto3
// files in the shape of Confluent's ProtobufData, values as Protobuf
// binary preceded by the message indexes.
type protobufFormat struct {
	enhanced, scrub, intForEnums, optionalForNullables, optionalForProto2 bool
	wrapperForNullables, wrapperForRawPrimitives, structForNulls          bool
	indexForUnions, flattenUnions, ignoreDefaultForNullables              bool
}

// defaultProtobufFormat has Confluent's defaults.
var defaultProtobufFormat = protobufFormat{optionalForProto2: true, wrapperForRawPrimitives: true, indexForUnions: true}

func (protobufFormat) name() string              { return "Protobuf" }
func (protobufFormat) schemaType() sr.SchemaType { return sr.TypeProtobuf }

func (f protobufFormat) configDef() connect.ConfigDef { return protobufConfigDef() }

func (f protobufFormat) configured(cfg connect.Config) format {
	return protobufFormat{
		enhanced:                  cfg.Bool(EnhancedProtobufSchemaSupportConfig),
		scrub:                     cfg.Bool(ScrubInvalidNamesConfig),
		intForEnums:               cfg.Bool(IntForEnumsConfig),
		optionalForNullables:      cfg.Bool(OptionalForNullablesConfig),
		optionalForProto2:         cfg.Bool(OptionalForProto2Config),
		wrapperForNullables:       cfg.Bool(WrapperForNullablesConfig),
		wrapperForRawPrimitives:   cfg.Bool(WrapperForRawPrimitivesConfig),
		structForNulls:            cfg.Bool(GenerateStructForNullsConfig),
		indexForUnions:            cfg.Bool(GenerateIndexForUnionsConfig),
		flattenUnions:             cfg.Bool(FlattenUnionsConfig),
		ignoreDefaultForNullables: cfg.Bool(IgnoreDefaultForNullablesConfig),
	}
}

func (f protobufFormat) fromConnect(s *connect.Schema) (string, error) { return f.protoOf(s) }

// protoRoot is the path a registry schema is compiled as.
const protoRoot = "schemaconv/root.proto"

func (f protobufFormat) parse(text string) (codec, error) { return f.parseWithReferences(text, nil) }

// parseWithReferences compiles text whose imports are the schemas it
// references (refs, by import path) or well-known files.
func (f protobufFormat) parseWithReferences(text string, refs map[string]string) (codec, error) {
	file, err := compileProto(text, refs)
	if err != nil {
		return nil, err
	}
	if file.Messages().Len() == 0 {
		return nil, fmt.Errorf("protobuf schema declares no message")
	}
	c := &protoCodec{f: f, file: file}
	c.inlineTags = protoInlineTags(c)
	return c, nil
}

// compileProto compiles schema text whose imports are the schemas it
// references, the well-known google/protobuf files, or those Confluent's
// registry knows without references (confluent/meta.proto, confluent/type/decimal.proto,
// google/type/date.proto, google/type/timeofday.proto).
func compileProto(text string, refs map[string]string) (protoreflect.FileDescriptor, error) {
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: func(path string) (io.ReadCloser, error) {
				if path == protoRoot {
					return io.NopCloser(strings.NewReader(text)), nil
				}
				if s, ok := refs[path]; ok {
					return io.NopCloser(strings.NewReader(s)), nil
				}
				if s, ok := protoknown.Imports[path]; ok {
					return io.NopCloser(strings.NewReader(s)), nil
				}
				return nil, fmt.Errorf("import %q is neither a reference of the schema nor a well-known file", path)
			},
		}),
		Reporter: reporter.NewReporter(nil, nil),
	}
	files, err := c.Compile(context.Background(), protoRoot)
	if err != nil {
		return nil, fmt.Errorf("compile protobuf schema: %w", err)
	}
	return files[0], nil
}

// protoCodec serializes the messages of one compiled .proto file.
type protoCodec struct {
	f    protobufFormat
	file protoreflect.FileDescriptor

	schemas   sync.Map // protoreflect.FullName → *connect.Schema (or error)
	plans     sync.Map // planKey → []planField
	readPlans sync.Map // planKey → *readPlan
	roots     sync.Map // *connect.Schema → protoreflect.MessageDescriptor
	names     sync.Map // *connect.Schema → func(*connect.Schema) string (ruleRecordNames)
	*inlineTags
}

// root is the message a Connect schema named name is written as: the one
// of that full name, as Confluent's serializer picks the message of the
// record's descriptor; else a top-level one of that simple name (a schema
// read without enhanced.protobuf.schema.support carries only that); else
// the file's first.
func (c *protoCodec) root(name string) protoreflect.MessageDescriptor {
	if md := findMessage(c.file.Messages(), protoreflect.FullName(name)); md != nil {
		return md
	}
	ms := c.file.Messages()
	for i := range ms.Len() {
		if string(ms.Get(i).Name()) == name {
			return ms.Get(i)
		}
	}
	return ms.Get(0)
}

func findMessage(ms protoreflect.MessageDescriptors, name protoreflect.FullName) protoreflect.MessageDescriptor {
	for i := range ms.Len() {
		md := ms.Get(i)
		if md.FullName() == name {
			return md
		}
		if found := findMessage(md.Messages(), name); found != nil {
			return found
		}
	}
	return nil
}

func (c *protoCodec) connectSchema() *connect.Schema {
	s, err := c.messageSchema(c.file.Messages().Get(0))
	if err != nil {
		return nil
	}
	return s
}

func (c *protoCodec) recordName() string { return string(c.file.Messages().Get(0).FullName()) }

// recordNameOf is the full name of the message a record of schema s is
// written as, which the Record strategies name subjects after.
func (c *protoCodec) recordNameOf(s *connect.Schema) string {
	md, err := c.rootOf(s)
	if err != nil {
		return c.recordName()
	}
	return string(md.FullName())
}

// canRead, for latest.compatibility.strict, reports a field of the
// record's message that the latest schema's message of the same name
// lacks, or has with another wire type: the differences that would make
// writing fail or the bytes misread (fields are written by name, with the
// latest schema's numbers). (Confluent asks its
// compatibility checker; the registry ran that check when the latest
// version was registered.)
func (c *protoCodec) canRead(w codec) error {
	wc, ok := w.(*protoCodec)
	if !ok {
		return nil
	}
	own := wc.file.Messages().Get(0)
	return messageFits(own, c.root(string(own.FullName())), 0)
}

func messageFits(own, latest protoreflect.MessageDescriptor, depth int) error {
	for i := range own.Fields().Len() {
		f := own.Fields().Get(i)
		lf := latest.Fields().ByName(f.Name())
		switch {
		case lf == nil:
			return fmt.Errorf("field %s is not in %s", f.Name(), latest.FullName())
		case wireType(lf.Kind()) != wireType(f.Kind()) || lf.IsList() != f.IsList():
			return fmt.Errorf("field %s is %s in %s, not %s", f.Name(), lf.Kind(), latest.FullName(), f.Kind())
		case f.Kind() == protoreflect.MessageKind && lf.Kind() == protoreflect.MessageKind && depth < 16:
			if err := messageFits(f.Message(), lf.Message(), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
