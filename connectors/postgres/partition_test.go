package postgres

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// partitionEvent describes a record of the measurements tables: topic,
// op and id.
func partitionEvent(t *testing.T, r *connect.Record) string {
	t.Helper()
	id, err := r.Key.(*connect.Struct).Get("id")
	require.NoError(t, err)
	return fmt.Sprintf("%s %s %v", r.Topic, sourceOp(r), id)
}

func TestPartitionedTables(t *testing.T) {
	pg := setupShop(t)
	execApp(t, pg,
		"CREATE TABLE measurements (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
		"CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
		"CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
		"INSERT INTO measurements VALUES (1, '2024-05-01', 'a'), (2, '2025-05-01', 'b')",
		"CREATE PUBLICATION made_via_root FOR TABLE measurements WITH (publish_via_partition_root = true)",
	)
	const root, p2024, p2025 = "shop.public.measurements", "shop.public.measurements_2024", "shop.public.measurements_2025"
	tests := []struct {
		name     string
		settings map[string]string
		snapshot []string
		stream   []string
	}{{
		name:     "via root: the root table, snapshot and changes",
		settings: map[string]string{PublishViaPartitionRootConfig: "true"},
		snapshot: []string{root + " r 1", root + " r 2"},
		stream:   []string{root + " c 10", root + " c 11"},
	}, {
		name:     "default: each partition a table of its own",
		settings: map[string]string{},
		snapshot: []string{p2024 + " r 1", p2025 + " r 2"},
		stream:   []string{p2024 + " c 20", p2025 + " c 21"},
	}, {
		name: "an existing publication decides",
		settings: map[string]string{
			PublicationAutocreateModeConfig: "disabled", PublicationNameConfig: "made_via_root",
		},
		snapshot: []string{root + " r 1", root + " r 2"},
		stream:   []string{root + " c 30", root + " c 31"},
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shopConfig(pg)
			// Names the root and the partitions: which are captured
			// depends on the publication alone.
			cfg[TableIncludeListConfig] = `public\.measurements.*`
			cfg[SlotNameConfig] = fmt.Sprintf("sluice_part_%d", i)
			cfg[PublicationNameConfig] = fmt.Sprintf("part_%d", i)
			for k, v := range tc.settings {
				cfg[k] = v
			}
			task := startTask(t, &taskContext{}, cfg)
			var got []string
			for _, r := range pollN(t, task, 2) {
				got = append(got, partitionEvent(t, r))
			}
			assert.Equal(t, tc.snapshot, got, "snapshot")
			base := (i + 1) * 10
			execApp(t, pg, fmt.Sprintf("INSERT INTO measurements VALUES (%d, '2024-06-01', 'c'), (%d, '2025-06-01', 'd')", base, base+1))
			got = nil
			for _, r := range pollN(t, task, 2) {
				got = append(got, partitionEvent(t, r))
			}
			assert.Equal(t, tc.stream, got, "stream")
			pollNone(t, task)
			// The streamed rows are not in the later snapshots.
			execApp(t, pg, fmt.Sprintf("DELETE FROM measurements WHERE id IN (%d, %d)", base, base+1))
		})
	}
}
