package broker

// InitProducerId: v0-5.
//
// Without a transactional id (the idempotent producer) every call gets a new
// producer id, never used before in this data directory, at epoch 0, as in
// Kafka; a v3+ request naming its old id and epoch (KIP-360) also gets a new
// one. Producer ids are allocated in persisted blocks so a restarted broker
// does not hand out an id whose sequence state it still holds.
//
// With a transactional id the transaction coordinator (broker/txn) answers:
// the id's producer id with its epoch bumped, which fences older producers
// with the same transactional id (PRODUCER_FENCED from v4, else
// INVALID_PRODUCER_EPOCH) after aborting a transaction they left open. A
// transaction.timeout.ms above transaction.max.timeout.ms is refused with
// INVALID_TRANSACTION_TIMEOUT.

import (
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var initProducerIDAPI = api{key: 22, min: 0, max: 5, handle: handleInitProducerID}

func handleInitProducerID(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil && *req.TransactionalID == "" {
		resp.ErrorCode = kerr.InvalidRequest.Code // as Kafka: null, not empty, means idempotent
		return ready(resp)
	}
	if req.TransactionalID != nil {
		return c.later(func() kmsg.Response {
			current := txn.Producer{ID: -1, Epoch: -1}
			if req.Version >= 3 {
				current = txn.Producer{ID: req.ProducerID, Epoch: req.ProducerEpoch}
			}
			p, err := c.s.txns.InitProducerID(*req.TransactionalID, req.TransactionTimeoutMillis, current, c.s.store.NextProducerID)
			if err != nil {
				c.log.Debug("InitProducerId refused", "transactional.id", *req.TransactionalID, "err", err)
				resp.ErrorCode = txnErrorCode(err, req.Version, 4)
				return resp
			}
			resp.ProducerID, resp.ProducerEpoch = p.ID, p.Epoch
			return resp
		})
	}
	id, err := c.s.store.NextProducerID()
	if err != nil {
		c.log.Error("allocate producer id", "err", err)
		resp.ErrorCode = kerr.KafkaStorageError.Code
		return ready(resp)
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return ready(resp)
}
