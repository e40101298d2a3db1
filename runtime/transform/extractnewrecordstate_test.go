package transform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

const unwrapClass = "io.debezium.transforms.ExtractNewRecordState"

// The fixtures follow the Postgres change events of Debezium's
// documentation: the inventory.customers table of a connector whose
// topic.prefix is PostgreSQL_server.
var (
	dbzStatusSchema = connect.NewSchemaBuilder(connect.TypeString).Optional().Default("active").Build()
	dbzRow          = connect.StructBuilder().Optional().Name("PostgreSQL_server.inventory.customers.Value").
			Field("id", connect.Int32Schema).Field("first_name", connect.StringSchema).
			Field("last_name", connect.StringSchema).Field("email", connect.OptionalStringSchema).
			Field("status", dbzStatusSchema).Build()
	dbzKey = connect.StructBuilder().Name("PostgreSQL_server.inventory.customers.Key").
		Field("id", connect.Int32Schema).Build()
	dbzSource = connect.StructBuilder().Name("io.debezium.connector.postgresql.Source").
			Field("version", connect.StringSchema).Field("connector", connect.StringSchema).
			Field("name", connect.StringSchema).Field("ts_ms", connect.Int64Schema).
			Field("db", connect.StringSchema).Field("schema", connect.StringSchema).
			Field("table", connect.StringSchema).Field("txId", connect.OptionalInt64Schema).
			Field("lsn", connect.OptionalInt64Schema).Build()
	dbzTransaction = connect.StructBuilder().Optional().Name("event.block").Version(1).
			Field("id", connect.StringSchema).Field("total_order", connect.Int64Schema).
			Field("data_collection_order", connect.Int64Schema).Build()
	dbzEnvelope = envelopeSchema(dbzRow, dbzSource)
)

const (
	dbzTopic    = "PostgreSQL_server.inventory.customers"
	dbzSourceTS = int64(1559033904863)
	dbzLSN      = int64(24023128)
)

func envelopeSchema(row, source *connect.Schema) *connect.Schema {
	return connect.StructBuilder().Name("PostgreSQL_server.inventory.customers.Envelope").Version(1).
		Field("before", row).Field("after", row).Field("source", source).Field("transaction", dbzTransaction).
		Field("op", connect.StringSchema).Field("ts_ms", connect.OptionalInt64Schema).Build()
}

func dbzCustomer(first, email string) *connect.Struct {
	st := structOf(dbzRow, "id", int32(1004), "first_name", first, "last_name", "Kretchmar")
	if email != "" {
		st.MustPut("email", email)
	}
	return st
}

func dbzSourceBlock() *connect.Struct {
	return structOf(dbzSource, "version", "2.5.0.Final", "connector", "postgresql", "name", "PostgreSQL_server",
		"ts_ms", dbzSourceTS, "db", "postgres", "schema", "inventory", "table", "customers",
		"txId", int64(555), "lsn", dbzLSN)
}

// dbzEvent is a change event as the Postgres connector emits it: a source
// record keyed by the primary key.
func dbzEvent(op string, before, after *connect.Struct) *connect.Record {
	env := structOf(dbzEnvelope, "op", op, "source", dbzSourceBlock(), "ts_ms", int64(1559033904961))
	if before != nil {
		env.MustPut("before", before)
	}
	if after != nil {
		env.MustPut("after", after)
	}
	r := connect.NewSourceRecord(map[string]any{"server": "PostgreSQL_server"}, map[string]any{"lsn": dbzLSN},
		dbzTopic, dbzKey, structOf(dbzKey, "id", int32(1004)), dbzEnvelope, env)
	r.Timestamp = testTime
	return r
}

func dbzCreate() *connect.Record {
	return dbzEvent("c", nil, dbzCustomer("Anne", "annek@noanswer.org"))
}

func dbzUpdate() *connect.Record {
	return dbzEvent("u", dbzCustomer("Anne", "annek@noanswer.org"), dbzCustomer("Anne Marie", "annek@noanswer.org"))
}

func dbzDelete() *connect.Record {
	return dbzEvent("d", dbzCustomer("Anne Marie", "annek@noanswer.org"), nil)
}

