// Package s3 holds the S3 connectors.
//
// The sink, io.sluice.connect.s3.S3SinkConnector, takes the configs of
// Confluent's io.confluent.connect.s3.S3SinkConnector as they are and
// writes the same objects: the same keys
// (<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>[.keys|.headers].<ext>)
// and the same contents for the JSON, ByteArray, Avro and Parquet formats,
// with the Default, Field and time-based partitioners and Confluent's
// rotation rules.
//
// Exactly-once: a task writes the records of each Kafka partition into one
// open file per encoded partition, streamed to S3 as multipart parts; on a
// rotation every open file of the partition is completed, and only then
// does Flush (Kafka's preCommit) report the offset after the last record
// of those files. With a deterministic partitioner and rotation, a
// redelivery after a failure writes the same names with the same bytes; a
// failed upload drops the partition's files and rewinds it to its last
// committed offset.
//
// The source, io.sluice.connect.s3.S3SourceConnector, reads a sink's
// objects back into their topics and partitions (RESTORE_BACKUP), keys and
// headers from the sidecars, or any objects line by line (GENERIC).
package s3
