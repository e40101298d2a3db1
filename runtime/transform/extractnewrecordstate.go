package transform

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// extractNewRecordState is Debezium's io.debezium.transforms.ExtractNewRecordState
// ("event flattening", usually aliased unwrap). A change event whose value
// schema is named *.Envelope is replaced by its after row; deletes and the
// tombstones that follow them are dropped, kept or rewritten as configured;
// fields of the envelope (op, source.*, transaction.*) can be copied into
// the row or into headers. Everything else passes through unchanged, as in
// Debezium: heartbeats, schema change and transaction metadata events, and
// schemaless values, which Debezium cannot tell apart from other records.
//
// As in Debezium, the steps are Kafka's own transforms (ExtractField,
// ReplaceField, InsertField) run as delegates, so null handling and schema
// names follow theirs: the output schema keeps the row schema's name
// (<prefix>.<schema>.<table>.Value) and is rebuilt, cached, per row and
// envelope schema.
//
// Deletes and tombstones follow delete.tombstone.handling.mode (Debezium
// 2.5+) when it is set, else the deprecated drop.tombstones and
// delete.handling.mode with their defaults (drop both), as Debezium 2.5 to
// 2.7 do. Debezium 3 dropped the deprecated keys and defaults to tombstone.
type extractNewRecordState struct {
	deletes        deleteHandling
	routeBy        string
	addFields      []fieldRef
	addHeaders     []fieldRef
	dropHeader     string
	dropFromKey    bool
	dropCompatible bool

	after, before    *extractField
	removed, updated *insertField
	rows             map[rowKey]*connect.Schema
	envelopes        map[*connect.Schema][]*connect.Schema
	droppers         map[dropperKey]*replaceField
}

// Config keys, as Debezium names them.
const (
	deleteTombstoneModeKey = "delete.tombstone.handling.mode"
	dropTombstonesKey      = "drop.tombstones"
	deleteHandlingModeKey  = "delete.handling.mode"
	routeByFieldKey        = "route.by.field"
	addFieldsPrefixKey     = "add.fields.prefix"
	addFieldsKey           = "add.fields"
	addHeadersPrefixKey    = "add.headers.prefix"
	addHeadersKey          = "add.headers"
	dropFieldsHeaderKey    = "drop.fields.header.name"
	dropFieldsFromKeyKey   = "drop.fields.from.key"
	dropFieldsCompatKey    = "drop.fields.keep.schema.compatible"
)

const (
	envelopeSuffix = ".Envelope"
	deletedField   = "__deleted"
	metadataPrefix = "__"
	unwrapPurpose  = "source field insertion"
)

// deleteAction is what becomes of a delete event.
type deleteAction int

const (
	deleteDrop      deleteAction = iota // dropped
	deleteNullValue                     // kept with a null value and the row schema
	deleteTombstone                     // kept as a tombstone: null value, no schema
	deleteRewrite                       // the before row with __deleted=true
)

// deleteHandling is the resolved delete and tombstone behaviour.
type deleteHandling struct {
	action         deleteAction
	keepTombstones bool
}

// deleteTombstoneModes are the values of delete.tombstone.handling.mode,
// in Debezium's order.
var deleteTombstoneModes = []struct {
	name     string
	handling deleteHandling
}{
	{"drop", deleteHandling{deleteDrop, false}},
	{"tombstone", deleteHandling{deleteNullValue, false}},
	{"rewrite", deleteHandling{deleteRewrite, false}},
	{"rewrite-with-tombstone", deleteHandling{deleteRewrite, true}},
	{"delete-to-tombstone", deleteHandling{deleteTombstone, false}},
}

// legacyDeleteActions are the values of the deprecated delete.handling.mode.
var legacyDeleteActions = map[string]deleteAction{"drop": deleteDrop, "rewrite": deleteRewrite, "none": deleteNullValue}

func deleteTombstoneModeNames() []string {
	names := make([]string, len(deleteTombstoneModes))
	for i, m := range deleteTombstoneModes {
		names[i] = m.name
	}
	return names
}

