// Package debezium is the part of a Debezium-compatible change-data-capture
// source that has no database in it, written once for every CDC connector
// (Postgres today, MySQL next). A connector supplies its protocol, its
// catalog and value conversion, its source block and the SQL that differs;
// this package supplies the rest, with Debezium's names, shapes and
// defaults:
//
//   - envelope.go: change events (before, after, source, transaction, op,
//     ts_ms/us/ns), keys, tombstones and key-change headers. Events is built
//     once per table from its row fields; the connector's source block comes
//     in through SourceBlock.
//   - txmeta.go, heartbeat.go: transaction metadata records
//     (provide.transaction.metadata) and heartbeat records.
//   - filter.go, columns.go: include and exclude lists, message.key.columns,
//     column masks and truncation, source-type propagation.
//   - signal.go, kafkasignal.go: signals from the signalling table (the
//     source channel) and from a Kafka topic, and snapshot requests.
//   - incremental.go: incremental snapshots (watermarks, the deduplication
//     window, progress in the offsets) behind Dialect, the queries that
//     differ per database, and Reads, where the connector places the reads
//     in its stream. snapshot.go marks initial-snapshot reads.
//   - config.go, semantic.go: the shared config keys as ConfigDef groups a
//     connector lists in its own ConfigDef, validators, the io.debezium.*
//     semantic schema names and the handling modes.
//
// A connector reads the stream on one goroutine and calls the types here
// from it; none of them starts a goroutine, except KafkaSignals, which
// owns its consumer until Stop.
package debezium
