package batch

import "fmt"

// Record is one decoded record, for tests and for compaction.
type Record struct {
	Offset    int64  // absolute: batch base offset + offset delta
	Timestamp int64  // absolute ms
	Key       []byte // nil = null
	Value     []byte // nil = null (tombstone)
	Headers   []RecordHeader
}

// RecordHeader is one record header. Kafka allows a null value but not a null
// key.
type RecordHeader struct {
	Key   string
	Value []byte // nil = null
}

// Records decodes all records of b, exactly one batch, decompressing them.
// It checks the batch's structure as Validate does (length, magic, CRC, the
// records' layout and count) but not the rules for client batches, so it
// also reads control batches, and batches that log compaction thinned:
// fewer records than offsets, with gaps between the records' offsets. Under
// LogAppendTime every record gets the batch's MaxTimestamp, as Kafka's
// consumers see it. The records own their bytes: nothing aliases b. Errors wrap the same sentinels as Validate's.
func Records(b []byte) ([]Record, error) {
	h, err := checkHeader(b, 0, true)
	if err != nil {
		return nil, fmt.Errorf("decode records: %w", err)
	}
	var (
		s stream
		d decoders
	)
	defer d.release()
	if err := d.open(&s, h.Codec(), b[HeaderSize:]); err != nil {
		return nil, fmt.Errorf("decode records: %w", err)
	}
	// The count is the producer's claim: grow as records actually decode
	// rather than trusting it for the allocation.
	out := make([]Record, 0, min(int(h.NumRecords), 1024))
	if err := walk(&s, h, false, true, &out); err != nil {
		return nil, fmt.Errorf("decode records: %w", err)
	}
	return out, nil
}
