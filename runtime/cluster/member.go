package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Handler is the worker behind a Member. The Member calls it from Run's
// goroutine only, one call at a time, with Run's context.
type Handler interface {
	// Metadata is what this worker sends in JoinGroup (its URL, config
	// offset and current allocation). It is called before every join.
	Metadata() MemberMetadata
	// Assign runs on the leader with every member's metadata, whose Version
	// is the version of the protocol the coordinator chose; it returns each
	// member's assignment. It must return well within the session timeout.
	// An error fails this rebalance; the member retries it.
	Assign(ctx context.Context, generation int32, members map[string]MemberMetadata) (map[string]Assignment, error)
	// Assigned delivers this member's assignment after SyncGroup. The
	// handler must stop everything in Revoked before returning (no
	// zombies); it may start the assigned work asynchronously. Under the
	// eager protocol (Version 0) Revoked lists everything assigned before,
	// which a V0 assignment revokes implicitly. With Error ConfigMismatch
	// the handler reads the config topic to ConfigOffset and calls Rejoin.
	// After revocations the member rejoins by itself, and after Delay
	// milliseconds too.
	Assigned(ctx context.Context, generation int32, memberID string, a Assignment)
	// Lost is called when the member left the group without a clean
	// rebalance (session expired, fenced): it must stop all its work at
	// once. The member then joins again as a newcomer.
	Lost(ctx context.Context)
}

// Options configure a Member.
type Options struct {
	// Client talks to the cluster; group requests go to the group's
	// coordinator. The Member does not close it; close it after Run returns.
	Client *kgo.Client
	// GroupID is the Connect cluster's group.id.
	GroupID string
	// Protocol is connect.protocol: ModeEager, ModeCompatible or
	// ModeSessioned (the default when empty).
	Protocol string
	// SessionTimeout, RebalanceTimeout and HeartbeatInterval default to
	// Kafka Connect's 10 s, 60 s and 3 s.
	SessionTimeout, RebalanceTimeout, HeartbeatInterval time.Duration
	// Logger receives membership changes; nil discards.
	Logger *slog.Logger
	// Handler is the worker.
	Handler Handler
}

func (o Options) withDefaults() Options {
	if o.Protocol == "" {
		o.Protocol = ModeSessioned
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.RebalanceTimeout == 0 {
		o.RebalanceTimeout = 60 * time.Second
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// validate reports every problem at once.
func (o Options) validate() error {
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("a Kafka client is required"))
	}
	if o.GroupID == "" {
		errs = append(errs, errors.New("group.id is required"))
	}
	if o.Handler == nil {
		errs = append(errs, errors.New("a Handler is required"))
	}
	if _, err := offers(o.Protocol); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]time.Duration{"session.timeout.ms": o.SessionTimeout,
		"rebalance.timeout.ms": o.RebalanceTimeout, "heartbeat.interval.ms": o.HeartbeatInterval} {
		if d < time.Millisecond || d.Milliseconds() > math.MaxInt32 {
			errs = append(errs, fmt.Errorf("%s %v: want between 1 ms and %d ms", name, d, math.MaxInt32))
		}
	}
	if o.HeartbeatInterval >= o.SessionTimeout {
		errs = append(errs, fmt.Errorf("heartbeat.interval.ms %v must be below session.timeout.ms %v", o.HeartbeatInterval, o.SessionTimeout))
	}
	return errors.Join(errs...)
}

// Member is one worker's membership in the Connect group: it joins, syncs,
// heartbeats and rejoins, and tells its Handler what to run.
type Member struct {
	o       Options
	log     *slog.Logger
	offers  []offer
	rejoin  chan struct{} // Rejoin requests, at most one pending
	running atomic.Bool
	contact atomic.Int64 // unix nanos of the coordinator's last good answer

	mu    sync.Mutex
	state memberState

	// Owned by Run's goroutine.
	memberID    string
	alloc       Allocation // what the Handler was told to run
	delivered   int32      // the generation last delivered to the Handler
	deliveredTo string     // and the member id it was delivered as

	skipLeave atomic.Bool // test hook: exit without LeaveGroup, as a crash would
}

// memberState is what State reports.
type memberState struct {
	generation         int32
	memberID, leaderID string
	stable             bool
}

// NewMember checks o and returns a Member; it starts nothing.
func NewMember(o Options) (*Member, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("worker group member: %w", err)
	}
	list, _ := offers(o.Protocol)
	return &Member{
		o:         o,
		log:       o.Logger.With("group", o.GroupID),
		offers:    list,
		rejoin:    make(chan struct{}, 1),
		state:     memberState{generation: -1},
		delivered: -1,
	}, nil
}

