// Package kit holds what every connector needs and none should write
// again: a bounded queue that turns pushed events into Poll batches (and a
// variant that tells producers when the broker has their records), backoff
// and one rule for retriable errors, sink batching flushed before offsets
// are committed, TLS configs from files or inline PEM, the S3 client the
// S3 connectors build from Confluent's keys (S3Keys, CheckBucket), and
// typed config keys.
//
// The kit imports only runtime/connect of the runtime, so a connector that
// uses it keeps DESIGN.md's arrow: connectors → runtime/connect.
//
// A push source (an HTTP or MQTT server, a replication stream) runs its
// producer in a goroutine of its own that calls Queue.Put; the task's Poll
// is Queue.Poll. A push source whose clients must hear back only once
// their data is durable uses AckQueue and forwards the worker's
// CommitRecord calls to AckQueue.Ack. A sink adds records to a Batcher in
// Put and calls Batcher.Flush in Flush, so the offsets the worker commits
// never run ahead of what the destination has.
package kit
