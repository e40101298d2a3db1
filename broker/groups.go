package broker

// JoinGroup v0-9, SyncGroup v0-5, Heartbeat v0-4, LeaveGroup v0-5.
//
// The classic group protocol, served by the coordinator in broker/group.
// JoinGroup and SyncGroup wait for the rest of the group, so they are
// answered later, without blocking the connection's reader. JoinGroup v4+
// makes a new dynamic member join twice (MEMBER_ID_REQUIRED); v5+ carries
// group.instance.id for static membership. JoinGroup v0 has no rebalance
// timeout: the session timeout stands in, as in Kafka. LeaveGroup v3+ takes
// a batch of members. Heartbeat answers REBALANCE_IN_PROGRESS while the
// group rebalances.

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	joinGroupAPI  = api{key: 11, min: 0, max: 9, handle: handleJoinGroup}
	heartbeatAPI  = api{key: 12, min: 0, max: 4, handle: handleHeartbeat}
	leaveGroupAPI = api{key: 13, min: 0, max: 5, handle: handleLeaveGroup}
	syncGroupAPI  = api{key: 14, min: 0, max: 5, handle: handleSyncGroup}
)

// groupConfig reads the group coordinator's broker properties.
func groupConfig(props map[string]string) (group.Config, error) {
	var cfg group.Config
	// New reads the broker properties only through groupConfig and
	// txnConfig: a bad protected-topics list is caught here, at start.
	if err := checkProtectedTopics(props); err != nil {
		return cfg, err
	}
	ms := func(key string, def int64) (time.Duration, error) {
		v, ok := props[key]
		if !ok {
			return time.Duration(def) * time.Millisecond, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s=%q: want a whole number of milliseconds", key, v)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	var err error
	if cfg.MinSessionTimeout, err = ms("group.min.session.timeout.ms", 6000); err != nil {
		return cfg, err
	}
	if cfg.MaxSessionTimeout, err = ms("group.max.session.timeout.ms", 1800000); err != nil {
		return cfg, err
	}
	if cfg.InitialRebalanceDelay, err = ms("group.initial.rebalance.delay.ms", 0); err != nil {
		return cfg, err
	}
	cfg.OffsetsPartitions = 50
	if v, ok := props["offsets.topic.num.partitions"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return cfg, fmt.Errorf("offsets.topic.num.partitions=%q: want a whole number from 1 to 10000", v)
		}
		cfg.OffsetsPartitions = n
	}
	if v, ok := props["offsets.topic.segment.bytes"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1<<20 {
			// The topic's segment.bytes, which Kafka 4.0 wants at least 1 MiB.
			return cfg, fmt.Errorf("offsets.topic.segment.bytes=%q: want a whole number of bytes, at least 1048576", v)
		}
		cfg.OffsetsSegmentBytes = n
	}
	metadata, err := wholeNumber(props, "offset.metadata.max.bytes", 4096, 1, math.MaxInt32)
	if err != nil {
		return cfg, err
	}
	cfg.MaxMetadataSize = int(metadata)
	minutes, err := wholeNumber(props, "offsets.retention.minutes", 10080, 1, math.MaxInt32)
	if err != nil {
		return cfg, err
	}
	cfg.OffsetsRetention = time.Duration(minutes) * time.Minute
	check, err := wholeNumber(props, "offsets.retention.check.interval.ms", 600000, 1, math.MaxInt64/int64(time.Millisecond))
	if err != nil {
		return cfg, err
	}
	cfg.OffsetsRetentionCheckInterval = time.Duration(check) * time.Millisecond
	return cfg, nil
}

// wholeNumber reads an integer broker property in [lo, hi] (Kafka's INT or
// LONG with atLeast), or def when it is not set.
func wholeNumber(props map[string]string, key string, def, lo, hi int64) (int64, error) {
	v, ok := props[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s=%q: want a whole number from %d to %d", key, v, lo, hi)
	}
	return n, nil
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func handleJoinGroup(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.JoinGroupRequest)
	jr := group.JoinRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: str(req.InstanceID),
		ClientID: c.clientID, ClientHost: hostOf(c),
		ProtocolType:     req.ProtocolType,
		SessionTimeout:   time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout: time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond,
		RequireMemberID:  req.Version >= 4,
	}
	if req.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	for _, p := range req.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	return c.later(func() kmsg.Response {
		res := c.s.groups.Join(c.ctx, jr)
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = errorCode(res.Err)
		resp.MemberID = res.MemberID
		resp.Generation = -1
		if res.Err != nil {
			return resp
		}
		resp.Generation, resp.LeaderID = res.Generation, res.Leader
		resp.Protocol, resp.ProtocolType = &res.Protocol, &res.ProtocolType
		for _, m := range res.Members {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.ProtocolMetadata = m.MemberID, m.Metadata
			if m.InstanceID != "" {
				rm.InstanceID = &m.InstanceID
			}
			resp.Members = append(resp.Members, rm)
		}
		return resp
	})
}

func hostOf(c *conn) string {
	if a, ok := c.nc.RemoteAddr().(*net.TCPAddr); ok {
		return "/" + a.IP.String()
	}
	return "/" + c.nc.RemoteAddr().String()
}

func handleSyncGroup(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.SyncGroupRequest)
	sr := group.SyncRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: str(req.InstanceID),
		Generation: req.Generation, ProtocolType: str(req.ProtocolType), Protocol: str(req.Protocol),
		Assignments: map[string][]byte{},
	}
	for _, a := range req.GroupAssignment {
		sr.Assignments[a.MemberID] = a.MemberAssignment
	}
	return c.later(func() kmsg.Response {
		res := c.s.groups.Sync(c.ctx, sr)
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = errorCode(res.Err)
		if res.Err == nil {
			resp.ProtocolType, resp.Protocol = &res.ProtocolType, &res.Protocol
			resp.MemberAssignment = res.Assignment
		}
		return resp
	})
}

func handleHeartbeat(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = errorCode(c.s.groups.Heartbeat(req.Group, req.MemberID, str(req.InstanceID), req.Generation))
	return ready(resp)
}

func handleLeaveGroup(c *conn, kreq kmsg.Request) *pending {
	req := kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leavers := []group.Leaver{{MemberID: req.MemberID}}
	if req.Version >= 3 {
		leavers = leavers[:0]
		for _, m := range req.Members {
			leavers = append(leavers, group.Leaver{MemberID: m.MemberID, InstanceID: str(m.InstanceID)})
		}
	}
	errs, err := c.s.groups.Leave(req.Group, leavers)
	resp.ErrorCode = errorCode(err)
	if req.Version < 3 {
		if err == nil && len(errs) == 1 {
			resp.ErrorCode = errorCode(errs[0])
		}
		return ready(resp)
	}
	for i, m := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID = m.MemberID, m.InstanceID
		if err == nil {
			rm.ErrorCode = errorCode(errs[i])
		}
		resp.Members = append(resp.Members, rm)
	}
	return ready(resp)
}
