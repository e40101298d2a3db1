package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Election: instances join one consumer group with protocol type "sr"
// (Confluent's schema registry protocol type). The coordinator picks a
// group leader; the leader names itself primary in every member's
// assignment, so all members agree on one primary per generation. A
// member that loses its session rejoins and learns the new primary.

const (
	srProtocolType    = "sr"
	srProtocol        = "v0"
	sessionTimeout    = 10 * time.Second
	heartbeatInterval = time.Second
)

// identity is a member's metadata and the assignment's primary: where it
// serves the REST API.
type identity struct {
	Version int    `json:"version"`
	URL     string `json:"url"`
}

// assignment is what the leader gives every member.
type assignment struct {
	Version int      `json:"version"`
	Master  string   `json:"master"`
	Primary identity `json:"master_identity"`
}

// elector holds the current primary.
type elector struct {
	client *kgo.Client
	group  string
	self   identity
	srv    *Server

	mu         sync.Mutex
	primary    string        // URL; "" while unknown
	generation int32         // the group generation that elected primary
	known      chan struct{} // closed and replaced when primary changes
	memberID   string

	// frozen, when set, holds heartbeats until the channel is closed: a
	// test seam for a primary paused past its session, which goes on
	// believing it is primary while the group elects another.
	frozen atomic.Pointer[chan struct{}]
}

func newElector(client *kgo.Client, group, url string, srv *Server) *elector {
	return &elector{client: client, group: group, self: identity{Version: 1, URL: url}, srv: srv, known: make(chan struct{})}
}

// current returns the primary's URL, waiting up to ctx for one to be
// elected.
func (e *elector) current(ctx context.Context) (string, error) {
	primary, _, err := e.currentTerm(ctx)
	return primary, err
}

// currentTerm is current with the generation that elected the primary,
// the term a primary fences its predecessors in (fence.go).
func (e *elector) currentTerm(ctx context.Context) (string, int32, error) {
	for {
		e.mu.Lock()
		primary, gen, known := e.primary, e.generation, e.known
		e.mu.Unlock()
		if primary != "" {
			return primary, gen, nil
		}
		select {
		case <-known:
		case <-ctx.Done():
			return "", 0, newAPIError(codeUnknownLeader, "Unknown leader: no primary elected yet")
		}
	}
}

func (e *elector) setPrimary(url string, generation int32) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if url != e.primary {
		e.srv.log.Info("schema registry primary", "url", url, "self", url == e.self.URL, "generation", generation)
	}
	e.primary, e.generation = url, generation
	close(e.known)
	e.known = make(chan struct{})
}

// run takes part in the election until ctx ends, then leaves the group.
func (e *elector) run(ctx context.Context) {
	defer e.leave()
	for ctx.Err() == nil {
		gen, err := e.join(ctx)
		if err == nil {
			if primary, _, _ := e.currentTerm(ctx); primary == e.self.URL {
				e.srv.claimOnElection(ctx)
			}
			err = e.heartbeat(ctx, gen)
		}
		if ctx.Err() != nil {
			return
		}
		e.setPrimary("", 0)
		if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.FencedInstanceID) {
			e.memberID = ""
		}
		if !errors.Is(err, kerr.RebalanceInProgress) {
			e.srv.log.Warn("schema registry election failed; retrying", "error", err)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}
}

// join runs JoinGroup and SyncGroup and returns the generation.
func (e *elector) join(ctx context.Context) (int32, error) {
	meta, _ := json.Marshal(e.self)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Group, req.MemberID, req.ProtocolType = e.group, e.memberID, srProtocolType
	req.SessionTimeoutMillis = int32(sessionTimeout.Milliseconds())
	req.RebalanceTimeoutMillis = int32(sessionTimeout.Milliseconds())
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = srProtocol, meta
	req.Protocols = append(req.Protocols, p)
	resp, err := req.RequestWith(ctx, e.client)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if errors.Is(err, kerr.MemberIDRequired) {
		e.memberID = resp.MemberID
		return e.join(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("join group %s: %w", e.group, err)
	}
	e.memberID = resp.MemberID
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.Generation, sync.MemberID = e.group, resp.Generation, resp.MemberID
	sync.ProtocolType, sync.Protocol = kmsg.StringPtr(srProtocolType), kmsg.StringPtr(srProtocol)
	if resp.LeaderID == resp.MemberID {
		a, _ := json.Marshal(assignment{Version: 1, Master: resp.MemberID, Primary: e.self})
		for _, m := range resp.Members {
			ga := kmsg.NewSyncGroupRequestGroupAssignment()
			ga.MemberID, ga.MemberAssignment = m.MemberID, a
			sync.GroupAssignment = append(sync.GroupAssignment, ga)
		}
	}
	synced, err := sync.RequestWith(ctx, e.client)
	if err == nil {
		err = kerr.ErrorForCode(synced.ErrorCode)
	}
	if err != nil {
		return 0, fmt.Errorf("sync group %s: %w", e.group, err)
	}
	var got assignment
	if err := json.Unmarshal(synced.MemberAssignment, &got); err != nil {
		return 0, fmt.Errorf("decode assignment of group %s: %w", e.group, err)
	}
	e.setPrimary(got.Primary.URL, resp.Generation)
	return resp.Generation, nil
}

// heartbeat keeps the membership until it ends (rebalance, session loss)
// or ctx ends.
func (e *elector) heartbeat(ctx context.Context, gen int32) error {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if frozen := e.frozen.Load(); frozen != nil {
			select {
			case <-*frozen:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.Generation, req.MemberID = e.group, gen, e.memberID
		resp, err := req.RequestWith(ctx, e.client)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil {
			return fmt.Errorf("heartbeat in group %s: %w", e.group, err)
		}
	}
}

// leave sends LeaveGroup so the others elect a new primary at once.
func (e *elector) leave() {
	if e.memberID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = e.group, e.memberID
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID = e.memberID
	req.Members = append(req.Members, m)
	_, _ = req.RequestWith(ctx, e.client)
}