func dbzTruncate() *connect.Record { return dbzEvent("t", nil, nil) }

func dbzTombstone() *connect.Record {
	r := connect.NewSourceRecord(map[string]any{"server": "PostgreSQL_server"}, map[string]any{"lsn": dbzLSN},
		dbzTopic, dbzKey, structOf(dbzKey, "id", int32(1004)), nil, nil)
	r.Timestamp = testTime
	return r
}

// outcome is what the transform makes of one event.
type outcome int

const (
	dropped      outcome = iota
	afterRow             // the after row, as is
	afterFalse           // the after row with __deleted=false
	beforeTrue           // the before row with __deleted=true
	nullValue            // null value, row schema kept
	tombstoneOut         // null value, no schema
	unchanged            // the input record itself
)

// requireOutcome checks out against what the transform should have made
// of in.
func requireOutcome(t *testing.T, want outcome, in, out *connect.Record) {
	t.Helper()
	if want == dropped {
		require.Nil(t, out)
		return
	}
	require.NotNil(t, out)
	if want == unchanged {
		require.Same(t, in, out)
		return
	}
	assert.Equal(t, in.Topic, out.Topic)
	assert.Same(t, in.KeySchema, out.KeySchema)
	assert.Same(t, in.Key, out.Key)
	assert.Equal(t, in.Timestamp, out.Timestamp)
	assert.Equal(t, in.SourceOffset, out.SourceOffset)
	env := in.Value.(*connect.Struct)
	switch want {
	case nullValue:
		assert.Nil(t, out.Value)
		assert.Same(t, dbzRow, out.ValueSchema, "the after field's schema, as ExtractField leaves it")
		return
	case tombstoneOut:
		assert.Nil(t, out.Value)
		assert.Nil(t, out.ValueSchema)
		return
	}
	row, _ := env.Get("after")
	if want == beforeTrue {
		row, _ = env.Get("before")
	}
	st := out.Value.(*connect.Struct)
	require.NoError(t, st.Validate())
	s := out.ValueSchema
	assert.Equal(t, dbzRow.Name, s.Name, "the row schema's name is kept")
	assert.False(t, s.Optional, "rebuilt with copySchemaBasics, as Debezium does")
	for i := range dbzRow.Fields {
		f := &dbzRow.Fields[i]
		// Kafka's InsertField, which adds __deleted, reads nulls as their
		// defaults (replace.null.with.default=true).
		assert.Equal(t, fieldValue(row.(*connect.Struct), f, want != afterRow), st.GetWithoutDefault(f.Name), f.Name)
	}
	fields := len(dbzRow.Fields)
	if want == afterRow {
		assert.Len(t, s.Fields, fields)
		return
	}
	require.Len(t, s.Fields, fields+1)
	assert.Equal(t, deletedField, s.Fields[fields].Name)
	assert.Equal(t, connect.OptionalStringSchema, s.Fields[fields].Schema)
	assert.Equal(t, map[outcome]string{afterFalse: "false", beforeTrue: "true"}[want], st.GetWithoutDefault(deletedField))
}

