package schemaconv

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/rules"
)

// magic is the first byte of Confluent's classic wire format.
const magic = 0

// headerLen is the magic byte plus the 4-byte schema id.
const headerLen = 5

// format is what differs between Avro, JSON Schema and Protobuf: how a Connect
// schema becomes registry text, and how registry text becomes a codec.
type format interface {
	// name is the converter's simple name, for messages.
	name() string
	schemaType() sr.SchemaType
	// fromConnect returns the registry schema text for s.
	fromConnect(s *connect.Schema) (string, error)
	// parse compiles registry schema text into a codec.
	parse(text string) (codec, error)
}

// codec serializes values of one registry schema.
type codec interface {
	// connectSchema is the Connect schema values decode to.
	connectSchema() *connect.Schema
	// recordName is the fully qualified record name the Record strategies
	// use ("" when the schema has none).
	recordName() string
	// encode appends v, described by s, to dst.
	encode(dst []byte, s *connect.Schema, v any) ([]byte, error)
	decode(data []byte) (any, error)
	// canRead reports why data written with w could not be read with
	// this schema (nil: it can); formats without a check return nil.
	canRead(w codec) error
}

// configurableFormat is a format with config keys of its own (beyond
// configDef's) that change how it maps data.
type configurableFormat interface {
	format
	configDef() connect.ConfigDef
	// configured returns the format set up by cfg.
	configured(cfg connect.Config) format
}

// referencingFormat is a format whose schemas may reference others
// (Protobuf imports), given to it by reference name.
type referencingFormat interface {
	format
	parseWithReferences(text string, refs map[string]string) (codec, error)
}

// recordNamer is a codec whose record name depends on the record's
// schema (Protobuf's wrappers file holds one message per primitive).
type recordNamer interface {
	recordNameOf(s *connect.Schema) string
}

// schemaDecoder is a codec whose data says which of its schemas wrote it
// (Protobuf's message indexes), so the Connect schema comes with the value.
type schemaDecoder interface {
	decodeWithSchema(data []byte) (*connect.Schema, any, error)
}

// Converter is AvroConverter, JsonSchemaConverter or ProtobufConverter: a
// connect.Converter whose schemas live in a schema registry. It is safe
// for concurrent use after Configure.
type Converter struct {
	fmt      format
	isKey    bool
	reg      *registry
	autoReg  bool
	latest   bool
	strict   bool
	strategy func(topic, record string) (string, error)
	// latestMD is use.latest.with.metadata's pairs (nil: not set).
	latestMD map[string]string
	exec     *rules.Executor

	mu     sync.RWMutex
	writes map[*connect.Schema]derived // by the record's schema
	reads  map[int]codec               // by schema id
}

// NewAvroConverter returns an unconfigured AvroConverter.
func NewAvroConverter() *Converter { return &Converter{fmt: avroFormat{}} }

// NewJSONSchemaConverter returns an unconfigured JsonSchemaConverter.
func NewJSONSchemaConverter() *Converter { return &Converter{fmt: jsonSchemaFormat{}} }

// NewProtobufConverter returns an unconfigured ProtobufConverter.
func NewProtobufConverter() *Converter { return &Converter{fmt: defaultProtobufFormat} }

// maxCached bounds each cache; past it the cache starts over, which costs
// only a re-derivation (ids stay cached in the registry client).
const maxCached = 1000

// Configure implements connect.Converter. config has the key. or value.
// prefix already stripped.
func (c *Converter) Configure(config map[string]string, isKey bool) error {
	def := configDef()
	cf, ok := c.fmt.(configurableFormat)
	if ok {
		def = cf.configDef()
	}
	cfg, err := def.Parse(config)
	if err != nil {
		return fmt.Errorf("configure %s: %w", c.fmt.name(), err)
	}
	if ok {
		c.fmt = cf.configured(cfg)
	}
	c.isKey = isKey
	c.autoReg = cfg.Bool(AutoRegisterConfig)
	c.latest = cfg.Bool(UseLatestVersionConfig)
	c.strict = cfg.Bool(LatestCompatStrictConfig)
	if c.latestMD, err = parsePairs(cfg.String(UseLatestWithMetadataConfig)); err != nil {
		return fmt.Errorf("configure %s: %w", c.fmt.name(), err)
	}
	if c.exec, err = sharedExecutor(); err != nil {
		return fmt.Errorf("configure %s: %w", c.fmt.name(), err)
	}
	strategyName := cfg.String(ValueSubjectStrategyConfig)
	if isKey {
		strategyName = cfg.String(KeySubjectStrategyConfig)
	}
	c.strategy = subjectStrategy(strategyName, isKey)
	reg, err := newRegistry(cfg.List(RegistryURLConfig), cfg.String(BasicAuthSourceConfig), cfg.String(BasicAuthUserInfoConfig))
	if err != nil {
		return fmt.Errorf("configure %s: %w", c.fmt.name(), err)
	}
	c.reg = reg
	c.writes = map[*connect.Schema]derived{}
	c.reads = map[int]codec{}
	return nil
}

