// Package postgres is a change-data-capture source for PostgreSQL that
// accepts Debezium's Postgres connector configuration
// (io.debezium.connector.postgresql.PostgresConnector): the same config
// keys, defaults and validation messages, so a Debezium connector JSON can be
// posted to Sluice's REST API unchanged.
//
// This increment declares the configuration and validates it against the
// server (reachability, credentials, wal_level=logical, the REPLICATION
// role, the tables named in table.include.list). Snapshotting and streaming
// over logical replication (pgoutput) are not implemented yet: the
// connector and its task fail to start with ErrNotImplemented.
//
// Decoding uses only pgoutput, built into Postgres 10 and later; Debezium's
// decoderbufs plugin is refused. snapshot.mode=never is accepted as the old
// name of no_data.
package postgres
