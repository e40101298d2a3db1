package broker

// TxnOffsetCommit: v0-4.
//
// Commits group offsets inside a transaction: they stay pending, invisible
// to OffsetFetch (and UNSTABLE_OFFSET_COMMIT for RequireStable), until
// EndTxn commits them or drops them. The group must have been added with
// AddOffsetsToTxn. v3+ carries the member id and generation, checked as
// OffsetCommit does (KIP-447). v5+ (KIP-890 part 2) is not served.

import (
	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var txnOffsetCommitAPI = api{key: 28, min: 0, max: 4, handle: handleTxnOffsetCommit}

func handleTxnOffsetCommit(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.TxnOffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	var commits []group.Commit
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			cm := group.Commit{TopicPartition: group.TopicPartition{Topic: t.Topic, Partition: p.Partition}, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch}
			if p.Metadata != nil {
				cm.Metadata = *p.Metadata
			}
			commits = append(commits, cm)
		}
	}
	generation := int32(-1)
	var instanceID string
	if req.Version >= 3 {
		generation = req.Generation
		if req.InstanceID != nil {
			instanceID = *req.InstanceID
		}
	}
	return c.later(func() kmsg.Response {
		errs, err := c.s.txns.CommitOffsets(req.TransactionalID, txn.Producer{ID: req.ProducerID, Epoch: req.ProducerEpoch},
			req.Group, req.MemberID, instanceID, generation, commits)
		i := 0
		for _, t := range req.Topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				switch {
				case err != nil:
					rp.ErrorCode = txnErrorCode(err, req.Version, 3)
				case errs[i] != nil:
					rp.ErrorCode = errorCode(errs[i])
				}
				i++
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	})
}