func TestExtractNewRecordStateModes(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		props                        map[string]string
		create, update, delete, tomb outcome
	}{
		{"defaults are the deprecated keys' defaults", nil, afterRow, afterRow, dropped, dropped},
		{"drop.tombstones=false", map[string]string{"drop.tombstones": "false"}, afterRow, afterRow, dropped, unchanged},
		{"delete.handling.mode=none", map[string]string{"delete.handling.mode": "none"}, afterRow, afterRow, nullValue, dropped},
		{"none keeping tombstones", map[string]string{"delete.handling.mode": "none", "drop.tombstones": "false"},
			afterRow, afterRow, nullValue, unchanged},
		{"delete.handling.mode=rewrite", map[string]string{"delete.handling.mode": "rewrite"}, afterFalse, afterFalse, beforeTrue, dropped},
		{"rewrite keeping tombstones", map[string]string{"delete.handling.mode": "REWRITE", "drop.tombstones": "false"},
			afterFalse, afterFalse, beforeTrue, unchanged},
		{"delete.handling.mode=drop", map[string]string{"delete.handling.mode": "drop"}, afterRow, afterRow, dropped, dropped},
		{"mode drop", map[string]string{"delete.tombstone.handling.mode": "drop"}, afterRow, afterRow, dropped, dropped},
		{"mode tombstone", map[string]string{"delete.tombstone.handling.mode": "tombstone"}, afterRow, afterRow, nullValue, dropped},
		{"mode rewrite", map[string]string{"delete.tombstone.handling.mode": "rewrite"}, afterFalse, afterFalse, beforeTrue, dropped},
		{"mode rewrite-with-tombstone", map[string]string{"delete.tombstone.handling.mode": "rewrite-with-tombstone"},
			afterFalse, afterFalse, beforeTrue, unchanged},
		{"mode delete-to-tombstone", map[string]string{"delete.tombstone.handling.mode": "Delete-To-Tombstone"},
			afterRow, afterRow, tombstoneOut, dropped},
		{"the new key wins over the deprecated ones", map[string]string{"delete.tombstone.handling.mode": "tombstone",
			"delete.handling.mode": "rewrite", "drop.tombstones": "false"}, afterRow, afterRow, nullValue, dropped},
		{"a blank new key leaves the deprecated ones in charge", map[string]string{"delete.tombstone.handling.mode": " ",
			"delete.handling.mode": "none", "drop.tombstones": "false"}, afterRow, afterRow, nullValue, unchanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransform(t, unwrapClass, tc.props)
			for _, ev := range []struct {
				name string
				in   *connect.Record
				want outcome
			}{
				{"create", dbzCreate(), tc.create},
				{"snapshot read", dbzEvent("r", nil, dbzCustomer("Anne", "")), tc.create},
				{"update", dbzUpdate(), tc.update},
				{"delete", dbzDelete(), tc.delete},
				{"tombstone", dbzTombstone(), tc.tomb},
				{"truncate", dbzTruncate(), dropped},
			} {
				out, err := tr.Apply(ev.in)
				require.NoError(t, err, ev.name)
				t.Run(ev.name, func(t *testing.T) { requireOutcome(t, ev.want, ev.in, out) })
			}
		})
	}
}

// TestExtractNewRecordStateDocsExample is the metadata example of
// Debezium's New Record State Extraction page.
func TestExtractNewRecordStateDocsExample(t *testing.T) {
	tr := newTransform(t, unwrapClass, map[string]string{
		"add.fields": "op,table,lsn,source.ts_ms", "add.headers": "db", "delete.tombstone.handling.mode": "rewrite"})
	for _, tc := range []struct {
		in      *connect.Record
		op      string
		first   string
		deleted string
	}{
		{dbzCreate(), "c", "Anne", "false"},
		{dbzUpdate(), "u", "Anne Marie", "false"},
		{dbzDelete(), "d", "Anne Marie", "true"},
	} {
		out := apply(t, tr, tc.in)
		s, st := out.ValueSchema, out.Value.(*connect.Struct)
		require.NoError(t, st.Validate())
		var names []string
		for _, f := range s.Fields {
			names = append(names, f.Name)
		}
		assert.Equal(t, []string{"id", "first_name", "last_name", "email", "status",
			"__op", "__table", "__lsn", "__source_ts_ms", "__deleted"}, names)
		assert.Equal(t, connect.OptionalStringSchema, s.Field("__op").Schema)
		assert.Equal(t, connect.OptionalInt64Schema, s.Field("__source_ts_ms").Schema, "a required source field is added optional")
		for name, want := range map[string]any{"first_name": tc.first, "__op": tc.op, "__table": "customers",
			"__lsn": dbzLSN, "__source_ts_ms": dbzSourceTS, "__deleted": tc.deleted} {
			assert.Equal(t, want, st.GetWithoutDefault(name), name)
		}
		require.Len(t, out.Headers, 1)
		assert.Equal(t, connect.Header{Key: "__db", Schema: connect.OptionalStringSchema, Value: "postgres"}, out.Headers[0])
		assert.Empty(t, tc.in.Headers, "the input record is not modified")
	}
}

