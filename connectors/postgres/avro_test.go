package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
)

// TestEventsThroughAvroConverter sends the golden table's events, every
// mapped type in one row, through Confluent's AvroConverter and the
// schema registry, as Debezium users with Avro run them: each key and
// value registers, and reads back to the same data.
func TestEventsThroughAvroConverter(t *testing.T) {
	pg := testenv.StartPostgres(t)
	pg.Exec(t, "CREATE DATABASE app", "ALTER DATABASE app SET timezone TO 'UTC'", "ALTER DATABASE app SET lc_monetary TO 'C'")
	execApp(t, pg, goldenDDL()...)
	cfg := shopConfig(pg)
	cfg[TopicPrefixConfig], cfg[TableIncludeListConfig] = "dbserver1", "public.golden_types,public.golden_envelope"
	cfg[ProvideTxMetadataConfig] = "true"
	task := startTask(t, &taskContext{}, cfg)
	records := pollN(t, task, 2)
	execApp(t, pg, "BEGIN", goldenInsert("golden_types", goldenColumnNames()...), "DELETE FROM golden_envelope", "COMMIT")
	records = append(records, pollN(t, task, 5)...) // BEGIN, create, delete, tombstone, END

	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	converted := 0
	for _, r := range records {
		for _, key := range []bool{true, false} {
			s, v := r.ValueSchema, r.Value
			if key {
				s, v = r.KeySchema, r.Key
			}
			if s == nil {
				continue
			}
			w := schemaconv.NewAvroConverter()
			require.NoError(t, w.Configure(map[string]string{schemaconv.RegistryURLConfig: url}, key))
			data, err := w.FromConnect(r.Topic, nil, s, v)
			require.NoError(t, err, "%s key=%v", r.Topic, key)
			rd := schemaconv.NewAvroConverter()
			require.NoError(t, rd.Configure(map[string]string{schemaconv.RegistryURLConfig: url}, key))
			s2, v2, err := rd.ToConnect(r.Topic, nil, data)
			require.NoError(t, err, "%s key=%v", r.Topic, key)
			assert.Equal(t, s.Name, s2.Name)
			assert.JSONEq(t, string(plainJSON(t, s, v)), string(plainJSON(t, s2, v2)), "%s key=%v", r.Topic, key)
			converted++
		}
	}
	assert.Equal(t, 13, converted, "7 keys, 6 values (the tombstone has none)")
}

func goldenColumnNames() []string {
	names := make([]string, len(goldenColumns))
	for i, c := range goldenColumns {
		names[i] = c.name
	}
	return names
}

// plainJSON renders a value with JsonConverter, without schema.
func plainJSON(t *testing.T, s *connect.Schema, v any) []byte {
	t.Helper()
	c := convert.NewJSONConverter()
	require.NoError(t, c.Configure(map[string]string{"schemas.enable": "false"}, false))
	b, err := c.FromConnect("t", nil, s, v)
	require.NoError(t, err)
	return b
}
