package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/connectors/debezium"
	"github.com/sluicehq/sluice/runtime/connect"
)

// taskConfig is the parsed config the task uses.
type taskConfig struct {
	raw            map[string]string
	prefix, db     string
	slot, pub      string
	pubMode        string
	snapshotMode   string
	fetchSize      int
	heartbeat      time.Duration
	heartbeatQuery string
	tombstones     bool
	dropSlot       bool
	mismatch       string // offset.mismatch.strategy
	txMetadata     bool
	skipped        debezium.Skipped
	types          TypeOptions
	filter         debezium.Filter
	// placeholder is unavailable.value.placeholder's bytes.
	placeholder []byte
	// viaRoot is publish.via.partition.root: publications the connector
	// creates publish partitions' changes under their root table.
	viaRoot bool
	tuning
	// signals holds the signal and incremental snapshot keys.
	signals debezium.SignalSettings
}

func parseTaskConfig(config map[string]string) (taskConfig, error) {
	if err := parse(config); err != nil {
		return taskConfig{}, err
	}
	c, _ := Config.Parse(config)
	tn, err := parseTuning(c, config)
	if err != nil {
		return taskConfig{}, err
	}
	tc := taskConfig{
		tuning: tn, raw: config, prefix: c.String(TopicPrefixConfig), db: c.String(DBNameConfig),
		slot: c.String(SlotNameConfig), pub: c.String(PublicationNameConfig),
		pubMode: c.String(PublicationAutocreateModeConfig), snapshotMode: c.String(SnapshotModeConfig),
		fetchSize: int(c.Int(SnapshotFetchSizeConfig)), heartbeat: time.Duration(c.Int(HeartbeatIntervalConfig)) * time.Millisecond,
		tombstones: c.Bool(TombstonesOnDeleteConfig), dropSlot: c.Bool(SlotDropOnStopConfig), mismatch: c.String(OffsetMismatchStrategyConfig),
		txMetadata: c.Bool(ProvideTxMetadataConfig), viaRoot: c.Bool(PublishViaPartitionRootConfig),
		skipped: debezium.ParseSkipped(c.List(SkippedOperationsConfig)), types: TypeOptionsFromConfig(c),
		filter: debezium.FilterFromConfig(c),
	}
	if !c.IsNull(HeartbeatActionQueryConfig) {
		tc.heartbeatQuery = strings.TrimSpace(c.String(HeartbeatActionQueryConfig))
	}
	tc.placeholder, _ = placeholderBytes(c.String(UnavailablePlaceholderConfig)) // validated by parse
	tc.signals = debezium.ParseSignals(c)
	tc.filter.Signal = tc.signals.Table
	return tc, nil
}

// ensurePublication creates or updates the publication per
// publication.autocreate.mode, then reads whether it publishes partitions
// via their root, which decides how partitioned tables are captured.
func (t *sourceTask) ensurePublication(ctx context.Context) error {
	var exists bool
	var version int
	err := t.conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1), current_setting('server_version_num')::int",
		t.cfg.pub).Scan(&exists, &version)
	if err != nil {
		return fmt.Errorf("look up publication %s: %w", t.cfg.pub, err)
	}
	// publish_via_partition_root came with Postgres 13.
	viaRootKnown := version >= 130000
	if t.cfg.viaRoot && !viaRootKnown {
		return fmt.Errorf("publish.via.partition.root needs Postgres 13 or later, the server is %d", version)
	}
	stmts, err := t.publicationStatements(ctx, exists, viaRootKnown)
	if err != nil {
		return err
	}
	for _, stmt := range stmts {
		if _, err := t.conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("create publication %s (%s): %w", t.cfg.pub, stmt, err)
		}
	}
	if !viaRootKnown {
		return nil
	}
	return t.readViaRoot(ctx)
}

// publicationStatements returns the statements that create or update the
// publication, none when it is to be used as it is. A publication the
// connector creates, or a filtered one it updates, gets
// publish_via_partition_root per publish.via.partition.root.
func (t *sourceTask) publicationStatements(ctx context.Context, exists, viaRootKnown bool) ([]string, error) {
	name := pgx.Identifier{t.cfg.pub}.Sanitize()
	with := ""
	if t.cfg.viaRoot {
		with = " WITH (publish_via_partition_root = true)"
	}
	switch t.cfg.pubMode {
	case "disabled":
		if !exists {
			return nil, fmt.Errorf("publication %s does not exist and publication.autocreate.mode is disabled", t.cfg.pub)
		}
	case "all_tables":
		if !exists {
			return []string{"CREATE PUBLICATION " + name + " FOR ALL TABLES" + with}, nil
		}
	case "no_tables":
		if !exists {
			return []string{"CREATE PUBLICATION " + name + with}, nil
		}
	case "filtered":
		tables, err := capturedTables(ctx, t.conn, t.cfg.filter, t.cfg.viaRoot)
		if err != nil {
			return nil, err
		}
		if len(tables) == 0 {
			return nil, fmt.Errorf("create publication %s: no table matches the include and exclude lists", t.cfg.pub)
		}
		names := make([]string, len(tables))
		for i, tb := range tables {
			names[i] = sanitized(tb)
		}
		if !exists {
			return []string{"CREATE PUBLICATION " + name + " FOR TABLE " + strings.Join(names, ", ") + with}, nil
		}
		stmts := []string{"ALTER PUBLICATION " + name + " SET TABLE " + strings.Join(names, ", ")}
		if viaRootKnown {
			stmts = append(stmts, "ALTER PUBLICATION "+name+" SET (publish_via_partition_root = "+strconv.FormatBool(t.cfg.viaRoot)+")")
		}
		return stmts, nil
	}
	return nil, nil
}

// readViaRoot reads whether the publication publishes the changes of
// partitions under their root. It is what the server does, so it decides
// how partitioned tables are captured; a publication the connector did
// not create may differ from publish.via.partition.root, which is then
// reported.
func (t *sourceTask) readViaRoot(ctx context.Context) error {
	err := t.conn.QueryRow(ctx, "SELECT pubviaroot FROM pg_publication WHERE pubname = $1", t.cfg.pub).Scan(&t.viaRoot)
	if err != nil {
		return fmt.Errorf("read publish_via_partition_root of publication %s: %w", t.cfg.pub, err)
	}
	if t.viaRoot != t.cfg.viaRoot {
		t.log.Warn("publication's publish_via_partition_root differs from publish.via.partition.root; partitioned tables are captured as the publication publishes them",
			"publication", t.cfg.pub, "publish_via_partition_root", t.viaRoot, "publish.via.partition.root", t.cfg.viaRoot)
	}
	return nil
}

var _ connect.SourceTaskCommitter = (*sourceTask)(nil)