func TestExtractNewRecordStateAddFieldsNaming(t *testing.T) {
	withTx := dbzUpdate()
	tx := structOf(dbzTransaction, "id", "555:24023128", "total_order", int64(3), "data_collection_order", int64(1))
	withTx.Value.(*connect.Struct).MustPut("transaction", tx)
	for _, tc := range []struct {
		props map[string]string
		in    *connect.Record
		want  map[string]any
	}{
		{map[string]string{"add.fields": "ts_ms,id,total_order,transaction.data_collection_order,source.ts_ms"}, withTx,
			map[string]any{"__ts_ms": int64(1559033904961), "__id": "555:24023128", "__total_order": int64(3),
				"__transaction_data_collection_order": int64(1), "__source_ts_ms": dbzSourceTS}},
		{map[string]string{"add.fields": "op:OP, source.ts_ms:EVENT_TS ,txId", "add.fields.prefix": ""}, withTx,
			map[string]any{"OP": "u", "EVENT_TS": dbzSourceTS, "txId": int64(555)}},
		{map[string]string{"add.fields": "op,name", "add.fields.prefix": "meta."}, dbzCreate(),
			map[string]any{"meta.op": "c", "meta.name": "PostgreSQL_server"}},
		{map[string]string{"add.fields": "transaction.id,notExisting,source.notExisting"}, dbzCreate(),
			map[string]any{"__transaction_id": nil}},
	} {
		out := apply(t, newTransform(t, unwrapClass, tc.props), tc.in)
		s, st := out.ValueSchema, out.Value.(*connect.Struct)
		require.Len(t, s.Fields, len(dbzRow.Fields)+len(tc.want), "%v: fields the event lacks are left out", tc.props)
		for name, want := range tc.want {
			require.NotNil(t, s.Field(name), name)
			assert.Equal(t, want, st.GetWithoutDefault(name), name)
		}
	}

	// Headers name and find fields the same way; a missing field gives no
	// header, a null one a null header.
	out := apply(t, newTransform(t, unwrapClass, map[string]string{
		"add.headers": "op,source.lsn:LSN,transaction.id,nope", "add.headers.prefix": "dbz."}), dbzCreate())
	assert.Equal(t, connect.Headers{
		{Key: "dbz.op", Schema: connect.OptionalStringSchema, Value: "c"},
		{Key: "dbz.LSN", Schema: connect.OptionalInt64Schema, Value: dbzLSN},
		{Key: "dbz.transaction_id", Schema: connect.OptionalStringSchema, Value: nil},
	}, out.Headers)
}

func TestExtractNewRecordStateTombstoneHeaders(t *testing.T) {
	tr := newTransform(t, unwrapClass, map[string]string{
		"delete.tombstone.handling.mode": "rewrite-with-tombstone", "add.headers": "op,source.lsn"})
	in := dbzTombstone()
	in.Headers = connect.Headers{{Key: "trace", Schema: connect.StringSchema, Value: "t1"}}
	out := apply(t, tr, in)
	assert.Nil(t, out.Value)
	assert.Equal(t, connect.Headers{{Key: "trace", Schema: connect.StringSchema, Value: "t1"},
		{Key: "__op", Schema: connect.StringSchema, Value: "d"}}, out.Headers, "only op can be told of a tombstone")
	assert.Len(t, in.Headers, 1, "the input record is not modified")

	out = apply(t, tr, dbzDelete())
	assert.Equal(t, "true", out.Value.(*connect.Struct).GetWithoutDefault(deletedField))
	assert.Equal(t, connect.Headers{{Key: "__op", Schema: connect.OptionalStringSchema, Value: "d"},
		{Key: "__source_lsn", Schema: connect.OptionalInt64Schema, Value: dbzLSN}}, out.Headers)
}