// Run is the membership: join, sync, heartbeat, rejoin on
// REBALANCE_IN_PROGRESS or when asked, until ctx ends. It then sends
// LeaveGroup (for at most 5 s) so the group rebalances at once, and
// returns nil. It returns an error only for what retrying cannot fix: a
// protocol the group does not share, a session timeout the coordinator
// refuses, a denied group.
func (m *Member) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("worker group member is already running")
	}
	defer m.running.Store(false)
	defer m.leave()
	var retry backoff
	for ctx.Err() == nil {
		err := m.generation(ctx)
		switch {
		case err == nil:
			retry = backoff{}
		case fatal(err):
			return err
		default:
			m.recover(ctx, err, &retry)
		}
	}
	return nil
}

// Rejoin asks for a rebalance (the config changed, or the assignment's
// Delay expired); it does not block. A follower whose metadata did not
// change may get the current generation back from a Kafka coordinator; the
// leader's rejoin always starts a new one.
func (m *Member) Rejoin() {
	select {
	case m.rejoin <- struct{}{}:
	default:
	}
}

// State is the current generation, this member's id and the leader's;
// ok is false while rebalancing or before the first assignment.
func (m *Member) State() (generation int32, memberID, leaderID string, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state
	return s.generation, s.memberID, s.leaderID, s.stable
}

func (m *Member) setState(s memberState) {
	m.mu.Lock()
	m.state = s
	m.mu.Unlock()
}

func (m *Member) unstable() {
	m.mu.Lock()
	m.state.stable = false
	m.mu.Unlock()
}

func (m *Member) touch() { m.contact.Store(time.Now().UnixNano()) }

func (m *Member) sinceContact() time.Duration {
	return time.Since(time.Unix(0, m.contact.Load()))
}

// fatal reports errors that rejoining cannot fix.
func fatal(err error) bool {
	for _, e := range []error{kerr.InconsistentGroupProtocol, kerr.InvalidSessionTimeout,
		kerr.GroupAuthorizationFailed, kerr.InvalidGroupID, kerr.GroupMaxSizeReached} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// recover decides how to go on after a failed generation: rejoin at once
// during a rebalance, stop all work first when the membership is gone, back
// off when the coordinator is unavailable.
func (m *Member) recover(ctx context.Context, err error, retry *backoff) {
	switch {
	case ctx.Err() != nil:
	case errors.Is(err, kerr.RebalanceInProgress):
		m.log.Debug("worker group is rebalancing; rejoining")
	case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.FencedInstanceID):
		m.lose(ctx, err)
		m.memberID = ""
	case errors.Is(err, kerr.IllegalGeneration), errors.Is(err, errSessionExpired):
		m.lose(ctx, err)
	default:
		wait := retry.next()
		m.log.Warn("worker group request failed; retrying", "err", err, "backoff", wait)
		if m.sinceContact() > m.o.SessionTimeout {
			m.lose(ctx, fmt.Errorf("%w: %w", errSessionExpired, err))
		}
		sleep(ctx, wait)
	}
}

// lose stops all work after the membership was lost.
func (m *Member) lose(ctx context.Context, cause error) {
	if len(m.alloc.Connectors)+len(m.alloc.Tasks) == 0 {
		return
	}
	m.log.Warn("lost worker group membership; stopping all connectors and tasks", "cause", cause)
	m.o.Handler.Lost(ctx)
	m.alloc, m.delivered = Allocation{}, -1
}

// leave sends LeaveGroup so the group rebalances without waiting for the
// session to expire.
func (m *Member) leave() {
	m.unstable()
	if m.memberID == "" || m.skipLeave.Load() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(5*time.Second, m.o.SessionTimeout))
	defer cancel()
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = m.o.GroupID, m.memberID
	who := kmsg.NewLeaveGroupRequestMember()
	who.MemberID, who.Reason = m.memberID, kmsg.StringPtr("the worker is stopping")
	req.Members = []kmsg.LeaveGroupRequestMember{who}
	resp, err := req.RequestWith(ctx, m.o.Client)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
		if err == nil && len(resp.Members) > 0 {
			err = kerr.ErrorForCode(resp.Members[0].ErrorCode)
		}
	}
	if err != nil {
		m.log.Warn("leave worker group", "member", m.memberID, "err", err)
	} else {
		m.log.Info("left worker group", "member", m.memberID)
	}
	m.memberID = ""
}

// backoff is the wait between failed attempts: 100 ms doubling to 2 s.
type backoff struct{ n int }

func (b *backoff) next() time.Duration {
	d := min(100*time.Millisecond<<min(b.n, 5), 2*time.Second)
	b.n++
	return d
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func millis(d time.Duration) int32 { return int32(d.Milliseconds()) }
