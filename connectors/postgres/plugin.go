package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Plugin is the Postgres CDC source plugin, also reachable under Debezium's
// class name.
var Plugin = connect.ConnectorPlugin{
	Class:   "io.sluice.connect.postgres.PostgresConnector",
	Aliases: []string{"io.debezium.connector.postgresql.PostgresConnector"},
	Version: connect.BuiltinVersion,
	Config:  Config,
	Doc: "Captures row changes from PostgreSQL through logical replication (pgoutput) as Debezium-compatible change events; " +
		"accepts Debezium's Postgres connector config. Not usable yet: only config validation is implemented, snapshot and streaming come next.",
	NewConnector:  func() connect.Connector { return &connector{} },
	NewSourceTask: func() connect.SourceTask { return &sourceTask{} },
}

// connector validates its config; starting it fails until streaming exists.
type connector struct{}

// Start implements connect.Connector.
func (*connector) Start(_ connect.ConnectorContext, config map[string]string) error {
	if err := parse(config); err != nil {
		return fmt.Errorf("start postgres connector: %w", err)
	}
	return fmt.Errorf("start postgres connector: %w", ErrNotImplemented)
}

// TaskConfigs implements connect.Connector.
func (*connector) TaskConfigs(int) ([]map[string]string, error) {
	return nil, fmt.Errorf("postgres connector task configs: %w", ErrNotImplemented)
}

// Stop implements connect.Connector.
func (*connector) Stop() error { return nil }

// sourceTask is the placeholder for the snapshot and streaming task.
type sourceTask struct{}

// Start implements connect.SourceTask.
func (*sourceTask) Start(connect.SourceTaskContext, map[string]string) error {
	return fmt.Errorf("start postgres source task: %w", ErrNotImplemented)
}

// Poll implements connect.SourceTask.
func (*sourceTask) Poll(context.Context) ([]*connect.Record, error) {
	return nil, fmt.Errorf("poll postgres source task: %w", ErrNotImplemented)
}

// Stop implements connect.SourceTask.
func (*sourceTask) Stop() error { return nil }

// parse checks every declared key and the rules between keys.
func parse(config map[string]string) error {
	_, err := Config.Parse(config)
	errs := []error{err}
	for key, msgs := range crossKeyErrors(config) {
		for _, m := range msgs {
			errs = append(errs, connect.NewConfigError(key, "%s", m))
		}
	}
	return errors.Join(errs...)
}

// exclusive pairs an include list with the exclude list it rules out.
var exclusive = []struct{ include, exclude string }{
	{SchemaIncludeListConfig, SchemaExcludeListConfig},
	{TableIncludeListConfig, TableExcludeListConfig},
	{ColumnIncludeListConfig, ColumnExcludeListConfig},
}

// crossKeyErrors returns, per key, the errors of rules spanning keys: an
// include list and its exclude list cannot both be set (reported on the
// exclude list, with Debezium's message).
func crossKeyErrors(config map[string]string) map[string][]string {
	out := map[string][]string{}
	for _, p := range exclusive {
		if strings.TrimSpace(config[p.include]) != "" && strings.TrimSpace(config[p.exclude]) != "" {
			out[p.exclude] = append(out[p.exclude], fmt.Sprintf("%q is already specified", p.include))
		}
	}
	return out
}