func TestExtractNewRecordStatePassesOtherRecords(t *testing.T) {
	heartbeat := connect.StructBuilder().Name("io.debezium.connector.common.Heartbeat").
		Field("ts_ms", connect.Int64Schema).Build()
	schemaChange := connect.StructBuilder().Name("io.debezium.connector.mysql.SchemaChangeValue").
		Field("databaseName", connect.StringSchema).Field("ddl", connect.OptionalStringSchema).Build()
	txMetadata := connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataValue").
		Field("status", connect.StringSchema).Field("id", connect.StringSchema).Build()
	unnamed := connect.StructBuilder().Field("op", connect.StringSchema).Field("after", connect.OptionalStringSchema).Build()
	tr := newTransform(t, unwrapClass, map[string]string{"delete.tombstone.handling.mode": "rewrite",
		"add.headers": "op", "add.fields": "op", "route.by.field": "id"})
	for name, r := range map[string]*connect.Record{
		"heartbeat":            valueRecord(heartbeat, structOf(heartbeat, "ts_ms", int64(1))),
		"schema change":        valueRecord(schemaChange, structOf(schemaChange, "databaseName", "inventory")),
		"transaction metadata": valueRecord(txMetadata, structOf(txMetadata, "status", "BEGIN", "id", "571")),
		"unnamed struct":       valueRecord(unnamed, structOf(unnamed, "op", "c")),
		// A sink reading with schemas.enable=false sees the envelope as a
		// map; Debezium tells envelopes by their schema name only.
		"schemaless envelope": valueRecord(nil, map[string]any{"op": "c", "after": map[string]any{"id": int64(1)}}),
		"string":              valueRecord(connect.StringSchema, "x"),
	} {
		assert.Same(t, r, apply(t, tr, r), name)
	}
}

func TestExtractNewRecordStateSchemaCache(t *testing.T) {
	for _, props := range []map[string]string{
		nil,
		{"add.fields": "op,lsn"},
		{"add.fields": "op,lsn", "delete.tombstone.handling.mode": "rewrite"},
	} {
		tr := newTransform(t, unwrapClass, props)
		a, b := apply(t, tr, dbzCreate()), apply(t, tr, dbzUpdate())
		assert.Same(t, a.ValueSchema, b.ValueSchema, "%v: built once per input schema", props)
		assert.Equal(t, dbzRow.Name, a.ValueSchema.Name)
	}

	// The added fields depend on the envelope, not only on the row: an
	// envelope whose source block has no lsn gives a row without __lsn.
	noLSN := connect.StructBuilder().Name(dbzSource.Name).Field("db", connect.StringSchema).Build()
	env2 := envelopeSchema(dbzRow, noLSN)
	tr := newTransform(t, unwrapClass, map[string]string{"add.fields": "lsn"})
	first := apply(t, tr, dbzCreate())
	second := apply(t, tr, valueRecord(env2, structOf(env2, "op", "c", "after", dbzCustomer("Anne", ""),
		"source", structOf(noLSN, "db", "postgres"))))
	assert.NotNil(t, first.ValueSchema.Field("__lsn"))
	assert.Nil(t, second.ValueSchema.Field("__lsn"))
}

func TestExtractNewRecordStateRouteByField(t *testing.T) {
	tr := newTransform(t, unwrapClass, map[string]string{"route.by.field": "last_name", "delete.tombstone.handling.mode": "tombstone"})
	assert.Equal(t, "Kretchmar", apply(t, tr, dbzCreate()).Topic)
	assert.Equal(t, "Kretchmar", apply(t, tr, dbzDelete()).Topic, "deletes route by the before row")
	rewrite := newTransform(t, unwrapClass, map[string]string{"route.by.field": "last_name", "delete.tombstone.handling.mode": "rewrite"})
	assert.Equal(t, "Kretchmar", apply(t, rewrite, dbzDelete()).Topic)

	byEmail := newTransform(t, unwrapClass, map[string]string{"route.by.field": "email"})
	assert.Equal(t, dbzTopic, apply(t, byEmail, dbzEvent("c", nil, dbzCustomer("Anne", ""))).Topic, "null keeps the topic")
	byStatus := newTransform(t, unwrapClass, map[string]string{"route.by.field": "status"})
	assert.Equal(t, "active", apply(t, byStatus, dbzCreate()).Topic, "read with the schema default, as Struct.getString does")

	err := applyErr(t, newTransform(t, unwrapClass, map[string]string{"route.by.field": "nope"}), dbzCreate())
	assert.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "nope is not a valid field name")
	err = applyErr(t, newTransform(t, unwrapClass, map[string]string{"route.by.field": "id"}), dbzCreate())
	assert.Contains(t, err.Error(), "Field 'id' is not of type STRING")
}

