package broker

// ListOffsets: v0-7.
//
// Timestamp -2 answers the log start offset, -1 the high watermark (also the
// last stable offset: there are no open transactions), -3 (v7+, KIP-734) the
// record with the largest timestamp; any other timestamp answers the first
// record at or after it, found through the time index, or offset -1 with
// timestamp -1 when there is none. v0 answers in OldStyleOffsets. A
// partition named more than once is answered INVALID_REQUEST at every
// occurrence, as Kafka does.

import (
	"errors"

	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var listOffsetsAPI = api{key: 2, min: 0, max: 7, handle: handleListOffsets}

const (
	timestampLatest   = -1
	timestampEarliest = -2
	timestampMax      = -3
)

var errBadTimestamp = errors.New("unsupported ListOffsets timestamp")

func handleListOffsets(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.ListOffsetsRequest)
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	dups := duplicateListOffsets(req)
	for _, rt := range req.Topics {
		tr := kmsg.NewListOffsetsResponseTopic()
		tr.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewListOffsetsResponseTopicPartition()
			pr.Partition = rp.Partition
			pr.LeaderEpoch = log.LeaderEpoch
			if _, dup := dups[topicPartition{rt.Topic, rp.Partition}]; dup {
				pr.ErrorCode = kerr.InvalidRequest.Code
				pr.Offset, pr.Timestamp = -1, -1
				tr.Partitions = append(tr.Partitions, pr)
				continue
			}
			off, ts, err := c.s.listOffset(rt.Topic, rp, req.IsolationLevel)
			switch {
			case errors.Is(err, errBadTimestamp):
				pr.ErrorCode = kerr.InvalidRequest.Code
			case err != nil:
				pr.ErrorCode = errorCode(err)
			case req.Version == 0:
				if off >= 0 && rp.MaxNumOffsets > 0 {
					pr.OldStyleOffsets = []int64{off}
				}
			default:
				pr.Offset, pr.Timestamp = off, ts
			}
			tr.Partitions = append(tr.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return ready(resp)
}

type topicPartition struct {
	topic     string
	partition int32
}

// duplicateListOffsets returns the partitions a request names more than
// once. Kafka answers every occurrence of them INVALID_REQUEST rather than
// pick one.
func duplicateListOffsets(req *kmsg.ListOffsetsRequest) map[topicPartition]struct{} {
	var seen, dups map[topicPartition]struct{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			k := topicPartition{rt.Topic, rp.Partition}
			if seen == nil {
				seen = map[topicPartition]struct{}{}
			}
			if _, ok := seen[k]; !ok {
				seen[k] = struct{}{}
				continue
			}
			if dups == nil {
				dups = map[topicPartition]struct{}{}
			}
			dups[k] = struct{}{}
		}
	}
	return dups
}

func (s *Server) listOffset(topic string, rp kmsg.ListOffsetsRequestTopicPartition, isolation int8) (int64, int64, error) {
	part, err := s.store.Partition(topic, rp.Partition)
	if err != nil {
		return -1, -1, err
	}
	switch {
	case rp.CurrentLeaderEpoch > log.LeaderEpoch:
		return -1, -1, errUnknownLeaderEpoch
	}
	start, hw := part.Offsets()
	switch rp.Timestamp {
	case timestampEarliest:
		return start, -1, nil
	case timestampLatest:
		if isolation == 1 {
			return part.LastStableOffset(), -1, nil
		}
		return hw, -1, nil
	case timestampMax:
		return part.MaxTimestamp()
	}
	if rp.Timestamp < 0 {
		return -1, -1, errBadTimestamp
	}
	return part.OffsetForTimestamp(rp.Timestamp)
}

var errUnknownLeaderEpoch = errors.New("leader epoch is newer than the broker's")
