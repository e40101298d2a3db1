package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Logical decoding messages (pg_logical_emit_message) become op m events
// on <topic.prefix>.message, transactional ones in their transaction's
// place, filtered by prefix.
func TestLogicalDecodingMessages(t *testing.T) {
	pg := setupShop(t)
	var version int
	require.NoError(t, appConn(t, pg).QueryRow(t.Context(), "SELECT current_setting('server_version_num')::int").Scan(&version))
	if version < 140000 {
		t.Skip("pgoutput sends messages from Postgres 14")
	}
	cfg := shopConfig(pg)
	cfg[SnapshotModeConfig] = "no_data"
	cfg[MessagePrefixExcludeListConfig] = "audit.*"
	tc := &taskContext{}
	task := startTask(t, tc, cfg)

	execApp(t, pg,
		"SELECT pg_logical_emit_message(false, 'outbox', 'not in a transaction')",
		"SELECT pg_logical_emit_message(false, 'audit', 'excluded')",
		"BEGIN; INSERT INTO customers VALUES (2000, 'm', NULL); SELECT pg_logical_emit_message(true, 'outbox', '\\x0102'::bytea); COMMIT")
	got := pollN(t, task, 3)

	msg := func(r *connect.Record) (prefix string, content any, txID any) {
		require.Equal(t, "shop.message", r.Topic)
		v := r.Value.(*connect.Struct)
		op, _ := v.Get("op")
		require.Equal(t, "m", op)
		m, _ := v.Get("message")
		p, _ := m.(*connect.Struct).Get("prefix")
		c, _ := m.(*connect.Struct).Get("content")
		k, _ := r.Key.(*connect.Struct).Get("prefix")
		require.Equal(t, p, k, "the key is the prefix")
		return p.(string), c, sourceField(r, "txId")
	}
	p, c, tx := msg(got[0])
	assert.Equal(t, "outbox", p)
	assert.Equal(t, []byte("not in a transaction"), c)
	assert.Nil(t, tx, "a non-transactional message has no transaction")
	assert.Equal(t, "", sourceField(got[0], "table"))

	assert.Equal(t, "shop.public.customers", got[1].Topic)
	p, c, tx = msg(got[2])
	assert.Equal(t, "outbox", p)
	assert.Equal(t, []byte{1, 2}, c)
	assert.Equal(t, sourceField(got[1], "txId"), tx, "the transactional message is in the insert's transaction")
	assert.Equal(t, got[1].SourceOffset["lsn_tx"], got[2].SourceOffset["lsn"], "and ends it")
	tc.commit(t, task, got)
	pollNone(t, task)
}
