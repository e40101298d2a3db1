package jdbc

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/internal/connecttest"
)

func TestAcceptance(t *testing.T) {
	db := startSinkPostgres(t)
	var mu sync.Mutex
	n := 0
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Plugin,
		Config: func(t *testing.T) map[string]string {
			mu.Lock()
			defer mu.Unlock()
			n++
			return map[string]string{
				"connection.url": db.url, "topics": "jdbc-acceptance",
				"collection.name.format": fmt.Sprintf("acceptance_%d", n), "schema.evolution": "basic",
				"primary.key.mode": "kafka", "insert.mode": "upsert",
				"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
				"value.converter.schemas.enable": "true",
			}
		},
		Topic: func(cfg map[string]string) string { return cfg["topics"] },
		Value: func(i int) []byte {
			return fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"field":"id","type":"int32"}]},"payload":{"id":%d}}`, i)
		},
		Written: func(t *testing.T, cfg map[string]string) []any {
			var out []any
			exists := db.rows(t, "SELECT count(*) FROM information_schema.tables WHERE table_name = '"+cfg["collection.name.format"]+"'")
			if exists[0] == "0" {
				return nil
			}
			for _, id := range db.rows(t, "SELECT id FROM "+cfg["collection.name.format"]+" ORDER BY __connect_offset") {
				out = append(out, id)
			}
			return out
		},
		ID: func(v any) (int, error) { return strconv.Atoi(v.(string)) },
		Skip: map[string]string{
			"StopIsIdempotentAndLeaksNothing": "the check puts schemaless int64 values, which a JDBC sink cannot write (it needs Struct values): Put reports them and fails under errors.tolerance=none",
		},
	})
}