func TestExtractNewRecordStateDropFields(t *testing.T) {
	withHeader := func(r *connect.Record) *connect.Record {
		r.Headers = connect.Headers{{Key: "drop-fields", Value: []any{"id", "email", "__op"}}}
		return r
	}
	fieldNames := func(s *connect.Schema) []string {
		names := []string{}
		for _, f := range s.Fields {
			names = append(names, f.Name)
		}
		return names
	}
	for _, tc := range []struct {
		props      map[string]string
		value, key []string
	}{
		{map[string]string{}, []string{"id", "first_name", "last_name", "status"}, []string{"id"}},
		{map[string]string{"drop.fields.from.key": "true"}, []string{"id", "first_name", "last_name", "status"}, []string{"id"}},
		{map[string]string{"drop.fields.keep.schema.compatible": "false"}, []string{"first_name", "last_name", "status"}, []string{"id"}},
		{map[string]string{"drop.fields.keep.schema.compatible": "false", "drop.fields.from.key": "true"},
			[]string{"first_name", "last_name", "status"}, []string{}},
	} {
		tc.props["drop.fields.header.name"] = "drop-fields"
		tc.props["add.fields"] = "op"
		out := apply(t, newTransform(t, unwrapClass, tc.props), withHeader(dbzCreate()))
		assert.Equal(t, tc.value, fieldNames(out.ValueSchema), "%v", tc.props)
		assert.Equal(t, tc.key, fieldNames(out.KeySchema), "%v", tc.props)
		require.NoError(t, out.Value.(*connect.Struct).Validate())
		assert.Equal(t, "active", out.Value.(*connect.Struct).GetWithoutDefault("status"),
			"Kafka's ReplaceField, which Debezium delegates to, reads nulls as their defaults")
	}

	tr := newTransform(t, unwrapClass, map[string]string{"drop.fields.header.name": "drop-fields"})
	out := apply(t, tr, dbzCreate())
	assert.Len(t, out.ValueSchema.Fields, len(dbzRow.Fields), "no header, nothing dropped")
	bad := dbzCreate()
	bad.Headers = connect.Headers{{Key: "drop-fields", Schema: connect.StringSchema, Value: "email"}}
	assert.Contains(t, applyErr(t, tr, bad).Error(), "header drop-fields must hold a list of field names, found java.lang.String")
}

func TestExtractNewRecordStateReplaceNullWithDefault(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  any
	}{
		{map[string]string{"delete.tombstone.handling.mode": "tombstone"}, nil},
		{map[string]string{"delete.tombstone.handling.mode": "rewrite"}, "active"},
		{map[string]string{"delete.tombstone.handling.mode": "rewrite", "replace.null.with.default": "false"}, nil},
	} {
		tr := newTransform(t, unwrapClass, tc.props)
		for _, in := range []*connect.Record{dbzCreate(), dbzDelete()} {
			out := apply(t, tr, in)
			if out.Value == nil {
				continue
			}
			assert.Equal(t, tc.want, out.Value.(*connect.Struct).GetWithoutDefault("status"), "%v", tc.props)
		}
	}
}

func TestExtractNewRecordStateErrors(t *testing.T) {
	tr := newTransform(t, unwrapClass, map[string]string{"add.fields": "op"})
	err := applyErr(t, tr, valueRecord(dbzEnvelope, map[string]any{"op": "c"}))
	assert.Contains(t, err.Error(), "Only Struct objects supported for [field extraction], found: java.util.HashMap")

	clash := connect.StructBuilder().Optional().Name("x.Value").Field("__op", connect.OptionalStringSchema).Build()
	env := envelopeSchema(clash, dbzSource)
	err = applyErr(t, tr, valueRecord(env, structOf(env, "op", "c", "after", structOf(clash), "source", dbzSourceBlock())))
	assert.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Cannot create field because of field name duplication __op")

}

func TestExtractNewRecordStateConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"delete.tombstone.handling.mode", "purge", "Invalid value purge for configuration delete.tombstone.handling.mode: " +
			"String must be one of (case insensitive): drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone"},
		{"delete.handling.mode", "keep", "Invalid value keep for configuration delete.handling.mode: " +
			"String must be one of (case insensitive): drop, rewrite, none"},
		{"drop.tombstones", "maybe", "Invalid value maybe for configuration drop.tombstones: Expected value to be either true or false"},
		{"add.fields", "op,source.ts_ms:a:b", "Invalid value op,source.ts_ms:a:b for configuration add.fields: " +
			"Unexpected field name: source.ts_ms:a:b"},
		{"add.headers", "db:x:y", "Invalid value db:x:y for configuration add.headers: Unexpected field name: db:x:y"},
		{"drop.fields.from.key", "yes", "Invalid value yes for configuration drop.fields.from.key"},
		{"replace.null.with.default", "maybe", "Invalid value maybe for configuration replace.null.with.default"},
	} {
		assert.Contains(t, configureErr(t, unwrapClass, map[string]string{tc.key: tc.value}).Error(), tc.want)
	}

	// Pasted into a connector config, the same errors come back from
	// validation on the key at fault.
	props := map[string]string{"transforms": "unwrap", "transforms.unwrap.type": unwrapClass,
		"transforms.unwrap.delete.tombstone.handling.mode": "purge"}
	def, groups := ConfigDef(props, Plugins())
	assert.Contains(t, groups, "Transforms: unwrap")
	var errs []string
	for _, cv := range def.Validate(props) {
		if cv.Name == "transforms.unwrap.delete.tombstone.handling.mode" {
			errs = cv.Errors
		} else {
			assert.Empty(t, cv.Errors, cv.Name)
		}
	}
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0], "String must be one of (case insensitive)")
}

func TestExtractNewRecordStatePlugin(t *testing.T) {
	p := connect.FindPlugin(Plugins(), connect.PluginTransformation, unwrapClass)
	require.NotNil(t, p)
	assert.Equal(t, unwrapClass, p.Class, "Debezium's class name, not Kafka's package")
	assert.Equal(t, connect.PluginTransformation, p.Type)
	_, ok := p.NewTransform().(*extractNewRecordState)
	assert.True(t, ok)
	bySimpleName := connect.FindPlugin(Plugins(), connect.PluginTransformation, "ExtractNewRecordState")
	require.NotNil(t, bySimpleName)
	assert.Equal(t, unwrapClass, bySimpleName.Class)
	assert.Nil(t, connect.FindPlugin(Plugins(), connect.PluginTransformation, "org.apache.kafka.connect.transforms.ExtractNewRecordState"))

	chain, err := NewChain(map[string]string{"transforms": "unwrap", "transforms.unwrap.type": unwrapClass,
		"transforms.unwrap.delete.tombstone.handling.mode": "rewrite"}, Plugins(), nil)
	require.NoError(t, err)
	out, err := chain.Apply(dbzDelete())
	require.NoError(t, err)
	assert.Equal(t, "true", out.Value.(*connect.Struct).GetWithoutDefault(deletedField))
}

func TestParseFieldRefs(t *testing.T) {
	// Entries split as Java's String.split does in Debezium's
	// FieldReference: trailing separators are ignored, a third path step
	// is.
	for entry, want := range map[string]fieldRef{
		"op":                    {parent: "", name: "op", out: "__op"},
		"ts_ms":                 {parent: "", name: "ts_ms", out: "__ts_ms"},
		"lsn":                   {parent: "source", name: "lsn", out: "__lsn"},
		"ts_us":                 {parent: "source", name: "ts_us", out: "__ts_us"},
		"data_collection_order": {parent: "transaction", name: "data_collection_order", out: "__data_collection_order"},
		"source.ts_ms":          {parent: "source", name: "ts_ms", out: "__source_ts_ms"},
		"source.ts_ms:TS":       {parent: "source", name: "ts_ms", out: "__TS"},
		"op:":                   {parent: "", name: "op", out: "__op"},
		"op:OP::":               {parent: "", name: "op", out: "__OP"},
		"table.":                {parent: "source", name: "table", out: "__table"},
		"a.b.c":                 {parent: "a", name: "b", out: "__a_b"},
	} {
		assert.Equal(t, []fieldRef{want}, parseFieldRefs("__", []string{entry}), entry)
	}
	assert.Empty(t, parseFieldRefs("__", []string{"", ""}))
}
