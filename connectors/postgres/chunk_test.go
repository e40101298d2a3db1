package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/sluicehq/sluice/connectors/debezium"
)

// The chunk query starts at the table's first key, resumes after the last
// key read, stops at the maximum key, and casts the keys' text back to
// the columns' types.
func TestChunkQuery(t *testing.T) {
	ct := &chunkTable{
		ref: debezium.TableID{Schema: "public", Name: "orders"}, columns: `"a"::text, "b"::text`,
		order:     []string{`"public"."orders"."a"`, `"public"."orders"."b"`},
		orderText: `"a"::text, "b"::text`, casts: []string{"integer", "text"},
	}
	q, args := ct.chunkQuery(nil, []string{"9", "z"}, 100)
	assert.Equal(t, `SELECT "a"::text, "b"::text, "a"::text, "b"::text FROM "public"."orders" WHERE `+
		`("public"."orders"."a", "public"."orders"."b") <= ($1::text::integer, $2::text::text) `+
		`ORDER BY "public"."orders"."a", "public"."orders"."b" LIMIT 100`, q)
	assert.Equal(t, []any{"9", "z"}, args)

	ct.where = "a > 1"
	q, args = ct.chunkQuery([]string{"3", "c"}, []string{"9", "z"}, 5)
	assert.Equal(t, `SELECT "a"::text, "b"::text, "a"::text, "b"::text FROM "public"."orders" WHERE (a > 1) AND `+
		`("public"."orders"."a", "public"."orders"."b") > ($1::text::integer, $2::text::text) AND `+
		`("public"."orders"."a", "public"."orders"."b") <= ($3::text::integer, $4::text::text) `+
		`ORDER BY "public"."orders"."a", "public"."orders"."b" LIMIT 5`, q)
	assert.Equal(t, []any{"3", "c", "9", "z"}, args)
}
