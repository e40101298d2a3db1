// Package log is the broker's storage engine: one append-only log per
// partition, split into segments, with sparse indexes, crash recovery,
// retention and group-committed fsyncs.
//
// A data directory looks like Kafka's:
//
//	sluice-data/
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
// can ever hold unsynced data. After an unclean shutdown, Open re-reads every
// segment past the recovery point, checks each batch's CRC-32C and cuts the
// log at the first torn or corrupt batch; indexes are rebuilt when missing or
// inconsistent. Compacted topics are cleaned in the background: sealed
// segments are rewritten keeping the latest record per key (offsets never
// change), written aside as .cleaned, then swapped in through .swap renames
// that recovery completes after a crash. A write or fsync error makes the partition refuse writes from
// then on (sticky error), since the state of the file is then unknown.
package log
