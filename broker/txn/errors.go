package txn

import "errors"

// Errors returned by the coordinator; the broker maps each to its Kafka
// error code.
var (
	// ErrInvalidTimeout: transaction.timeout.ms is not in (0, max].
	ErrInvalidTimeout = errors.New("invalid transaction timeout")
	// ErrProducerFenced: a newer producer with the same transactional.id
	// exists.
	ErrProducerFenced = errors.New("producer fenced by a newer epoch")
	// ErrInvalidProducerEpoch: the epoch is not the current one (clients
	// before InitProducerId v4).
	ErrInvalidProducerEpoch = errors.New("invalid producer epoch")
	// ErrInvalidProducerIDMapping: the producer id is not the one of the
	// transactional.id, or the transactional.id is unknown.
	ErrInvalidProducerIDMapping = errors.New("producer id does not match the transactional id")
	// ErrConcurrentTransactions: the previous transaction is still being
	// completed; retry.
	ErrConcurrentTransactions = errors.New("a transaction is being completed")
	// ErrInvalidTxnState: the request does not fit the transaction's state.
	ErrInvalidTxnState = errors.New("invalid transaction state")
	// ErrUnknownPartition: a partition added to a transaction does not exist.
	ErrUnknownPartition = errors.New("unknown topic or partition")
	// ErrNotAvailable: the coordinator is closed or its state cannot be
	// written.
	ErrNotAvailable = errors.New("transaction coordinator not available")
)
