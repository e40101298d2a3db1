package batch

import "errors"

// Sentinel errors of the batch codec. Every error this package returns wraps
// exactly one of them; the broker maps each to one Kafka error code in one
// place (the code each maps to is given below).
var (
	// ErrCorrupt: the bytes are not a well-formed batch: too short, a length
	// that disagrees with the data, a magic other than 2, a CRC mismatch, or a
	// compressed payload that does not decompress. Kafka: CORRUPT_MESSAGE (2).
	ErrCorrupt = errors.New("corrupt record batch")
	// ErrInvalidRecord: the batch is well formed but breaks a produce rule:
	// record count and offset deltas disagree, a control batch from a client,
	// a producer id without a sequence, a malformed record inside the batch,
	// or a null key on a compacted topic. Kafka: INVALID_RECORD (87).
	ErrInvalidRecord = errors.New("invalid record")
	// ErrTooLarge: the batch is larger than the caller's limit, or
	// decompresses to more than MaxDecompressedSize. Kafka:
	// MESSAGE_TOO_LARGE (10).
	ErrTooLarge = errors.New("record batch too large")
	// ErrUnsupportedCodec: the attributes name a compression codec that does
	// not exist (5, 6 or 7). Kafka answers CORRUPT_MESSAGE (2) here; the
	// broker may choose UNSUPPORTED_COMPRESSION_TYPE (76) instead.
	ErrUnsupportedCodec = errors.New("unsupported compression codec")
)
