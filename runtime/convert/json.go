package convert

import (
	"bytes"
	"errors"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/runtime/connect"
)

// JSONConverter is Kafka's org.apache.kafka.connect.json.JsonConverter.
// With schemas.enable (the default) each value travels in an envelope
// holding its schema:
//
//	{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false},
//	 "payload":{"id":42}}
//
// without it the bare payload is written and read back schemaless. The
// bytes written are those Kafka writes for the same data (see jsonWriter
// and the golden tests); a null value with no schema is a tombstone (nil
// bytes).
//
// After Configure, a JSONConverter is safe for concurrent use: parsed and
// rendered schemas are cached (schemas.cache.size of each) under a lock.
type JSONConverter struct {
	schemasEnable  bool
	decimalNumeric bool
	replaceNull    bool

	mu        sync.Mutex
	fromCache *lru[*connect.Schema, []byte] // schema → `{"schema":…,"payload":`
	toCache   *lru[string, *connect.Schema] // schema JSON → schema
	writers   sync.Pool
}

// NewJSONConverter returns a JsonConverter with Kafka's defaults, ready
// for use; Configure changes them.
func NewJSONConverter() *JSONConverter {
	c := &JSONConverter{}
	c.apply(true, defaultSchemaCacheSize, false, true)
	return c
}

func (c *JSONConverter) apply(schemas bool, cacheSize int, numeric, replaceNull bool) {
	c.schemasEnable, c.decimalNumeric, c.replaceNull = schemas, numeric, replaceNull
	c.fromCache = newLRU[*connect.Schema, []byte](cacheSize)
	c.toCache = newLRU[string, *connect.Schema](cacheSize)
}

// Configure implements connect.Converter.
func (c *JSONConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *JSONConverter) configure(config map[string]string, typ string) error {
	cfg, err := parseConverterConfig(jsonConfigDef(), config, typ)
	if err != nil {
		return err
	}
	c.apply(cfg.Bool(SchemasEnableConfig), int(cfg.Int(SchemasCacheSizeConfig)),
		strings.EqualFold(cfg.String(DecimalFormatConfig), "NUMERIC"), cfg.Bool(ReplaceNullWithDefaultConfig))
	return nil
}

// FromConnect implements connect.Converter.
func (c *JSONConverter) FromConnect(_ string, _ connect.Headers, s *connect.Schema, v any) ([]byte, error) {
	if s == nil && v == nil {
		return nil, nil
	}
	if raw, ok := v.(connect.RawJSON); ok && s == nil && !c.schemasEnable {
		return raw, nil // see connect.RawJSON: the bytes are final
	}
	w := c.writer()
	defer c.writers.Put(w)
	b := w.buf[:0]
	var err error
	if c.schemasEnable {
		b, err = c.envelopeHead(w, b, s)
	}
	if err == nil {
		b, err = w.value(b, s, v)
	}
	w.buf = b
	if err != nil {
		return nil, err
	}
	if c.schemasEnable {
		b = append(b, '}')
		w.buf = b
	}
	return bytes.Clone(b), nil
}

func (c *JSONConverter) writer() *jsonWriter {
	w, ok := c.writers.Get().(*jsonWriter)
	if !ok {
		w = &jsonWriter{buf: make([]byte, 0, 1024)}
	}
	w.decimalNumeric, w.replaceNull, w.keys = c.decimalNumeric, c.replaceNull, w.keys[:0]
	return w
}

// envelopeHead appends `{"schema":<schema>,"payload":`, rendered once per
// schema.
func (c *JSONConverter) envelopeHead(w *jsonWriter, b []byte, s *connect.Schema) ([]byte, error) {
	if s == nil {
		return append(b, `{"schema":null,"payload":`...), nil
	}
	c.mu.Lock()
	head, ok := c.fromCache.get(s)
	c.mu.Unlock()
	if ok {
		return append(b, head...), nil
	}
	start := len(b)
	b = append(b, `{"schema":`...)
	b, err := w.schema(b, s)
	if err != nil {
		return b, err
	}
	b = append(b, `,"payload":`...)
	head = bytes.Clone(b[start:])
	c.mu.Lock()
	c.fromCache.put(s, head)
	c.mu.Unlock()
	return b, nil
}

// errEnvelope is Kafka's complaint about input that is not an envelope.
var errEnvelope = dataErr("JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. " +
	"If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.")

