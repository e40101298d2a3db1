// Package postgres is a change-data-capture source for PostgreSQL that
// accepts Debezium's Postgres connector configuration
// (io.debezium.connector.postgresql.PostgresConnector): the same config
// keys, defaults and validation messages, so a Debezium connector JSON can be
// posted to Sluice's REST API unchanged.
//
// The connector validates its config against the server (reachability,
// credentials, wal_level=logical, the REPLICATION role, the tables named in
// table.include.list) and runs one task, as Debezium does. The task creates
// the publication (publication.autocreate.mode) and the slot; when a
// snapshot is due (snapshot.mode) it creates the slot with an exported
// snapshot, imports it first, and reads every captured table through a
// cursor in that REPEATABLE READ transaction, emitting op "r" events. It then
// streams pgoutput (protocol 1) from the slot's consistent point or the
// committed offset, emitting c/u/d/t events, tombstones, and heartbeats.
//
// The LSN confirmed to the server is the one in the offsets the worker
// committed (read back in Commit), never the received position: a
// restart resumes from the committed offset without loss, replaying at most
// the transaction whose records were partly committed.
//
// Decoding uses only pgoutput, built into Postgres 10 and later; Debezium's
// decoderbufs plugin is refused. snapshot.mode=never is accepted as the old
// name of no_data.
package postgres
