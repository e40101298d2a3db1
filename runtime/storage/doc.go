// Package storage keeps a Connect worker's state where Apache Kafka Connect
// keeps it, in the same shape, so a Sluice worker and a Kafka Connect worker
// can read each other's internal topics:
//
//	config.storage.topic   1 partition, compacted   ConfigStore
//	offset.storage.topic  25 partitions, compacted  KafkaOffsetStore
//	status.storage.topic   5 partitions, compacted  StatusStore
//
// Keys are ad-hoc strings (the offsets topic: a JSON array); values are JSON
// as Kafka's JsonConverter writes it with schemas.enable=false: struct
// fields in schema order, no spaces, doubles as Java prints them. A null
// value is a tombstone.
//
//	config topic
//	  connector-<name>          {"properties":{"k":"v",…}}
//	  task-<name>-<n>           {"properties":{"k":"v",…}}
//	  commit-<name>             {"tasks":2}
//	  target-state-<name>       {"state":"PAUSED","state.v2":"STOPPED"}
//	  restart-connector-<name>  {"include-tasks":true,"only-failed":false}
//	offsets topic
//	  ["<connector>",{<source partition>}]   {<source offset>}
//	status topic
//	  status-connector-<name>   {"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":3}
//	  status-task-<name>-<n>    same fields
//	  status-topic-<topic>:connector-<name>
//	                            {"topic":{"name":"t","connector":"c","task":0,"discoverTimestamp":1700000000000}}
//
// Task configs take effect only when the commit record that follows them is
// read, and only if every task the commit counts was read since the last
// commit; otherwise the connector is inconsistent (compaction can do that)
// until a later commit completes a set.
//
// Every store built on a topic has the same life: New… checks options and
// does no I/O; Start creates the topic if it is missing (refusing an
// existing one whose cleanup.policy is not exactly compact), connects, and
// reads the topic to its end; Run applies records as they arrive until its
// context ends; Close releases the client. Writes that must be read back
// (all config writes, Refresh) work whether or not Run is running: when it
// is not, the caller's goroutine reads the topic itself.
//
// A config or offset write the brokers keep refusing fails after
// DefaultWriteRetries tries, in seconds, with their error and the topic
// ("write to config topic connect-configs: KAFKA_STORAGE_ERROR: …"); status
// writes are retried for as long as the store runs, as Kafka re-sends them.
// Each store's WriteError reports its last write's failure until a write
// succeeds again, for the worker's health check.
//
// The offset store has a second implementation for standalone mode, a JSON
// file replaced atomically on every Set.
package storage
