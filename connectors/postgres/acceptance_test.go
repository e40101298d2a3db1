package postgres

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
)

func TestAcceptance(t *testing.T) {
	pg := testenv.StartPostgres(t)
	exec := func(t *testing.T, db string, sql ...string) {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), pg.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, stmt := range sql {
			if _, err := conn.Exec(context.Background(), stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}
	checks := 0
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: Plugin,
		// Each check gets its own database and slot.
		Config: func(t *testing.T) map[string]string {
			checks++
			db := fmt.Sprintf("acceptance%d", checks)
			pg.Exec(t, "CREATE DATABASE "+db)
			exec(t, db, "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
			return map[string]string{
				HostnameConfig: pg.Host, PortConfig: strconv.Itoa(pg.Port), UserConfig: "postgres", DBNameConfig: db,
				SSLModeConfig: "disable", TopicPrefixConfig: "acc", SlotNameConfig: db,
				PublicationAutocreateModeConfig: "filtered", TableIncludeListConfig: "public.items",
			}
		},
		Topic: func(map[string]string) string { return "acc.public.items" },
		// A streaming offset's lsn is what the task resumes from; lsn_commit,
		// txId and ts_usec are written for Debezium's readers only.
		OffsetFields: []string{"lsn"},
		Produce: func(t *testing.T, cfg map[string]string, first, n int) {
			exec(t, cfg[DBNameConfig], fmt.Sprintf("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(%d, %d) g", first, first+n-1))
		},
		ID: func(v any) (int, error) {
			after, _ := v.(map[string]any)["after"].(map[string]any)
			id, ok := after["id"].(float64)
			if !ok {
				return 0, fmt.Errorf("value %v has no after.id", v)
			}
			return int(id), nil
		},
	})
}
