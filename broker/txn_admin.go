package broker

// ListTransactions v0-1, DescribeTransactions v0, DescribeProducers v0.
//
// Operator views of transactions (kafka-transactions.sh, kadm).
// ListTransactions filters by state, producer id and (v1) minimum running
// time; unknown state names come back in UnknownStateFilters.
// DescribeTransactions answers TRANSACTIONAL_ID_NOT_FOUND for an unknown
// id. DescribeProducers lists, per partition, the producers whose state the
// log holds, with the start offset of each one's open transaction (-1 if
// none). v2 of ListTransactions (a transactional id pattern) is not served.

import (
	"time"

	"github.com/sluicehq/sluice/broker/txn"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	listTransactionsAPI     = api{key: 66, min: 0, max: 1, handle: handleListTransactions}
	describeTransactionsAPI = api{key: 65, min: 0, max: 0, handle: handleDescribeTransactions}
	describeProducersAPI    = api{key: 61, min: 0, max: 0, handle: handleDescribeProducers}
)

func handleListTransactions(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.ListTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	var states []string
	for _, s := range req.StateFilters {
		if txn.KnownState(s) {
			states = append(states, s)
		} else {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
		}
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		return ready(resp) // every filter unknown: nothing matches
	}
	var minDuration time.Duration
	if req.Version >= 1 && req.DurationFilterMillis > 0 {
		minDuration = time.Duration(req.DurationFilterMillis) * time.Millisecond
	}
	for _, l := range c.s.txns.List(states, req.ProducerIDFilters, minDuration) {
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = l.TransactionalID, l.ProducerID, l.State
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return ready(resp)
}

func handleDescribeTransactions(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DescribeTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID = id
		d := c.s.txns.Describe(id)
		if !d.Found {
			st.ErrorCode = kerr.TransactionalIDNotFound.Code
			st.ProducerID, st.ProducerEpoch, st.StartTimestamp = -1, -1, -1
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		st.State, st.TimeoutMillis, st.StartTimestamp = d.State, int32(d.Timeout/time.Millisecond), d.StartTimestamp
		st.ProducerID, st.ProducerEpoch = d.Producer.ID, d.Producer.Epoch
		for _, tp := range d.Partitions {
			if n := len(st.Topics); n == 0 || st.Topics[n-1].Topic != tp.Topic {
				t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
				t.Topic = tp.Topic
				st.Topics = append(st.Topics, t)
			}
			t := &st.Topics[len(st.Topics)-1]
			t.Partitions = append(t.Partitions, tp.Partition)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return ready(resp)
}

func handleDescribeProducers(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewDescribeProducersResponseTopic()
		t.Topic = rt.Topic
		for _, id := range rt.Partitions {
			p := kmsg.NewDescribeProducersResponseTopicPartition()
			p.Partition = id
			part, err := c.s.store.Partition(rt.Topic, id)
			if err != nil {
				p.ErrorCode, p.ErrorMessage = errorCode(err), errorMessage(err)
				t.Partitions = append(t.Partitions, p)
				continue
			}
			for _, info := range part.Producers() {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID, ap.ProducerEpoch, ap.LastSequence = info.ProducerID, int32(info.Epoch), info.LastSequence
				ap.LastTimestamp, ap.CurrentTxnStartOffset = info.LastTimestamp, info.TxnStartOffset
				p.ActiveProducers = append(p.ActiveProducers, ap)
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return ready(resp)
}
