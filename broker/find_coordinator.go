package broker

// FindCoordinator: v0-4.
//
// This node coordinates every group and transactional id (key types 0 and
// 1); v4 answers a batch of keys. For groups, __consumer_offsets is created
// first if it is missing, as Kafka does (COORDINATOR_NOT_AVAILABLE if that
// fails). Served now, ahead of the group and
// transaction APIs, because librdkafka 2.0.2 takes FindCoordinator v0 as its
// sign that a broker understands lz4 and otherwise sends lz4 batches
// uncompressed.

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var findCoordinatorAPI = api{key: 10, min: 0, max: 4, handle: handleFindCoordinator}

func handleFindCoordinator(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	s := c.s
	var code int16
	var msg *string
	switch req.CoordinatorType {
	case 0:
		// As Kafka does, make sure the offsets topic exists before naming a
		// coordinator, so groups work again after it was lost.
		if err := s.groups.EnsureOffsetsTopic(); err != nil {
			c.log.Warn("group coordinator unavailable", "err", err)
			code = kerr.CoordinatorNotAvailable.Code
			msg = kmsg.StringPtr("the group coordinator cannot open or create __consumer_offsets; see the broker log")
		}
	case 1:
	default:
		code = kerr.InvalidRequest.Code
		msg = errorMessage(fmt.Errorf("coordinator type %d: want 0 (group) or 1 (transaction)", req.CoordinatorType))
	}
	if req.Version < 4 {
		resp.ErrorCode, resp.ErrorMessage = code, msg
		if code == 0 {
			resp.NodeID, resp.Host, resp.Port = s.cfg.NodeID, s.cfg.AdvertisedHost, s.cfg.AdvertisedPort
		}
		return ready(resp)
	}
	for _, key := range req.CoordinatorKeys {
		co := kmsg.NewFindCoordinatorResponseCoordinator()
		co.Key, co.ErrorCode, co.ErrorMessage = key, code, msg
		if code == 0 {
			co.NodeID, co.Host, co.Port = s.cfg.NodeID, s.cfg.AdvertisedHost, s.cfg.AdvertisedPort
		} else {
			co.NodeID, co.Port = -1, -1
		}
		resp.Coordinators = append(resp.Coordinators, co)
	}
	return ready(resp)
}