// nullOr lets a key be unset (or blank, which Debezium reads as unset)
// and otherwise applies v.
func nullOr(v connect.Validator) connect.Validator {
	return connect.ValidatorFunc{
		Fn: func(name string, x any) string {
			if s, _ := x.(string); s == "" {
				return ""
			}
			return v.Validate(name, x)
		},
		Desc: v.String(),
	}
}

// fieldRefsValidator rejects add.fields and add.headers entries with more
// than one rename.
var fieldRefsValidator = connect.ValidatorFunc{
	Fn: func(_ string, v any) string {
		l, _ := v.([]string)
		for _, e := range l {
			if len(javaSplit(e, ":")) > 2 {
				return "Unexpected field name: " + e
			}
		}
		return ""
	},
	Desc: "comma-separated [struct.]field[:new_name] entries",
}

var extractNewRecordStateConfig = connect.ConfigDef{
	{Name: deleteTombstoneModeKey, Type: connect.ConfigString, Default: nil, Importance: connect.Medium,
		Validator: nullOr(caseInsensitiveValidString(deleteTombstoneModeNames()...)),
		Doc: "What becomes of delete events and tombstones: drop removes both; tombstone keeps each delete as a " +
			"null value and drops tombstones; rewrite replaces each delete with its before row plus __deleted=true " +
			"(and adds __deleted=false to other rows) and drops tombstones; rewrite-with-tombstone also keeps " +
			"tombstones; delete-to-tombstone turns each delete into a tombstone and drops the original ones. " +
			"When set, drop.tombstones and delete.handling.mode are ignored."},
	{Name: dropTombstonesKey, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low,
		Doc: "Deprecated, use delete.tombstone.handling.mode: whether tombstones are dropped."},
	{Name: deleteHandlingModeKey, Type: connect.ConfigString, Default: "drop", Importance: connect.Medium,
		Validator: caseInsensitiveValidString("drop", "rewrite", "none"),
		Doc: "Deprecated, use delete.tombstone.handling.mode: drop removes delete events, none keeps them with " +
			"a null value, rewrite replaces them with the before row plus __deleted=true."},
	{Name: routeByFieldKey, Type: connect.ConfigString, Default: "", Importance: connect.Low,
		Doc: "Row field whose value becomes the topic (the after row's, or the before row's for deletes); " +
			"a null or empty value keeps the topic."},
	{Name: addFieldsPrefixKey, Type: connect.ConfigString, Default: metadataPrefix, Importance: connect.Low,
		Doc: "Prefix of the fields add.fields adds."},
	{Name: addFieldsKey, Type: connect.ConfigList, Default: "", Validator: fieldRefsValidator, Importance: connect.Low,
		Doc: "Envelope fields to add to the row: op and ts_ms name top-level fields, id, total_order and " +
			"data_collection_order the transaction's, any other name a source field; struct.field picks one " +
			"explicitly. Each is added as <prefix><field>, or <prefix><struct>_<field>, or <prefix><new_name> " +
			"with field:new_name; fields the event lacks are left out."},
	{Name: addHeadersPrefixKey, Type: connect.ConfigString, Default: metadataPrefix, Importance: connect.Low,
		Doc: "Prefix of the headers add.headers adds."},
	{Name: addHeadersKey, Type: connect.ConfigList, Default: "", Validator: fieldRefsValidator, Importance: connect.Low,
		Doc: "Envelope fields to add as headers, named as in add.fields; tombstones get an op header of \"d\"."},
	{Name: dropFieldsHeaderKey, Type: connect.ConfigString, Default: nil, Importance: connect.Low,
		Doc: "Header holding a list of field names to remove from the value."},
	{Name: dropFieldsFromKeyKey, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low,
		Doc: "Whether the fields named by drop.fields.header.name are removed from the key too."},
	{Name: dropFieldsCompatKey, Type: connect.ConfigBoolean, Default: true, Importance: connect.Low,
		Doc: "Whether only optional fields are removed, so the schemas stay compatible (true), or every named field (false)."},
	func() connect.ConfigKey {
		k := replaceNullWithDefaultKey
		k.Importance = connect.Low
		k.Doc = "Whether null fields that have a schema default take that default when __deleted is added by a rewrite mode."
		return k
	}(),
}

