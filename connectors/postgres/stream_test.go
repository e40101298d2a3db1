package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// field returns a field of the before or after row of a change event.

func TestStreamedRowImages(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg, "CREATE TABLE docs (id int PRIMARY KEY, title text NOT NULL, body text)",
		"ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL")
	cfg := shopConfig(pg)
	cfg[TableIncludeListConfig] = "public.customers,public.orders,public.docs"
	cfg[SnapshotModeConfig] = "no_data"
	cfg[SkippedOperationsConfig] = "none"
	task := startTask(t, &taskContext{}, cfg)

	big := strings.Repeat("0123456789abcdef", 400)
	execApp(t, pg,
		"INSERT INTO docs VALUES (1, 't1', '"+big+"')",
		"UPDATE docs SET title = 't2' WHERE id = 1",
		"ALTER TABLE docs REPLICA IDENTITY FULL",
		"UPDATE docs SET title = 't3' WHERE id = 1",
		"UPDATE customers SET id = 5000 WHERE id = 2",
		"DELETE FROM customers WHERE id = 3",
		"TRUNCATE orders",
	)
	got := pollN(t, task, 9)

	t.Run("unchanged TOAST value under REPLICA IDENTITY DEFAULT is the placeholder", func(t *testing.T) {
		assert.Equal(t, big, field(t, got[0], "after", "body"))
		assert.Equal(t, UnavailableValue, field(t, got[1], "after", "body"))
		before, _ := got[1].Value.(*connect.Struct).Get("before")
		assert.Nil(t, before)
	})
	t.Run("REPLICA IDENTITY FULL gives the before image and the TOAST value", func(t *testing.T) {
		assert.Equal(t, "t2", field(t, got[2], "before", "title"))
		assert.Equal(t, big, field(t, got[2], "after", "body"))
	})
	t.Run("primary key change is a delete, tombstone and create", func(t *testing.T) {
		assert.Equal(t, []string{
			"shop.public.customers d 2", "shop.public.customers tombstone 2", "shop.public.customers c 5000 c2",
		}, []string{event(t, got[3]), event(t, got[4]), event(t, got[5])})
		h, ok := got[3].Headers.Last("__debezium.newkey")
		require.True(t, ok)
		id, _ := h.Value.(*connect.Struct).Get("id")
		assert.Equal(t, int32(5000), id)
		h, ok = got[5].Headers.Last("__debezium.oldkey")
		require.True(t, ok)
		id, _ = h.Value.(*connect.Struct).Get("id")
		assert.Equal(t, int32(2), id)
	})
	t.Run("delete under REPLICA IDENTITY DEFAULT fills required non-key columns", func(t *testing.T) {
		assert.Equal(t, "shop.public.customers d 3", event(t, got[6]))
		assert.Equal(t, int32(3), field(t, got[6], "before", "id"))
		assert.Equal(t, "", field(t, got[6], "before", "name"))
		assert.Nil(t, field(t, got[6], "before", "email"))
	})
	t.Run("truncate has a null key", func(t *testing.T) {
		assert.Equal(t, "shop.public.orders t <nil>", event(t, got[8]))
		assert.Nil(t, got[8].Key)
	})
}

func TestSkippedOperationsDefaultSkipsTruncate(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	cfg[TombstonesOnDeleteConfig] = "false"
	task := startTask(t, &taskContext{}, cfg)
	execApp(t, pg, "TRUNCATE orders", "DELETE FROM customers WHERE id = 1")
	assert.Equal(t, "shop.public.customers d 1", event(t, pollN(t, task, 1)[0]))
	pollNone(t, task)
}

func TestColumnExcludeList(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[TableIncludeListConfig] = "public.customers"
	cfg[ColumnExcludeListConfig] = "public\\.customers\\.email"
	task := startTask(t, &taskContext{}, cfg)
	snap := pollN(t, task, 300)
	execApp(t, pg, "INSERT INTO customers VALUES (3001, 'x', 'secret@x.io')")
	live := pollN(t, task, 1)[0]
	for _, r := range []*connect.Record{snap[0], live} {
		after, _ := r.Value.(*connect.Struct).Get("after")
		var names []string
		for _, f := range after.(*connect.Struct).Schema().Fields {
			names = append(names, f.Name)
		}
		assert.Equal(t, []string{"id", "name"}, names, event(t, r))
	}
	assert.Equal(t, "shop.public.customers c 3001 x", event(t, live))
}

func TestMessageKeyColumns(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[TableIncludeListConfig] = "public.audit"
	cfg[MessageKeyColumnsConfig] = "public.nothing:x; public\\.aud.*: id , what"
	execApp(t, pg, "INSERT INTO audit (what) VALUES ('a')")
	task := startTask(t, &taskContext{}, cfg)
	r := pollN(t, task, 1)[0]
	require.NotNil(t, r.KeySchema, "a table without primary key gets the configured key")
	assert.Equal(t, "shop.public.audit.Key", r.KeySchema.Name)
	require.Len(t, r.KeySchema.Fields, 2)
	what, _ := r.Key.(*connect.Struct).Get("what")
	assert.Equal(t, "a", what)
}

func TestTransactionMetadata(t *testing.T) {
	pg := setupShop(t)
	cfg := shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	cfg[ProvideTxMetadataConfig] = "true"
	task := startTask(t, &taskContext{}, cfg)
	execApp(t, pg, "BEGIN; INSERT INTO customers VALUES (4001, 'a', NULL); INSERT INTO orders VALUES (4001, 4001, 1, 'x'); "+
		"UPDATE customers SET name = 'b' WHERE id = 4001; COMMIT")
	got := pollN(t, task, 5)

	status := func(r *connect.Record) any { v, _ := r.Value.(*connect.Struct).Get("status"); return v }
	require.Equal(t, "shop.transaction", got[0].Topic)
	require.Equal(t, "shop.transaction", got[4].Topic)
	assert.Equal(t, "BEGIN", status(got[0]))
	assert.Equal(t, "END", status(got[4]))
	id, _ := got[0].Key.(*connect.Struct).Get("id")
	assert.Equal(t, fmt.Sprintf("%d:%d", got[1].SourceOffset["txId"], got[4].SourceOffset["lsn"]), id)

	orders := [][2]int64{{1, 1}, {2, 1}, {3, 2}}
	for i, r := range got[1:4] {
		tx, _ := r.Value.(*connect.Struct).Get("transaction")
		require.NotNil(t, tx, event(t, r))
		txID, _ := tx.(*connect.Struct).Get("id")
		total, _ := tx.(*connect.Struct).Get("total_order")
		perTable, _ := tx.(*connect.Struct).Get("data_collection_order")
		assert.Equal(t, id, txID)
		assert.Equal(t, orders[i], [2]int64{total.(int64), perTable.(int64)}, event(t, r))
	}
	end := got[4].Value.(*connect.Struct)
	count, _ := end.Get("event_count")
	assert.Equal(t, int64(3), count)
	cols, _ := end.Get("data_collections")
	var per []string
	for _, c := range cols.([]any) {
		name, _ := c.(*connect.Struct).Get("data_collection")
		n, _ := c.(*connect.Struct).Get("event_count")
		per = append(per, fmt.Sprintf("%v=%v", name, n))
	}
	assert.Equal(t, []string{"public.customers=2", "public.orders=1"}, per)
}
