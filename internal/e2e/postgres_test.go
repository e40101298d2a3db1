package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TestUpPostgresCDC pastes a Debezium Postgres connector config into
// `sluice up`'s REST API and reads Debezium change events from the broker:
// the snapshot, then a live insert, update and delete.
func TestUpPostgresCDC(t *testing.T) {
	pg := testenv.StartPostgres(t)
	pg.Exec(t,
		`CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL)`,
		`INSERT INTO customers VALUES (1001, 'sally@example.com'), (1002, 'george@example.com')`)

	dir, brokerAddr, restAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	log := &procLog{}
	dumpOnFailure(t, "sluice up", log)
	startProcUntil(t, log, workerReady, "up", "--data-dir", filepath.Join(dir, "data"), "--broker-addr", brokerAddr,
		"--rest-addr", restAddr, "--registry-addr", freeAddr(t))
	var resp map[string]any
	code := rest(t, "POST", "http://"+restAddr+"/connectors", map[string]any{"name": "inventory", "config": map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": pg.Host, "database.port": strconv.Itoa(pg.Port),
		"database.user": "postgres", "database.password": "unused", "database.dbname": "postgres",
		"topic.prefix": "dbserver1", "table.include.list": "public.customers", "plugin.name": "pgoutput",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}}, &resp)
	require.Equal(t, 201, code, "%v", resp)
	waitRunning(t, "http://"+restAddr, "inventory", 1)
	pg.Exec(t,
		`INSERT INTO customers VALUES (1003, 'edward@example.com')`,
		`UPDATE customers SET email = 'sally.t@example.com' WHERE id = 1001`,
		`DELETE FROM customers WHERE id = 1002`)

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics("dbserver1.public.customers"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	type event struct {
		Before, After map[string]any
		Op            string
		Source        map[string]any
	}
	var events []event
	var tombstones int
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(events) < 5 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				tombstones++
				return
			}
			var e event
			require.NoError(t, json.Unmarshal(r.Value, &e), "%s", r.Value)
			events = append(events, e)
		})
	}
	require.Len(t, events, 5, "2 snapshot reads, a create, an update, a delete")
	ops := []string{}
	for _, e := range events {
		ops = append(ops, e.Op)
		assert.Equal(t, "postgresql", e.Source["connector"])
		assert.Equal(t, "customers", e.Source["table"])
	}
	assert.Equal(t, []string{"r", "r", "c", "u", "d"}, ops)
	assert.Equal(t, "sally.t@example.com", events[3].After["email"])
	assert.Equal(t, float64(1002), events[4].Before["id"])
	assert.Nil(t, events[4].After)
	for tombstones == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				tombstones++
			}
		})
	}
	assert.Equal(t, 1, tombstones, "a tombstone follows the delete")
}