// subjectStrategy returns Confluent's strategy of that class (or simple)
// name as a function of the topic and the record's full name.
func subjectStrategy(name string, isKey bool) func(topic, record string) (string, error) {
	suffix := "-value"
	if isKey {
		suffix = "-key"
	}
	simple := name[strings.LastIndexByte(name, '.')+1:]
	needRecord := func(record string) error {
		if record == "" {
			return dataErr("%s needs a named record schema (a STRUCT schema with a name)", simple)
		}
		return nil
	}
	switch simple {
	case "RecordNameStrategy":
		return func(_, record string) (string, error) { return record, needRecord(record) }
	case "TopicRecordNameStrategy":
		return func(topic, record string) (string, error) { return topic + "-" + record, needRecord(record) }
	default:
		return func(topic, _ string) (string, error) { return topic + suffix, nil }
	}
}

// FromConnect implements connect.Converter.
//
// The domain rules (mode WRITE) of the schema written with run on the
// value before it is serialized: a transform's result is what is written.
func (c *Converter) FromConnect(topic string, headers connect.Headers, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		if s == nil || s.Optional {
			return nil, nil
		}
		if v = s.Default; v == nil {
			return nil, dataErr("Found null value for non-optional schema %s", s)
		}
	}
	if s == nil {
		return nil, dataErr("%s cannot serialize a value without a schema", c.fmt.name())
	}
	own, text, err := c.writeCodec(s)
	if err != nil {
		return nil, err
	}
	record := own.recordName()
	if rn, ok := own.(recordNamer); ok {
		record = rn.recordNameOf(s)
	}
	subject, err := c.strategy(topic, record)
	if err != nil {
		return nil, err
	}
	id, cd, err := c.target(subject, text, own)
	if err != nil {
		return nil, err
	}
	ct, err := c.reg.contractOf(id)
	if err != nil {
		return nil, err
	}
	if v, err = c.runRules(rules.ModeWrite, ct, topic, subject, headers, cd, s, v); err != nil {
		return nil, err
	}
	out := make([]byte, headerLen, 256)
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	out, err = cd.encode(out, s, v)
	if err != nil {
		return nil, fmt.Errorf("convert topic %s to %s: %w", topic, c.fmt.name(), err)
	}
	return out, nil
}

// target returns the schema id and codec to write with: the record's own
// schema, registered or looked up, or the subject's latest version (with
// use.latest.with.metadata, the latest with those metadata properties).
func (c *Converter) target(subject, text string, own codec) (int, codec, error) {
	if c.latest || c.latestMD != nil {
		var id int
		var latestText string
		var err error
		if c.latestMD != nil {
			id, latestText, err = c.reg.latestWithMetadata(subject, c.latestMD, c.fmt.schemaType().String())
		} else {
			id, latestText, err = c.reg.latest(subject, c.fmt.schemaType())
		}
		if err != nil {
			return 0, nil, err
		}
		cd, err := c.readCodec(id, latestText)
		if err != nil {
			return 0, nil, err
		}
		if c.strict {
			if err := cd.canRead(own); err != nil {
				return 0, nil, dataErrCause(err, "the latest schema (id %d) of subject %s cannot read data of the record's schema", id, subject)
			}
		}
		return id, cd, nil
	}
	id, err := c.reg.id(subject, sr.Schema{Schema: text, Type: c.fmt.schemaType()}, c.autoReg)
	return id, own, err
}

// derived is the registry schema derived from a record's schema.
type derived struct {
	cd   codec
	text string
}