func (t *extractNewRecordState) Configure(props map[string]string) error {
	cfg, err := extractNewRecordStateConfig.Parse(props)
	if err != nil {
		return err
	}
	t.deletes = resolveDeleteHandling(cfg)
	t.routeBy = cfg.String(routeByFieldKey)
	t.addFields = parseFieldRefs(cfg.String(addFieldsPrefixKey), cfg.List(addFieldsKey))
	t.addHeaders = parseFieldRefs(cfg.String(addHeadersPrefixKey), cfg.List(addHeadersKey))
	t.dropHeader = cfg.String(dropFieldsHeaderKey)
	t.dropFromKey = cfg.Bool(dropFieldsFromKeyKey)
	t.dropCompatible = cfg.Bool(dropFieldsCompatKey)
	t.rows, t.envelopes, t.droppers = nil, nil, nil

	replaceNull := strconv.FormatBool(cfg.Bool(replaceNullWithDefaultKey.Name))
	deleted := func(v string) map[string]string {
		return map[string]string{"static.field": deletedField, "static.value": v, replaceNullWithDefaultKey.Name: replaceNull}
	}
	t.after, t.before = &extractField{side: valueSide}, &extractField{side: valueSide}
	t.removed, t.updated = &insertField{side: valueSide}, &insertField{side: valueSide}
	if err := errors.Join(
		t.after.Configure(map[string]string{"field": "after"}),
		t.before.Configure(map[string]string{"field": "before"}),
		t.removed.Configure(deleted("true")),
		t.updated.Configure(deleted("false")),
	); err != nil {
		return fmt.Errorf("configure ExtractNewRecordState delegates: %w", err)
	}
	return nil
}

// resolveDeleteHandling applies delete.tombstone.handling.mode when set,
// else the deprecated keys.
func resolveDeleteHandling(cfg connect.Config) deleteHandling {
	if mode := cfg.String(deleteTombstoneModeKey); mode != "" {
		for _, m := range deleteTombstoneModes {
			if strings.EqualFold(m.name, mode) {
				return m.handling
			}
		}
	}
	return deleteHandling{
		action:         legacyDeleteActions[strings.ToLower(cfg.String(deleteHandlingModeKey))],
		keepTombstones: !cfg.Bool(dropTombstonesKey),
	}
}

func (t *extractNewRecordState) Apply(r *connect.Record) (*connect.Record, error) {
	if r.Value == nil {
		return t.tombstone(r), nil
	}
	if s := r.ValueSchema; s == nil || !strings.HasSuffix(s.Name, envelopeSuffix) {
		return r, nil
	}
	env, err := requireStruct(r.Value, extractPurpose)
	if err != nil {
		return nil, err
	}
	if len(t.addHeaders) > 0 {
		c := r.Copy()
		c.Headers = append(c.Headers, t.headers(env)...)
		r = c
	}
	after, err := t.after.Apply(r)
	if err != nil {
		return nil, err
	}
	if after.Value != nil {
		return t.changed(after, env)
	}
	before, err := t.before.Apply(r)
	if err != nil {
		return nil, err
	}
	if before.Value == nil {
		return nil, nil // a truncate: neither before nor after
	}
	return t.deleted(after, before, env)
}

// tombstone keeps or drops a record with a null value; a kept one gets
// an op header of "d" when add.headers asks for op.
func (t *extractNewRecordState) tombstone(r *connect.Record) *connect.Record {
	if !t.deletes.keepTombstones {
		return nil
	}
	var hs connect.Headers
	for _, ref := range t.addHeaders {
		if ref.name == "op" {
			hs = append(hs, connect.Header{Key: ref.out, Schema: connect.StringSchema, Value: "d"})
		}
	}
	if len(hs) == 0 {
		return r
	}
	c := r.Copy()
	c.Headers = append(c.Headers, hs...)
	return c
}

