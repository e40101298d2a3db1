package postgres

import (
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestPlaceholderBytes(t *testing.T) {
	b, err := placeholderBytes(UnavailableValue)
	require.NoError(t, err)
	assert.Equal(t, []byte(UnavailableValue), b)
	b, err = placeholderBytes("hex:00ff41")
	require.NoError(t, err)
	assert.Equal(t, []byte{0, 0xff, 0x41}, b)
	_, err = placeholderBytes("hex:0g")
	require.Error(t, err)
}

func TestNameUUIDIsJavas(t *testing.T) {
	// UUID.nameUUIDFromBytes("__debezium_unavailable_value".getBytes()).
	assert.Equal(t, "b68a35a7-17ad-35b3-af2a-ae46edb4545a", nameUUID([]byte(UnavailableValue)))
}

// toastTypes are the column types of the TOAST test table: each value is
// large and of random content, so stored out of line, uncompressed.
var toastTypes = []struct{ col, typ, value string }{
	{"t", "text", "big"},
	{"j", "jsonb", "jsonb_build_object('k', big)"},
	{"x", "xml", "('<a>' || big || '</a>')::xml"},
	{"b", "bytea", "convert_to(big, 'UTF8')"},
	{"h", "hstore", "hstore('k', big)"},
	{"ta", "text[]", "ARRAY[big]"},
	{"ia", "int[]", "(SELECT array_agg(g) FROM generate_series(1, 2000) g)"},
	{"ba", "bigint[]", "(SELECT array_agg(g::bigint) FROM generate_series(1, 2000) g)"},
	{"fa", "float8[]", "(SELECT array_agg(random()) FROM generate_series(1, 2000) g)"},
	{"boola", "boolean[]", "(SELECT array_agg(random() > 0.5) FROM generate_series(1, 4000) g)"},
	{"ua", "uuid[]", "(SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 300) g)"},
	{"ya", "bytea[]", "ARRAY[convert_to(big, 'UTF8')]"},
	{"na", "numeric(5,2)[]", "(SELECT array_agg(round((random() * 999)::numeric, 2)) FROM generate_series(1, 1000) g)"},
	{"va", "numeric[]", "(SELECT array_agg(round((random() * 999)::numeric, 3)) FROM generate_series(1, 1000) g)"},
}

func toastDDL() []string {
	cols := []string{"id int PRIMARY KEY", "n int"}
	var values, storage []string
	for _, c := range toastTypes {
		cols = append(cols, c.col+" "+c.typ)
		values = append(values, c.value)
		storage = append(storage, "ALTER COLUMN "+c.col+" SET STORAGE EXTERNAL")
	}
	return []string{
		"CREATE EXTENSION hstore",
		"CREATE TABLE blobs (" + strings.Join(cols, ", ") + ")",
		"ALTER TABLE blobs " + strings.Join(storage, ", "),
		// 8000 characters of md5 digests: random, so nothing compresses.
		"INSERT INTO blobs SELECT 1, 1, " + strings.Join(values, ", ") +
			" FROM (SELECT string_agg(md5(random()::text), '') AS big FROM generate_series(1, 250)) s",
	}
}

func TestUnchangedToastPlaceholderPerType(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg, toastDDL()...)
	var outOfLine int
	require.NoError(t, appConn(t, pg).QueryRow(t.Context(), `SELECT pg_relation_size(reltoastrelid) / 8192
		FROM pg_class WHERE relname = 'blobs'`).Scan(&outOfLine))
	require.GreaterOrEqual(t, outOfLine, len(toastTypes), "the values are in the TOAST table")

	defaults := shopConfig(pg)
	defaults[TableIncludeListConfig] = "public.blobs"
	defaults[SnapshotModeConfig] = "no_data"
	custom := shopConfig(pg)
	custom[TableIncludeListConfig] = "public.blobs"
	custom[SnapshotModeConfig] = "no_data"
	custom[SlotNameConfig] = "sluice_custom"
	custom[UnavailablePlaceholderConfig] = "hex:00ff41"
	custom[HStoreHandlingModeConfig] = "map"
	custom[BinaryHandlingModeConfig] = "base64"
	dflt := startTask(t, &taskContext{}, defaults)
	cust := startTask(t, &taskContext{}, custom)
	execApp(t, pg, "UPDATE blobs SET n = 2 WHERE id = 1")

	p := UnavailableValue
	perByte := func(conv func(b byte) any) []any {
		var out []any
		for _, b := range []byte(p) {
			out = append(out, conv(b))
		}
		return out
	}
	_, got := rowFields(t, pollN(t, dflt, 1)[0])
	assert.Equal(t, int32(2), got["n"])
	for col, want := range map[string]any{
		"t": p, "j": p, "x": p, "b": []byte(p),
		"h":     `{"__debezium_unavailable_value":"__debezium_unavailable_value"}`,
		"ta":    []any{p},
		"ia":    perByte(func(b byte) any { return int32(b) }),
		"ba":    perByte(func(b byte) any { return int64(b) }),
		"fa":    perByte(func(b byte) any { return float64(b) }),
		"boola": perByte(func(byte) any { return true }),
		"ua":    []any{"b68a35a7-17ad-35b3-af2a-ae46edb4545a"},
		"ya":    []any{[]byte(p)},
	} {
		assert.Equal(t, want, got[col], col)
	}
	na := got["na"].([]any)
	require.Len(t, na, len(p))
	assert.Equal(t, "0.95", na[0].(*big.Rat).FloatString(2), "numeric(5,2) elements: each byte unscaled at the column's scale")
	va := got["va"].([]any)
	require.Len(t, va, len(p))
	scale, _ := va[0].(*connect.Struct).Get("scale")
	value, _ := va[0].(*connect.Struct).Get("value")
	assert.Equal(t, []any{int32(0), []byte{'_'}}, []any{scale, value}, "numeric elements: each byte at scale 0")

	// hex:00ff41: the bytes 0x00 0xff 0x41; as a string, 0xff is not UTF-8.
	str := "\x00\uFFFDA"
	_, got = rowFields(t, pollN(t, cust, 1)[0])
	for col, want := range map[string]any{
		"t": str, "b": str, // bytea is a base64 string: the placeholder string, as in Debezium
		"h":     map[string]any{str: str},
		"ta":    []any{str},
		"ia":    []any{int32(0), int32(-1), int32(65)},
		"boola": []any{false, true, true},
		"ua":    []any{"d396e6af-3f09-39f2-8c5b-e42adadb290f"},
		"ya":    []any{str},
	} {
		assert.Equal(t, want, got[col], col)
	}
}