// writeCodec returns the codec and registry text derived from a record's
// schema, cached by the schema pointer (schemas are immutable and shared
// between records).
func (c *Converter) writeCodec(s *connect.Schema) (codec, string, error) {
	c.mu.RLock()
	d, ok := c.writes[s]
	c.mu.RUnlock()
	if ok {
		return d.cd, d.text, nil
	}
	text, err := c.fmt.fromConnect(s)
	if err != nil {
		return nil, "", err
	}
	cd, err := c.fmt.parse(text)
	if err != nil {
		return nil, "", dataErrCause(err, "derive %s schema from %s", c.fmt.name(), s)
	}
	c.mu.Lock()
	if len(c.writes) >= maxCached {
		clear(c.writes)
	}
	c.writes[s] = derived{cd, text}
	c.mu.Unlock()
	return cd, text, nil
}

// readCodec returns the codec of schema id, fetching its text unless given.
func (c *Converter) readCodec(id int, text string) (codec, error) {
	c.mu.RLock()
	cd, ok := c.reads[id]
	c.mu.RUnlock()
	if ok {
		return cd, nil
	}
	if text == "" {
		var err error
		if text, err = c.reg.schemaText(id); err != nil {
			return nil, err
		}
	}
	cd, err := c.parseByID(id, text)
	if err != nil {
		return nil, dataErrCause(err, "parse schema id %d", id)
	}
	c.mu.Lock()
	if len(c.reads) >= maxCached {
		clear(c.reads)
	}
	c.reads[id] = cd
	c.mu.Unlock()
	return cd, nil
}

// parseByID parses the text of schema id, with the schemas it references
// when the format resolves references.
func (c *Converter) parseByID(id int, text string) (codec, error) {
	rp, ok := c.fmt.(referencingFormat)
	if !ok {
		return c.fmt.parse(text)
	}
	refs, err := c.reg.references(id)
	if err != nil {
		return nil, err
	}
	return rp.parseWithReferences(text, refs)
}

// ToConnect implements connect.Converter.
//
// The domain rules (mode READ) of the writer's schema run on the decoded
// value, as Confluent's deserializers do; with use.latest.with.metadata,
// those of the subject's latest version with that metadata instead (a
// version whose rule set has migration rules is refused: Sluice does not
// run JSONata migrations).
func (c *Converter) ToConnect(topic string, headers connect.Headers, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	if len(data) < headerLen || data[0] != magic {
		return nil, nil, dataErr("Failed to deserialize data for topic %s to %s: Unknown magic byte!", topic, c.fmt.name())
	}
	id := int(binary.BigEndian.Uint32(data[1:headerLen]))
	cd, err := c.readCodec(id, "")
	if err != nil {
		return nil, nil, fmt.Errorf("convert topic %s from %s: %w", topic, c.fmt.name(), err)
	}
	var s *connect.Schema
	var v any
	if sd, ok := cd.(schemaDecoder); ok {
		s, v, err = sd.decodeWithSchema(data[headerLen:])
	} else {
		s = cd.connectSchema()
		v, err = cd.decode(data[headerLen:])
	}
	if err != nil {
		return nil, nil, dataErrCause(err, "Failed to deserialize data for topic %s to %s (schema id %d)", topic, c.fmt.name(), id)
	}
	ct, subject, err := c.readContract(topic, id, cd, s)
	if err != nil {
		return nil, nil, fmt.Errorf("convert topic %s from %s: %w", topic, c.fmt.name(), err)
	}
	if v, err = c.runRules(rules.ModeRead, ct, topic, subject, headers, cd, s, v); err != nil {
		return nil, nil, err
	}
	return s, v, nil
}

// readContract returns the contract whose READ rules apply to data
// written with schema id, and the subject they belong to (for messages).
func (c *Converter) readContract(topic string, id int, cd codec, s *connect.Schema) (*contract, string, error) {
	record := cd.recordName()
	if rn, ok := cd.(recordNamer); ok {
		record = rn.recordNameOf(s)
	}
	subject, serr := c.strategy(topic, record)
	if c.latestMD == nil {
		ct, err := c.reg.contractOf(id)
		return ct, subject, err
	}
	if serr != nil {
		return nil, "", serr
	}
	target, _, err := c.reg.latestWithMetadata(subject, c.latestMD, c.fmt.schemaType().String())
	if err != nil {
		return nil, "", err
	}
	ct, err := c.reg.contractOf(target)
	if err != nil {
		return nil, "", err
	}
	if target != id {
		writer, err := c.reg.contractOf(id)
		if err != nil {
			return nil, "", err
		}
		for _, m := range []*contract{writer, ct} {
			if err := checkMigration(m, subject); err != nil {
				return nil, "", err
			}
		}
	}
	return ct, subject, nil
}
