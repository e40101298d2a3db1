package jdbc

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// Through the worker, the class named in connector.class picks the
// front-end: Confluent's class takes connection.user and pk.mode, which
// Debezium's refuses.
func TestWorkerPicksFrontEndByClass(t *testing.T) {
	db := startSinkPostgres(t)
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{Plugin}, nil)
	vals := make([][]byte, 3)
	for i := range vals {
		vals[i] = fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32"},{"field":"name","type":"string","optional":true}]},"payload":{"id":%d,"name":"n%d"}}`, i, i)
	}
	connecttest.Produce(t, w.Broker, "people", vals...)
	cfg := map[string]string{
		"topics": "people", "connection.url": db.url, "connection.user": "postgres",
		"pk.mode": "record_value", "pk.fields": "id", "insert.mode": "upsert", "auto.create": "true",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
	}
	errs := w.ValidationErrors(DebeziumClass, cfg)
	assert.Contains(t, fmt.Sprint(errs["connection.user"]), "is a key of "+ConfluentClass)
	assert.Contains(t, fmt.Sprint(errs["pk.mode"]), "is a key of "+ConfluentClass)

	w.Create("people-sink", ConfluentClass, cfg)
	require.Eventually(t, func() bool {
		n := db.rows(t, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'people'")
		return n[0] == "1" && len(db.rows(t, "SELECT id FROM people")) == 3
	}, 60*time.Second, 100*time.Millisecond)
	assert.Equal(t, []string{"0|n0", "1|n1", "2|n2"}, db.rows(t, "SELECT id, name FROM people ORDER BY id"))
}
