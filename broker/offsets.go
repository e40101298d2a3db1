package broker

// OffsetCommit v0-8, OffsetFetch v0-8, OffsetDelete v0.
//
// Committed offsets live in the group coordinator (broker/group) and are
// durable in __consumer_offsets before OffsetCommit answers. A commit for a
// topic or partition that does not exist gets UNKNOWN_TOPIC_OR_PARTITION.
// Generation -1 with no member id is a "simple" commit, allowed for a group
// without members. OffsetFetch answers offset -1 and no error for an
// unknown group or partition, as Kafka does; v8 takes many groups.
// RequireStable (v7+) answers UNSTABLE_OFFSET_COMMIT (offset -1) for a
// partition with an offset pending in an open transaction (TxnOffsetCommit),
// so the client retries once the transaction ends.

import (
	"github.com/sluicehq/sluice/broker/group"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	offsetCommitAPI = api{key: 8, min: 0, max: 8, handle: handleOffsetCommit}
	offsetFetchAPI  = api{key: 9, min: 0, max: 8, handle: handleOffsetFetch}
	offsetDeleteAPI = api{key: 47, min: 0, max: 0, handle: handleOffsetDelete}
)

func (s *Server) partitionExists(topic string, p int32) bool {
	t, ok := s.store.Topic(topic)
	return ok && p >= 0 && int(p) < len(t.Partitions)
}

func handleOffsetCommit(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	var commits []group.Commit
	var exists []bool // per requested partition, in request order
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			ok := c.s.partitionExists(t.Topic, p.Partition)
			exists = append(exists, ok)
			if ok {
				commits = append(commits, group.Commit{
					TopicPartition: group.TopicPartition{Topic: t.Topic, Partition: p.Partition},
					Offset:         p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: str(p.Metadata),
				})
			}
		}
	}
	return c.later(func() kmsg.Response {
		errs, err := c.s.groups.CommitOffsets(req.Group, req.MemberID, str(req.InstanceID), req.Generation, commits)
		i, k := 0, 0
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				k++
				switch {
				case !exists[k-1]:
					rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				case err != nil:
					rp.ErrorCode = errorCode(err)
					i++
				default:
					rp.ErrorCode = errorCode(errs[i])
					i++
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	})
}

func handleOffsetFetch(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.OffsetFetchRequest)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, g := range req.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group = g.Group
			var parts []group.TopicPartition
			if g.Topics != nil {
				parts = []group.TopicPartition{}
				for _, t := range g.Topics {
					for _, p := range t.Partitions {
						parts = append(parts, group.TopicPartition{Topic: t.Topic, Partition: p})
					}
				}
			}
			for _, f := range groupByTopic(c.s.groups.FetchOffsets(g.Group, parts)) {
				rt := kmsg.NewOffsetFetchResponseGroupTopic()
				rt.Topic = f[0].Topic
				for _, o := range f {
					rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					rp.Partition, rp.Offset, rp.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
					rp.Metadata = &o.Metadata
					if req.RequireStable && c.s.groups.HasPendingTxnOffsets(g.Group, o.TopicPartition) {
						rp.Offset, rp.ErrorCode = -1, kerr.UnstableOffsetCommit.Code
					}
					rt.Partitions = append(rt.Partitions, rp)
				}
				rg.Topics = append(rg.Topics, rt)
			}
			resp.Groups = append(resp.Groups, rg)
		}
		return ready(resp)
	}
	var parts []group.TopicPartition
	if req.Topics != nil || req.Version < 2 {
		parts = []group.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				parts = append(parts, group.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	for _, f := range groupByTopic(c.s.groups.FetchOffsets(req.Group, parts)) {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = f[0].Topic
		for _, o := range f {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = o.Partition, o.Offset, o.LeaderEpoch
			rp.Metadata = &o.Metadata
			if req.RequireStable && c.s.groups.HasPendingTxnOffsets(req.Group, o.TopicPartition) {
				rp.Offset, rp.ErrorCode = -1, kerr.UnstableOffsetCommit.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return ready(resp)
}

// groupByTopic splits fetched offsets into runs of one topic, in order.
func groupByTopic(fs []group.Fetched) [][]group.Fetched {
	var out [][]group.Fetched
	for i := 0; i < len(fs); {
		j := i + 1
		for j < len(fs) && fs[j].Topic == fs[i].Topic {
			j++
		}
		out = append(out, fs[i:j])
		i = j
	}
	return out
}

func handleOffsetDelete(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.OffsetDeleteRequest)
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	var parts []group.TopicPartition
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, group.TopicPartition{Topic: t.Topic, Partition: p.Partition})
		}
	}
	errs, err := c.s.groups.DeleteOffsets(req.Group, parts)
	if err != nil && errs == nil {
		resp.ErrorCode = errorCode(err)
		return ready(resp)
	}
	i := 0
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = errorCode(errs[i])
			if err != nil && errs[i] == nil {
				rp.ErrorCode = errorCode(err)
			}
			i++
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return ready(resp)
}
