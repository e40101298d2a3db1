package broker

// InitProducerId: v0-5.
//
// Without a transactional id (the idempotent producer) every call gets a new
// producer id, never used before in this data directory, at epoch 0, as in
// Kafka; a v3+ request naming its old id and epoch (KIP-360) also gets a new
// one. Producer ids are allocated in persisted blocks so a restarted broker
// does not hand out an id whose sequence state it still holds. Transactional
// ids are refused with INVALID_REQUEST until transactions are implemented.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var initProducerIDAPI = api{key: 22, min: 0, max: 5, handle: handleInitProducerID}

func handleInitProducerID(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.InvalidRequest.Code
		c.log.Warn("refused InitProducerId with a transactional id: transactions are not supported yet", "transactional.id", *req.TransactionalID)
		return ready(resp)
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
