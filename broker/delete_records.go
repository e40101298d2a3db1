package broker

// DeleteRecords: v0-2.
//
// Moves each partition's log start offset up to the requested offset (-1
// meaning the high watermark) and answers the new start as the low
// watermark. The new start is durable before the answer; whole segments
// below it go at the next retention pass. An offset at or below the current
// start changes nothing; one past the high watermark is OFFSET_OUT_OF_RANGE;
// an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION; an internal
// or protected topic is INVALID_TOPIC_EXCEPTION, as in Kafka
// (topics_protected.go). Errors are per partition, with low watermark -1.

import "github.com/twmb/franz-go/pkg/kmsg"

var deleteRecordsAPI = api{key: 21, min: 0, max: 2, handle: handleDeleteRecords}

func handleDeleteRecords(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		tr := kmsg.NewDeleteRecordsResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewDeleteRecordsResponseTopicPartition()
			pr.Partition = rp.Partition
			start, err := c.s.deleteRecords(rt.Topic, rp.Partition, rp.Offset)
			if err != nil {
				pr.ErrorCode, pr.LowWatermark = errorCode(err), -1
				c.log.Debug("delete records refused", "topic", rt.Topic, "partition", rp.Partition, "offset", rp.Offset, "err", err)
			} else {
				pr.LowWatermark = start
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return ready(resp)
}

// deleteRecords moves one partition's log start offset, returning the new one.
func (s *Server) deleteRecords(topic string, partition int32, offset int64) (int64, error) {
	p, err := s.store.Partition(topic, partition)
	if err != nil {
		return -1, err
	}
	if err := s.refuseProtected("delete records of", topic); err != nil {
		return -1, err
	}
	return p.DeleteRecords(offset)
}
