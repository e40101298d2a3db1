package broker

// EndTxn: v0-4.
//
// Commits or aborts the producer's transaction: a marker is written to
// every partition of it and made durable, and the group offsets committed
// in it are stored or dropped, before the answer. A retried EndTxn that
// already succeeded succeeds again. v5 (KIP-890 part 2, an epoch bump per
// transaction) is not served.

import (
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var endTxnAPI = api{key: 26, min: 0, max: 4, handle: handleEndTxn}

func handleEndTxn(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.EndTxnRequest)
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	return c.later(func() kmsg.Response {
		err := c.s.txns.EndTxn(req.TransactionalID, txn.Producer{ID: req.ProducerID, Epoch: req.ProducerEpoch}, req.Commit)
		if err != nil {
			c.log.Debug("EndTxn refused", "transactional.id", req.TransactionalID, "commit", req.Commit, "err", err)
		}
		resp.ErrorCode = txnErrorCode(err, req.Version, 2)
		return resp
	})
}
