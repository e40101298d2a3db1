// Package postgres is a change-data-capture source for PostgreSQL that
// accepts Debezium's Postgres connector configuration
// (io.debezium.connector.postgresql.PostgresConnector): the same config
// keys, defaults and validation messages, so a Debezium connector JSON can be
// posted to Sluice's REST API unchanged.
//
// The connector validates its config against the server (reachability,
// credentials, wal_level=logical, the REPLICATION role, the tables named in
// table.include.list, a replication slot no other process reads from) and
// runs one task, as Debezium does. The task creates the publication
// (publication.autocreate.mode) and, when there is none, the slot; when a
// snapshot is due (snapshot.mode) it creates the slot with an exported
// snapshot, imports it first, and reads every captured table through a
// cursor in that REPEATABLE READ transaction, emitting op "r" events (on a
// slot that already exists it reads a snapshot of its own and streams from
// the slot's position, as Debezium does). It then streams pgoutput
// (protocol 1) from the slot's consistent point or the committed offset,
// emitting c/u/d/t events, tombstones, and heartbeats.
//
// A slot is never dropped or created again behind a connector's back: a
// task refuses a slot its offsets do not account for (slot.go explains
// how it judges), and drops a slot only under slot.drop.on.stop, or one it
// created itself that no offset needs yet. Debezium keys Sluice does not
// implement are refused, or ignored with a warning where they change
// nothing in the events (unsupported.go). Every line is logged on the
// logger the worker gives the task, naming the connector and the task.
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
