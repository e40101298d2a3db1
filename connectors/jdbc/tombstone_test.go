package jdbc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// With a collection.name.format that names the table from the envelope's
// source block, a tombstone (which has none) is skipped, as Debezium's
// sink does, instead of failing the task: the op=d event before it
// deleted the row. Found by the `sluice up` end-to-end test
// (internal/e2e/jdbc_test.go).
func TestTombstoneUnderSourceTableFormat(t *testing.T) {
	s := settingsFor(t, debeziumDocConfig(), map[string]string{"collection.name.format": "${source.table}", "delete.enabled": "true",
		"primary.key.mode": "record_key"})
	tomb := &connect.Record{Topic: "server1.public.items", KeySchema: itemKey, Key: connect.NewStruct(itemKey).MustPut("id", int32(1))}
	o, why, err := s.interpret(tomb)
	require.NoError(t, err)
	assert.Nil(t, o)
	assert.Contains(t, why, "tombstone")

	// The op=d event itself still deletes, in the table its source names.
	o, _, err = s.interpret(envelope("server1.public.items", "d", 1, ""))
	require.NoError(t, err)
	require.NotNil(t, o)
	assert.Equal(t, opDelete, o.kind)
	assert.Equal(t, "items", o.table)

	// With ${topic} the tombstone deletes by key as before.
	s = settingsFor(t, debeziumDocConfig(), map[string]string{"delete.enabled": "true", "primary.key.mode": "record_key"})
	o, _, err = s.interpret(tomb)
	require.NoError(t, err)
	require.NotNil(t, o)
	assert.Equal(t, opDelete, o.kind)
}
