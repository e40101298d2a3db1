// Package log is the broker's storage engine: one append-only log per
// partition, split into segments, with sparse indexes, crash recovery,
// retention and group-committed fsyncs.
//
// A data directory looks like Kafka's:
//
//	sluice-data/
//	  .lock                                  flock(2)ed by the one store that owns the directory (Open)
//	  topic-meta/orders.json                 topic id, partition count, config overrides
//	  recovery-point-offset-checkpoint       per partition: offsets known fsynced
//	  producer-id-block                      end of the last producer id block handed out
//	  .sluice_cleanshutdown                  present only after a clean close
//	  orders-0/
//	    00000000000000000000.log             RecordBatch v2 bytes exactly as produced, offsets stamped
//	    00000000000000000000.index           (relative offset uint32, file position uint32) every 4 KiB
//	    00000000000000000000.timeindex       (max timestamp int64, relative offset uint32)
//	    00000000000000052311.log             next segment, named by its base offset
//	    producer-state.snapshot              idempotent producers' last batches, as of an offset
//	    log-start-offset                     moved by DeleteRecords
//	    cleaner-offset-checkpoint            compacted topics: cleaned-to offset, when ranges were cleaned
//
// A segment's .log is a plain concatenation of record batches:
//
//	+-----------------+-----------------+-----+
//	| batch @ base    | batch @ base+n  | ... |   each batch: 61-byte header, then records
//	+-----------------+-----------------+-----+
//
// Durability: Append writes to the page cache; Flush fsyncs, and concurrent
// Flush calls share one fsync (group commit). The broker answers acks=all
// only after Flush. Rolling a segment fsyncs it, so only the active segment
// can ever hold unsynced data. After an unclean shutdown, Open re-reads the
// last segment, checks each batch's CRC-32C past the recovery point and cuts
// the log at the first torn or corrupt batch. Sealed segments are never cut:
// a corrupt batch in one is logged and reported to the reads that reach it
// (batch.ErrCorrupt), the rest of the log is served. Compacted topics are
// cleaned in the background: sealed segments are rewritten keeping the
// latest record per key (offsets never change), written aside as .cleaned,
// then swapped in through .swap renames that recovery completes after a
// crash. A write or fsync error makes the partition refuse writes (sticky
// error) until the background loop has re-opened it from its last durable
// state (failure.go); Store.Healthy lists the partitions that refuse writes.
//
// File descriptors: segment files are opened on use through a store-wide
// LRU cache bounded by Options.MaxOpenFiles (filecache.go), and index files
// are written whole when a segment is sealed, so a store holds a bounded
// number of descriptors however many partitions and segments it has.
package log
