package postgres

import (
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
		"accepts Debezium's Postgres connector config; one task snapshots the captured tables, then streams from the replication slot.",
	// Offsets resume exactly: streaming offsets name the last commit
	// delivered and, inside a transaction, how many of its records were
	// (lsn_tx, tx_records), so a restarted task skips exactly those.
	// Snapshots that a restart interrupts are read again, as Debezium's.
	ExactlyOnce:   true,
	NewConnector:  func() connect.Connector { return &connector{} },
	NewSourceTask: func() connect.SourceTask { return &sourceTask{} },
}

// connector validates its config and runs a single task, as Debezium's
// does whatever tasks.max says.
type connector struct{ config map[string]string }

// Start implements connect.Connector: it checks the config and warns of
// each Debezium key set that Sluice accepts without acting on.
func (c *connector) Start(ctx connect.ConnectorContext, config map[string]string) error {
	if err := parse(config); err != nil {
		return fmt.Errorf("start postgres connector: %w", err)
	}
	c.config = config
	log := pluginLogger(ctx)
	for _, w := range ignoredKeys(config) {
		log.Warn("Debezium key not supported by Sluice: " + w)
	}
	return nil
}

// TaskConfigs implements connect.Connector: one task with the connector's
// config.
func (c *connector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{c.config}, nil
}

// Stop implements connect.Connector.
func (*connector) Stop() error { return nil }

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
	{MessagePrefixIncludeListConfig, MessagePrefixExcludeListConfig},
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
	for key, msgs := range tuningErrors(config) {
		out[key] = append(out[key], msgs...)
	}
	for key, msgs := range kafkaSignalErrors(config) {
		out[key] = append(out[key], msgs...)
	}
	for key, msgs := range foreignFamilyErrors(config) {
		out[key] = append(out[key], msgs...)
	}
	return out
}
