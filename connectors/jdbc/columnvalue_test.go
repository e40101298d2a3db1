package jdbc

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	dbz "github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

func TestColumnValueErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *connect.Schema
		v    any
		want string
	}{
		{"zoned timestamp", named(connect.TypeString, dbz.ZonedTimestampName), "yesterday",
			`io.debezium.time.ZonedTimestamp: not an ISO-8601 timestamp: "yesterday"`},
		{"zoned time", named(connect.TypeString, dbz.ZonedTimeName), "noon", "not an ISO-8601 time"},
		{"micro timestamp", named(connect.TypeInt64, dbz.MicroTimestampName), "x", "want an integer, got string"},
		{"decimal", named(connect.TypeBytes, connect.DecimalName, "scale", "2"), 1.5, "want a *big.Rat, got float64"},
		{"kafka date", named(connect.TypeInt32, connect.DateName), int32(3), "want a time.Time"},
		{"no schema", nil, 1, "has no schema"},
		{"struct", connect.StructBuilder().Build(), connect.NewStruct(connect.StructBuilder().Build()), "does not fit"},
		{"array element", connect.ArrayOf(named(connect.TypeInt32, dbz.DateName)), []any{"x"}, "array element 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, d := range []dialect{postgresDialect, mariadbDialect} {
				_, err := d.columnValue(tc.s, tc.v)
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
			}
		})
	}
}

func TestColumnValueNull(t *testing.T) {
	v, err := postgresDialect.columnValue(named(connect.TypeString, dbz.UUIDName), nil)
	require.NoError(t, err)
	assert.Nil(t, v)
}

func TestClock(t *testing.T) {
	assert.Equal(t, "24:00:00", clock(86_400_000_000_000))
	assert.Equal(t, "00:00:00.5", clock(500_000_000))
}

// TestJSONValues: MySQL's json columns get arrays and maps whose elements
// are converted as columns would be.
func TestJSONValues(t *testing.T) {
	dec := named(connect.TypeBytes, connect.DecimalName, "scale", "2")
	m := connect.MapOf(connect.PrimitiveSchema(connect.TypeString, false), connect.ArrayOf(dec))
	v, err := mariadbDialect.columnValue(m, map[string]any{"a": []any{big.NewRat(1, 2), nil}})
	require.NoError(t, err)
	assert.Equal(t, `{"a":["0.50",null]}`, v)
	v, err = postgresDialect.columnValue(m, map[string]any{"a": []any{big.NewRat(1, 2)}})
	require.NoError(t, err)
	assert.Equal(t, `{"a":["0.50"]}`, v)
	arr := connect.ArrayOf(connect.PrimitiveSchema(connect.TypeBytes, true))
	v, err = mariadbDialect.columnValue(arr, []any{[]byte{0xde, 0xad}})
	require.NoError(t, err)
	assert.Equal(t, `["3q0="]`, v)
	v, err = postgresDialect.columnValue(arr, []any{[]byte{0xde, 0xad}, nil})
	require.NoError(t, err)
	assert.Equal(t, `{"\\xdead",NULL}`, v)
	_, err = mariadbDialect.columnValue(m, map[string]any{"a": []any{1.5}})
	assert.ErrorContains(t, err, `map value "a": array element 0:`)
}
