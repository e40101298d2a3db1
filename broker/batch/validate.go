package batch

import (
	"errors"
	"fmt"
)

// Validate checks one batch that a producer sent, the way Kafka's
// LogValidator does, and returns its header. b must be exactly one whole
// batch (Split cuts a request's records field into batches); maxBytes is the
// topic's max.message.bytes, and maxBytes <= 0 means no limit. requireKeys
// asks that every record has a non-null key, as on a compacted topic.
//
// The checks, in order, and what each failure wraps:
//   - b holds a header and exactly the batch its length names: ErrCorrupt;
//   - the batch is at most maxBytes: ErrTooLarge;
//   - magic 2, and the CRC matches: ErrCorrupt;
//   - recordsCount > 0 and lastOffsetDelta + 1 == recordsCount, not a control
//     batch, a baseSequence >= 0 when there is a producer id:
//     ErrInvalidRecord;
//   - a known codec: ErrUnsupportedCodec;
//   - the records decompress (ErrCorrupt), to at most MaxDecompressedSize
//     (ErrTooLarge);
//   - each record is well formed, its offset delta is its index, its key is
//     non-null if requireKeys, and there are exactly recordsCount records:
//     ErrInvalidRecord.
//
// Validate never modifies b and never panics. It streams through compressed
// records, skipping keys, values and headers, so it allocates nothing per
// record and its memory does not grow with the batch (a raw snappy block,
// which cannot be streamed, is the exception). It is safe for concurrent use.
func Validate(b []byte, maxBytes int, requireKeys bool) (Header, error) {
	h, err := checkHeader(b, maxBytes, false)
	if err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	if err := checkProducerRules(h); err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	var (
		s stream
		d decoders
	)
	defer d.release()
	if err := d.open(&s, h.Codec(), b[HeaderSize:]); err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	if err := walk(&s, h, requireKeys, false, nil); err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	return h, nil
}

// checkHeader checks that b is exactly one batch of at most maxBytes (when
// maxBytes > 0) with a valid magic, CRC and offset count. With gaps, as
// log compaction leaves them, fewer records than offsets are allowed.
func checkHeader(b []byte, maxBytes int, gaps bool) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%d bytes, want at least a %d-byte header: %w", len(b), HeaderSize, ErrCorrupt)
	}
	h := decodeHeader(b)
	if h.Length < minLength || h.Size() != len(b) {
		return h, fmt.Errorf("batch length %d says %d bytes, have %d: %w", h.Length, h.Size(), len(b), ErrCorrupt)
	}
	if maxBytes > 0 && h.Size() > maxBytes {
		return h, fmt.Errorf("%d bytes, limit %d: %w", h.Size(), maxBytes, ErrTooLarge)
	}
	if h.Magic != magicV2 {
		return h, fmt.Errorf("magic %d, want %d: %w", h.Magic, magicV2, ErrCorrupt)
	}
	if err := CheckCRC(b); err != nil {
		return h, err
	}
	if h.NumRecords <= 0 {
		return h, fmt.Errorf("records count %d, want > 0: %w", h.NumRecords, ErrInvalidRecord)
	}
	if gaps && int64(h.NumRecords) <= int64(h.LastOffsetDelta)+1 {
		return h, nil
	}
	if int64(h.LastOffsetDelta)+1 != int64(h.NumRecords) {
		return h, fmt.Errorf("last offset delta %d with %d records, want %d: %w",
			h.LastOffsetDelta, h.NumRecords, h.NumRecords-1, ErrInvalidRecord)
	}
	return h, nil
}

// checkProducerRules applies the rules Kafka enforces on batches from
// clients, as opposed to batches the broker writes itself.
func checkProducerRules(h Header) error {
	if h.Control() {
		return fmt.Errorf("control batch from a client: %w", ErrInvalidRecord)
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		return fmt.Errorf("producer id %d with base sequence %d, want >= 0: %w", h.ProducerID, h.BaseSequence, ErrInvalidRecord)
	}
	return nil
}

// walk reads the h.NumRecords records in s and checks that nothing follows
// them. With out nil it skips keys, values and headers; otherwise it appends
// the decoded records to *out.
func walk(s *stream, h Header, requireKeys, gaps bool, out *[]Record) error {
	n := int(h.NumRecords)
	var rec *Record
	prev := int64(-1)
	for i := range n {
		if out != nil {
			*out = append(*out, Record{})
			rec = &(*out)[len(*out)-1]
		}
		if err := walkRecord(s, h, i, requireKeys, gaps, rec); err != nil {
			if errors.Is(err, errNoRecord) {
				return fmt.Errorf("found %d records, header says %d: %w", i, n, ErrInvalidRecord)
			}
			return err
		}
		if gaps && rec != nil {
			d := rec.Offset - h.BaseOffset
			if d <= prev || d > int64(h.LastOffsetDelta) {
				return fmt.Errorf("record %d: offset delta %d after %d, last %d: %w", i, d, prev, h.LastOffsetDelta, ErrInvalidRecord)
			}
			prev = d
		}
	}
	end, err := s.atEnd()
	if err != nil {
		return err
	}
	if !end {
		return fmt.Errorf("data after the last of %d records: %w", n, ErrInvalidRecord)
	}
	return nil
}

