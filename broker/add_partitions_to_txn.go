package broker

// AddPartitionsToTxn: v0-3.
//
// Adds partitions to the producer's transaction (starting it) before the
// producer writes to them. If any partition does not exist, it gets
// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as in
// Kafka. v4+ (the KIP-890 broker-to-broker verification form) is not served.

import (
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var addPartitionsToTxnAPI = api{key: 24, min: 0, max: 3, handle: handleAddPartitionsToTxn}

func handleAddPartitionsToTxn(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.AddPartitionsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	var parts []txn.TopicPartition
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, txn.TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	return c.later(func() kmsg.Response {
		errs, err := c.s.txns.AddPartitions(req.TransactionalID, txn.Producer{ID: req.ProducerID, Epoch: req.ProducerEpoch}, parts)
		if err != nil {
			c.log.Debug("AddPartitionsToTxn refused", "transactional.id", req.TransactionalID, "err", err)
		}
		failed := false
		for _, e := range errs {
			failed = failed || e != nil
		}
		i := 0
		for _, t := range req.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition = p
				switch {
				case err != nil:
					rp.ErrorCode = txnErrorCode(err, req.Version, 2)
				case errs[i] != nil:
					rp.ErrorCode = errorCode(errs[i])
				case failed:
					rp.ErrorCode = kerr.OperationNotAttempted.Code
				}
				i++
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	})
}