// ToConnect implements connect.Converter. Empty input (or only
// whitespace) is a null value with no schema.
func (c *JSONConverter) ToConnect(_ string, _ connect.Headers, data []byte) (*connect.Schema, any, error) {
	r := &jsonReader{scanner: scanner{data: data}, replaceNull: c.replaceNull}
	if r.peek() == 0 && r.pos == len(data) {
		return nil, nil, nil
	}
	var s *connect.Schema
	var v any
	var err error
	if c.schemasEnable {
		s, v, err = c.readEnvelope(r)
	} else {
		v, err = r.schemaless()
		if err == nil {
			err = r.end()
		}
	}
	if err != nil {
		return nil, nil, serializationErr(err)
	}
	return s, v, nil
}

// serializationErr wraps malformed JSON as Kafka does; data errors pass
// unchanged.
func serializationErr(err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return dataErrCause(se, "Converting byte[] to Kafka Connect data failed due to serialization error")
	}
	return err
}

// envelope tracks the members of {"schema":…,"payload":…} while scanning.
type envelope struct {
	schema, payload     []byte
	schemaAt, payloadAt int
	extra               bool

	// A payload converted during the scan, with the schema then known.
	tried                     bool
	triedSchema, triedPayload int
	result                    any
	resultSchema              *connect.Schema
	resultErr                 error
}

// readEnvelope checks the envelope and converts its payload. When the
// schema comes first (as Kafka writes it) the payload is converted in the
// same pass; otherwise it is converted from its span afterwards.
func (c *JSONConverter) readEnvelope(r *jsonReader) (*connect.Schema, any, error) {
	if r.peek() != '{' {
		if err := r.skip(); err != nil {
			return nil, nil, err
		}
		if err := r.end(); err != nil {
			return nil, nil, err
		}
		return nil, nil, errEnvelope
	}
	env := envelope{schemaAt: -1, payloadAt: -1}
	if err := c.scanEnvelope(r, &env); err != nil {
		return nil, nil, err
	}
	if env.schemaAt < 0 || env.payloadAt < 0 || env.extra {
		return nil, nil, errEnvelope
	}
	if env.tried && env.triedSchema == env.schemaAt && env.triedPayload == env.payloadAt {
		return env.resultSchema, env.result, env.resultErr
	}
	s, err := c.schemaFor(env.schema)
	if err != nil {
		return nil, nil, err
	}
	pr := jsonReader{scanner: scanner{data: env.payload}, replaceNull: c.replaceNull}
	v, err := pr.value(s)
	if err != nil {
		return nil, nil, err
	}
	return s, v, nil
}

func (c *JSONConverter) scanEnvelope(r *jsonReader, env *envelope) error {
	empty, err := r.open('}')
	for err == nil && !empty {
		var k []byte
		if k, err = r.key(); err != nil {
			return err
		}
		at := r.pos
		switch string(k) {
		case "schema":
			env.schema, err = r.span()
			env.schemaAt = at
		case "payload":
			if env.schemaAt >= 0 && !env.extra {
				err = c.tryPayload(r, env, at)
			} else {
				_, err = r.span()
			}
			env.payload, env.payloadAt = r.data[at:r.pos], at
		default:
			env.extra = true
			err = r.skip()
		}
		if err != nil {
			return err
		}
		var more bool
		more, err = r.more('}')
		empty = !more
	}
	if err != nil {
		return err
	}
	return r.end()
}

// tryPayload converts the payload at r with the schema already seen. A
// data error is kept for later (the envelope may yet prove invalid, which
// Kafka reports first) and the payload is skipped to check its syntax.
func (c *JSONConverter) tryPayload(r *jsonReader, env *envelope, at int) error {
	depth := r.depth
	s, err := c.schemaFor(env.schema)
	var v any
	if err == nil {
		v, err = r.value(s)
	}
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return err
		}
		r.pos, r.depth = at, depth
		if _, serr := r.span(); serr != nil {
			return serr
		}
		v, s = nil, nil
	}
	env.tried, env.triedSchema, env.triedPayload = true, env.schemaAt, at
	env.result, env.resultSchema, env.resultErr = v, s, err
	return nil
}

// schemaFor returns the schema for its JSON form, from the cache when the
// same bytes were seen before.
func (c *JSONConverter) schemaFor(span []byte) (*connect.Schema, error) {
	if string(span) == "null" {
		return nil, nil
	}
	c.mu.Lock()
	if e, ok := c.toCache.items[string(span)]; ok {
		s := c.toCache.hit(e)
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	s, err := parseSchema(span, c.replaceNull, 0)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.toCache.put(string(span), s)
	c.mu.Unlock()
	return s, nil
}
