// Package txn is the transaction coordinator of a single-node broker.
//
// A transactional producer registers its transactional.id with
// InitProducerID, which hands out a producer id and an epoch; a later
// registration bumps the epoch, fencing every older producer with the same
// transactional.id, and aborts a transaction that producer left open. The
// producer then names the partitions (AddPartitions) and consumer groups
// (AddOffsets) it writes to, produces, commits group offsets through
// TxnOffsetCommit (held pending in the group coordinator), and ends the
// transaction with EndTxn: the coordinator writes a commit or abort marker
// to every partition of the transaction and materialises or drops the
// pending offsets.
//
//	Empty/Complete* --AddPartitions/AddOffsets--> Ongoing
//	Ongoing --EndTxn(commit)--> PrepareCommit --markers written--> CompleteCommit
//	Ongoing --EndTxn(abort), timeout, re-init--> PrepareAbort --markers--> CompleteAbort
//
// Every state change is a record in the compacted topic __transaction_state
// in Kafka's format (kmsg.TxnMetadataKey/TxnMetadataValue) at partition
// abs(javaHashCode(transactional.id)) % partitions (group.PartitionFor). On load a transaction in
// PrepareCommit or PrepareAbort is completed (its markers written again,
// which is harmless); an Ongoing one is aborted when it times out.
//
// The offsets a transaction commits for its groups are also written there
// (offsets.go), so a transaction completed after a restart commits them too.
//
// A transactional id not in a transaction and unused for
// transactional.id.expiration.ms is removed, with a tombstone (expire.go).
package txn