// errNoRecord reports that the data ended cleanly where a record should
// start: the header claims more records than the batch holds.
var errNoRecord = errors.New("no more records")

// walkRecord reads record i, checking its structure and, with requireKeys,
// that its key is not null. With rec nil it skips keys, values and headers;
// otherwise it decodes the record into *rec. This is the per-record hot path
// of Validate: it allocates nothing when rec is nil.
func walkRecord(s *stream, h Header, i int, requireKeys, gaps bool, rec *Record) error {
	if !s.fill(1) {
		if s.err != nil {
			return fmt.Errorf("record %d: %w", i, s.err)
		}
		return errNoRecord
	}
	length, err := s.varint32()
	if err != nil {
		return recordErr(i, "length", err)
	}
	if length < 0 {
		return fmt.Errorf("record %d: length %d: %w", i, length, ErrInvalidRecord)
	}
	end := s.offset() + int64(length)
	if _, err := s.byte1(); err != nil {
		return recordErr(i, "attributes", err)
	}
	tsDelta, err := s.varint()
	if err != nil {
		return recordErr(i, "timestamp delta", err)
	}
	offDelta, err := s.varint32()
	if err != nil {
		return recordErr(i, "offset delta", err)
	}
	if !gaps && int(offDelta) != i {
		return fmt.Errorf("record %d: offset delta %d, want %d: %w", i, offDelta, i, ErrInvalidRecord)
	}
	var key, value *[]byte
	if rec != nil {
		rec.Offset = h.BaseOffset + int64(offDelta)
		rec.Timestamp = h.BaseTimestamp + tsDelta
		if h.LogAppendTime() {
			rec.Timestamp = h.MaxTimestamp
		}
		key, value = &rec.Key, &rec.Value
	}
	null, err := bytesField(s, i, "key", end, key)
	if err != nil {
		return err
	}
	if null && requireKeys {
		return fmt.Errorf("record %d: null key, but the topic requires keys (compacted): %w", i, ErrInvalidRecord)
	}
	if _, err := bytesField(s, i, "value", end, value); err != nil {
		return err
	}
	if err := walkHeaders(s, i, length, end, rec); err != nil {
		return err
	}
	if got := s.offset() - (end - int64(length)); got != int64(length) {
		return fmt.Errorf("record %d: length %d, but its fields take %d bytes: %w", i, length, got, ErrInvalidRecord)
	}
	return nil
}

// walkHeaders reads the header count and headers of record i, of length
// bytes ending at offset end, decoding them into rec.Headers when rec is not nil.
func walkHeaders(s *stream, i int, length int32, end int64, rec *Record) error {
	count, err := s.varint32()
	if err != nil {
		return recordErr(i, "header count", err)
	}
	if left := end - s.offset(); left < 0 {
		return fmt.Errorf("record %d: fields run %d bytes past its length %d: %w", i, -left, length, ErrInvalidRecord)
	}
	// Each header takes at least two bytes (two length varints).
	if count < 0 || int64(count)*2 > end-s.offset() {
		return fmt.Errorf("record %d: header count %d with %d bytes left in the record: %w", i, count, end-s.offset(), ErrInvalidRecord)
	}
	if rec != nil && count > 0 {
		rec.Headers = make([]RecordHeader, count)
	}
	for j := range int(count) {
		var (
			hkey       []byte
			key, value *[]byte // declared in the loop so that hkey stays on the stack
		)
		if rec != nil {
			key, value = &hkey, &rec.Headers[j].Value
		}
		null, err := bytesField(s, i, "header key", end, key)
		if err != nil {
			return err
		}
		if null {
			return fmt.Errorf("record %d: header %d has a null key: %w", i, j, ErrInvalidRecord)
		}
		if _, err := bytesField(s, i, "header value", end, value); err != nil {
			return err
		}
		if rec != nil {
			rec.Headers[j].Key = string(hkey)
		}
	}
	return nil
}

// bytesField reads a length-prefixed field of record i, which ends at offset
// end, and reports whether it is null (length -1). With dst nil it skips the
// bytes; otherwise it stores a copy in *dst.
func bytesField(s *stream, i int, name string, end int64, dst *[]byte) (null bool, err error) {
	n, err := s.varint32()
	if err != nil {
		return false, recordErr(i, name+" length", err)
	}
	if n < -1 {
		return false, fmt.Errorf("record %d: %s length %d: %w", i, name, n, ErrInvalidRecord)
	}
	if n == -1 {
		return true, nil
	}
	if left := end - s.offset(); int64(n) > left {
		return false, fmt.Errorf("record %d: %s of %d bytes, only %d left in the record: %w", i, name, n, left, ErrInvalidRecord)
	}
	if dst == nil {
		err = s.skip(int(n))
	} else {
		*dst, err = s.read(int(n))
	}
	if err != nil {
		return false, recordErr(i, name, err)
	}
	return false, nil
}

// recordErr wraps an error from reading a field of record i: decompression
// failures and limits keep their own sentinel, anything else is a malformed
// record.
func recordErr(i int, field string, err error) error {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("record %d: %w", i, err)
	}
	return fmt.Errorf("record %d: read %s: %v: %w", i, field, err, ErrInvalidRecord)
}
