package broker

// AddOffsetsToTxn: v0-4.
//
// Adds a consumer group to the producer's transaction, so that the
// TxnOffsetCommits that follow are committed or dropped with it. This node
// is every group's coordinator, so the client sends TxnOffsetCommit here.

import (
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var addOffsetsToTxnAPI = api{key: 25, min: 0, max: 4, handle: handleAddOffsetsToTxn}

func handleAddOffsetsToTxn(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return ready(resp)
	}
	return c.later(func() kmsg.Response {
		err := c.s.txns.AddOffsets(req.TransactionalID, txn.Producer{ID: req.ProducerID, Epoch: req.ProducerEpoch}, req.Group)
		resp.ErrorCode = txnErrorCode(err, req.Version, 2)
		return resp
	})
}
