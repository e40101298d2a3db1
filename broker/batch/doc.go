// Package batch reads, checks and writes Kafka RecordBatch v2 (magic 2), the
// unit in which producers send records, the log stores them and consumers
// fetch them. The broker keeps a producer's batch bytes as received: it checks
// them with Validate, stamps the base offset and leader epoch in place, and
// writes them to the log unchanged otherwise.
//
// # Header
//
// Every batch opens with a fixed 61-byte header, all integers big endian:
//
//	offset  size  field                 notes
//	------  ----  --------------------  -----------------------------------------
//	     0     8  baseOffset            set by the broker (SetBaseOffset)
//	     8     4  batchLength           bytes after this field: total = 12 + batchLength
//	    12     4  partitionLeaderEpoch  set by the broker (SetLeaderEpoch)
//	    16     1  magic                 2
//	    17     4  crc                   CRC-32C of bytes 21 .. end
//	    21     2  attributes            bits 0-2 codec, 3 LogAppendTime,
//	                                    4 transactional, 5 control,
//	                                    6 has delete horizon (compaction)
//	    23     4  lastOffsetDelta       = recordsCount - 1
//	    27     8  baseTimestamp         first record's timestamp (ms)
//	    35     8  maxTimestamp          largest record timestamp, or the
//	                                    broker's time under LogAppendTime
//	    43     8  producerId            -1 when not idempotent
//	    51     2  producerEpoch         -1 when not idempotent
//	    53     4  baseSequence          -1 when not idempotent
//	    57     4  recordsCount
//	    61     -  records               compressed as one unit when codec != 0
//
// # CRC
//
// The CRC is CRC-32C (Castagnoli) over everything from attributes (byte 21)
// to the end of the batch. It leaves out baseOffset, batchLength,
// partitionLeaderEpoch and magic, so the broker can re-stamp the base offset
// and leader epoch without recomputing it (SetBaseOffset, SetLeaderEpoch).
// Setting LogAppendTime changes attributes and maxTimestamp, which the CRC
// covers, so SetLogAppendTime recomputes it.
//
// # Records
//
// After the header come recordsCount records, as one compressed stream when
// the codec is not none (gzip; snappy as a raw block or in xerial framing;
// the LZ4 frame format; zstd). Each record is
//
//	length          varint   bytes of the record after this field
//	attributes      int8     unused, 0
//	timestampDelta  varlong  timestamp - baseTimestamp
//	offsetDelta     varint   offset - baseOffset: 0, 1, 2, ... in order
//	keyLength       varint   -1 for a null key
//	key             bytes
//	valueLength     varint   -1 for a null value (a tombstone)
//	value           bytes
//	headerCount     varint
//	headers         headerCount times:
//	  keyLength     varint   never -1
//	  key           bytes    UTF-8
//	  valueLength   varint   -1 for a null value
//	  value         bytes
//
// Varints are zig-zag encoded (encoding/binary Varint): 0 is 0x00, -1 is
// 0x01, 1 is 0x02, 8 is 0x10. For example, the first record of a batch, with
// key "k", value "v", no headers and the batch's base timestamp, is the 9 bytes
//
//	10  00  00  00  02 6b  02 76  00
//	len att ts  off key    value  headers
//
// (length 8, attributes 0, timestampDelta 0, offsetDelta 0, a 1-byte key, a
// 1-byte value, no headers).
//
// # Validation
//
// Validate applies the checks Kafka's LogValidator makes on the produce path.
// Like Kafka's skipKeyValueIterator, it decompresses the records as a stream
// and skips over keys, values and headers rather than copying them, so its
// memory use does not grow with the batch; the decompressed size is capped at
// MaxDecompressedSize against decompression bombs.
package batch