// changed handles a create, update or snapshot read: r holds the after row.
func (t *extractNewRecordState) changed(r *connect.Record, env *connect.Struct) (*connect.Record, error) {
	r, err := t.route(r, r.Value, "Read record to set topic routing for CREATE / UPDATE")
	if err != nil {
		return nil, err
	}
	if r, err = t.withAddedFields(r, env); err != nil {
		return nil, err
	}
	if r, err = t.dropFields(r); err != nil {
		return nil, err
	}
	if t.deletes.action == deleteRewrite {
		return t.updated.Apply(r)
	}
	return r, nil
}

// deleted handles a delete event: after holds its null after row, before
// its before row.
func (t *extractNewRecordState) deleted(after, before *connect.Record, env *connect.Struct) (*connect.Record, error) {
	const purpose = "Read record to set topic routing for DELETE"
	var r *connect.Record
	var err error
	switch t.deletes.action {
	case deleteDrop:
		return nil, nil
	case deleteRewrite:
		if r, err = t.route(before, before.Value, purpose); err != nil {
			return nil, err
		}
		if r, err = t.withAddedFields(r, env); err != nil {
			return nil, err
		}
		if r, err = t.dropFields(r); err != nil {
			return nil, err
		}
		return t.removed.Apply(r)
	case deleteTombstone:
		after = valueSide.with(after, nil, nil)
	}
	if r, err = t.route(after, before.Value, purpose); err != nil {
		return nil, err
	}
	return t.dropFields(r)
}

// route sets r's topic from route.by.field of row, unless that is null or
// empty.
func (t *extractNewRecordState) route(r *connect.Record, row any, purpose string) (*connect.Record, error) {
	if t.routeBy == "" {
		return r, nil
	}
	st, err := requireStruct(row, purpose)
	if err != nil {
		return nil, err
	}
	v, err := st.Get(t.routeBy)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", routeByFieldKey, t.routeBy, err)
	}
	topic, ok := v.(string)
	if v != nil && !ok {
		return nil, fmt.Errorf("%w: Field '%s' is not of type STRING", connect.ErrData, t.routeBy)
	}
	if strings.TrimSpace(topic) == "" {
		return r, nil
	}
	c := r.Copy()
	c.Topic = topic
	return c, nil
}

// withAddedFields rebuilds r's row with the add.fields taken from env. As
// in Debezium it runs even without add.fields, so the value schema is
// always a copy of the row schema (name, version, doc, parameters and
// fields; not optional).
func (t *extractNewRecordState) withAddedFields(r *connect.Record, env *connect.Struct) (*connect.Record, error) {
	row, err := requireStruct(r.Value, unwrapPurpose)
	if err != nil {
		return nil, err
	}
	s, err := t.rowSchema(row.Schema(), env.Schema())
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(s)
	in := row.Schema().Fields
	for i := range in {
		out.Set(&s.Fields[i], fieldValue(row, &in[i], false))
	}
	for _, ref := range t.addFields {
		if ref.fieldIn(env.Schema()) != nil {
			out.Set(s.Field(ref.out), ref.valueIn(env))
		}
	}
	return valueSide.with(r, s, out), nil
}

// rowKey identifies an output row schema: the added fields depend on the
// envelope schema as well as on the row schema.
type rowKey struct{ row, envelope *connect.Schema }

// rowSchema returns, cached, row's schema with the add.fields that env has.
func (t *extractNewRecordState) rowSchema(row, env *connect.Schema) (*connect.Schema, error) {
	key := rowKey{row, env}
	if s, ok := t.rows[key]; ok {
		return s, nil
	}
	b := copySchemaBasics(row, connect.TypeStruct)
	names := make(map[string]bool, len(row.Fields)+len(t.addFields))
	for _, f := range row.Fields {
		b.Field(f.Name, f.Schema)
		names[f.Name] = true
	}
	for _, ref := range t.addFields {
		f := ref.fieldIn(env)
		if f == nil {
			continue
		}
		if names[ref.out] {
			return nil, fmt.Errorf("%w: Cannot create field because of field name duplication %s", connect.ErrData, ref.out)
		}
		names[ref.out] = true
		b.Field(ref.out, optionalCopy(f.Schema))
	}
	if t.rows == nil || len(t.rows) >= schemaCacheSize {
		t.rows = make(map[rowKey]*connect.Schema, schemaCacheSize)
	}
	s := b.Build()
	t.rows[key] = s
	return s, nil
}

