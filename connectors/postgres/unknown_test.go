package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// pg_lsn and its array: built-in types neither Debezium nor Sluice maps.
const (
	pgLSNOID      = 3220
	pgLSNArrayOID = 3221
)

func TestUnknownTypeSchemaAndValue(t *testing.T) {
	lsn := Column{Name: "pos", TypeOID: pgLSNOID, TypeName: "pg_lsn", Nullable: true}
	lsns := Column{Name: "hist", TypeOID: pgLSNArrayOID, TypeName: "_pg_lsn", Nullable: true}
	text := "0/16B3748"

	_, err := ColumnSchema(lsn, TypeOptions{})
	require.ErrorIs(t, err, ErrUnsupportedType, "without include.unknown.datatypes a type without mapping has no schema")
	_, err = ConvertText(lsn, &text, TypeOptions{})
	require.ErrorIs(t, err, ErrUnsupportedType)

	tests := []struct {
		name       string
		opts       TypeOptions
		col        Column
		text       string
		wantSchema *connect.Schema
		want       any
	}{
		{"bytes", TypeOptions{IncludeUnknown: true}, lsn, text, connect.OptionalBytesSchema, []byte(text)},
		{"hex", TypeOptions{IncludeUnknown: true, BinaryMode: "hex"}, lsn, text, connect.OptionalStringSchema, "302f31364233373438"},
		{"base64", TypeOptions{IncludeUnknown: true, BinaryMode: "base64"}, lsn, text, connect.OptionalStringSchema, "MC8xNkIzNzQ4"},
		{"array", TypeOptions{IncludeUnknown: true}, lsns, "{0/1,NULL,0/2}",
			optional(connect.ArrayOf(connect.BytesSchema)), []any{[]byte("0/1"), nil, []byte("0/2")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ColumnSchema(tc.col, tc.opts)
			require.NoError(t, err)
			assert.True(t, tc.wantSchema.Equal(s), "schema %s", s)
			v, err := ConvertText(tc.col, &tc.text, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, v)
		})
	}

	t.Run("arrays Debezium never maps stay unmapped", func(t *testing.T) {
		for _, c := range []Column{
			{Name: "m", TypeOID: moneyArrayOID, TypeName: "_money"},
			{Name: "n", TypeOID: pgtype.NameArrayOID, TypeName: "_name"},
			{Name: "x", TypeOID: pgtype.XMLArrayOID, TypeName: "_xml"},
		} {
			_, err := ColumnSchema(c, TypeOptions{IncludeUnknown: true})
			assert.ErrorIs(t, err, ErrUnsupportedType, c.TypeName)
		}
	})
}

func TestMappedColumnsDropsUnknownColumnsAndKeys(t *testing.T) {
	table := Table{Schema: "public", Name: "ledger", KeyColumns: []string{"id", "pos"}, Columns: []Column{
		{Name: "id", TypeOID: pgtype.Int4OID, TypeName: "int4"},
		{Name: "pos", TypeOID: pgLSNOID, TypeName: "pg_lsn"},
		{Name: "note", TypeOID: pgtype.TextOID, TypeName: "text", Nullable: true},
	}}
	got := mappedColumns(table, TypeOptions{}, nil)
	assert.Equal(t, []string{"id", "note"}, columnNames(got.Columns))
	assert.Equal(t, []string{"id"}, got.KeyColumns)
	assert.Len(t, table.Columns, 3, "the described table is left as it was")

	got = mappedColumns(table, TypeOptions{IncludeUnknown: true}, nil)
	assert.Equal(t, []string{"id", "pos", "note"}, columnNames(got.Columns))
	assert.Equal(t, []string{"id", "pos"}, got.KeyColumns)
}

func columnNames(cols []Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

// rowFields returns the field names and values of a record's after row.
func rowFields(t *testing.T, r *connect.Record) ([]string, map[string]any) {
	t.Helper()
	after, err := r.Value.(*connect.Struct).Get("after")
	require.NoError(t, err)
	row := after.(*connect.Struct)
	var names []string
	values := map[string]any{}
	for _, f := range row.Schema().Fields {
		names = append(names, f.Name)
		values[f.Name] = row.GetField(&f)
	}
	return names, values
}

func TestUnknownDatatypesInSnapshotAndStream(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg,
		"CREATE TABLE ledger (id int PRIMARY KEY, pos pg_lsn, hist pg_lsn[], names name[], note text)",
		"INSERT INTO ledger VALUES (1, '0/16B3748', '{0/1,0/2}', '{a,b}', 'first')",
	)
	tests := []struct {
		name, include string
		wantFields    []string
		wantValues    map[string]any
	}{
		{"left out by default", "", []string{"id", "note"}, map[string]any{}},
		{"included as bytes", "true", []string{"id", "pos", "hist", "note"}, map[string]any{
			"pos": []byte("0/16B3748"), "hist": []any{[]byte("0/1"), []byte("0/2")},
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shopConfig(pg)
			cfg[TableIncludeListConfig] = "public.ledger"
			cfg[SlotNameConfig] = "sluice_unknown_" + string(rune('a'+i))
			cfg[PublicationNameConfig] = "unknown_" + string(rune('a'+i))
			if tc.include != "" {
				cfg[IncludeUnknownDatatypesConfig] = tc.include
			}
			task := startTask(t, &taskContext{}, cfg)
			snap := pollN(t, task, 1+i)[0] // row 1, and the row streamed by the earlier subtests
			execApp(t, pg, "INSERT INTO ledger VALUES (2"+string(rune('0'+i))+", '0/16B3748', '{0/1,0/2}', '{a}', 'live')")
			live := pollN(t, task, 1)[0]
			for _, r := range []*connect.Record{snap, live} {
				names, values := rowFields(t, r)
				assert.Equal(t, tc.wantFields, names, "%s: %s", r.Topic, sourceOp(r))
				for k, v := range tc.wantValues {
					assert.Equal(t, v, values[k], "%s of %s", k, sourceOp(r))
				}
			}
			assert.Equal(t, "r", sourceOp(snap))
			assert.Equal(t, "c", sourceOp(live))
		})
	}
}
