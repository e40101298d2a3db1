// Package file provides Kafka's FileStream connectors: a source that tails a
// text file (or reads standard input) line by line, and a sink that appends
// each record's value to a file (or standard output) as one line.
//
// They accept the class names, config keys and semantics of Apache Kafka's
// connect-file plugin, so a FileStreamSource or FileStreamSink config written
// for Kafka Connect runs unchanged.
//
// # Source (org.apache.kafka.connect.file.FileStreamSourceConnector)
//
//	file        STRING  default null   file to read; null or empty reads standard input
//	topic       STRING  required       topic to write the lines to (a single topic)
//	batch.size  INT     default 2000   most records returned by one poll
//
// The connector always runs one task. A line ends at "\n", "\r\n" or a lone
// "\r"; a last line without a terminator is held back until it is
// terminated, so a file being appended to is read one whole line at a time.
// Each record's value is the line as a STRING (no key); its source partition
// is {"filename": <file>} and its source offset {"position": <byte position
// after the line>}. On start the task seeks to the committed position, so a
// restart neither repeats nor skips lines, and then keeps tailing the file as
// it grows. Standard input has no offsets (both are null), as in Kafka.
//
// # Sink (org.apache.kafka.connect.file.FileStreamSinkConnector)
//
//	file        STRING  default null   file to append to; null writes standard output
//	topics      (the worker's sink key) topics to consume
//
// Each record's value is written as Java's String.valueOf would render it,
// followed by "\n". Output is buffered and written out and fsynced on every
// flush, before the worker commits consumer offsets; the file is opened in
// append mode so a restarted task continues it.
package file