// headers returns the add.headers taken from env; a field env's schema
// lacks gives no header.
func (t *extractNewRecordState) headers(env *connect.Struct) connect.Headers {
	schemas, ok := t.envelopes[env.Schema()]
	if !ok {
		schemas = make([]*connect.Schema, len(t.addHeaders))
		for i, ref := range t.addHeaders {
			if f := ref.fieldIn(env.Schema()); f != nil {
				schemas[i] = optionalCopy(f.Schema)
			}
		}
		if t.envelopes == nil || len(t.envelopes) >= schemaCacheSize {
			t.envelopes = make(map[*connect.Schema][]*connect.Schema, schemaCacheSize)
		}
		t.envelopes[env.Schema()] = schemas
	}
	hs := make(connect.Headers, 0, len(t.addHeaders))
	for i, ref := range t.addHeaders {
		if schemas[i] != nil {
			hs = append(hs, connect.Header{Key: ref.out, Schema: schemas[i], Value: ref.valueIn(env)})
		}
	}
	return hs
}

// optionalCopy is s made optional, without its default (Debezium's
// SchemaUtil.copySchemaBasics(s).optional()), keeping a struct's fields
// and a map's or array's element schemas.
func optionalCopy(s *connect.Schema) *connect.Schema {
	b := copySchemaBasics(s, s.Type).Optional()
	for _, f := range s.Fields {
		b.Field(f.Name, f.Schema)
	}
	out := b.Build()
	out.KeySchema, out.ValueSchema = s.KeySchema, s.ValueSchema
	return out
}

// dropFields removes the fields listed in the drop.fields.header.name
// header from the value, and from the key with drop.fields.from.key,
// through Kafka's ReplaceField as Debezium does.
func (t *extractNewRecordState) dropFields(r *connect.Record) (*connect.Record, error) {
	if t.dropHeader == "" {
		return r, nil
	}
	i := slices.IndexFunc(r.Headers, func(h connect.Header) bool { return h.Key == t.dropHeader })
	if i < 0 || r.Headers[i].Value == nil {
		return r, nil
	}
	names, err := headerNames(r.Headers[i])
	if err != nil || len(names) == 0 {
		return r, err
	}
	if t.dropFromKey && r.Key != nil {
		if r, err = t.drop(r, keySide, names); err != nil {
			return nil, err
		}
	}
	return t.drop(r, valueSide, names)
}

// drop removes the droppable names from one side of r.
func (t *extractNewRecordState) drop(r *connect.Record, s side, names []string) (*connect.Record, error) {
	if t.dropCompatible {
		names = optionalFields(s.schema(r), names)
	}
	if len(names) == 0 {
		return r, nil
	}
	key := dropperKey{s, strings.Join(names, ",")}
	d, ok := t.droppers[key]
	if !ok {
		d = &replaceField{side: s}
		if err := d.Configure(map[string]string{"exclude": key.names}); err != nil {
			return nil, fmt.Errorf("configure field removal of %s: %w", key.names, err)
		}
		if t.droppers == nil || len(t.droppers) >= schemaCacheSize {
			t.droppers = make(map[dropperKey]*replaceField, schemaCacheSize)
		}
		t.droppers[key] = d
	}
	return d.Apply(r)
}

// dropperKey identifies a ReplaceField delegate.
type dropperKey struct {
	side  side
	names string
}

// optionalFields returns the names that are optional fields of s.
func optionalFields(s *connect.Schema, names []string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, f := range s.Fields {
		if f.Schema.Optional && slices.Contains(names, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}

// headerNames reads the list of field names a drop header holds.
func headerNames(h connect.Header) ([]string, error) {
	switch v := h.Value.(type) {
	case []string:
		return v, nil
	case []any:
		names := make([]string, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%w: header %s must list field names, found %s", connect.ErrData, h.Key, javaName(x))
			}
			names[i] = s
		}
		return names, nil
	}
	return nil, fmt.Errorf("%w: header %s must hold a list of field names, found %s", connect.ErrData, h.Key, javaName(h.Value))
}
