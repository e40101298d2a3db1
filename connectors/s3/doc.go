// Package s3 is the S3 sink, io.sluice.connect.s3.S3SinkConnector, which
// takes the configs of Confluent's io.confluent.connect.s3.S3SinkConnector
// as they are and writes the same objects: the same keys
// (<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>)
// and the same bytes for the JSON and ByteArray formats.
//
// Exactly-once: a task buffers the records of each Kafka partition in one
// open file per encoded partition; when flush.size records have been
// written for a Kafka partition, every open file of it is uploaded and only
// then does Flush (Kafka's preCommit) report the offset after the last
// record of those files. Rotation depends only on the records, so a
// redelivery after a failure writes the same names with the same bytes.
//
// This increment implements the Default and Field partitioners, the JSON
// and ByteArray formats and gzip; every other key of Confluent's sink is
// declared and refused when set.
package s3
