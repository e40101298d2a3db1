package cluster

import (
	"log/slog"
	"maps"
	"math"
	"slices"
	"time"
)

// ClusterConfig is what the leader assigns: every connector and its task
// count, as read from the config topic up to Offset. A connector with no
// tasks (a STOPPED one, say) still has its Connector object assigned.
type ClusterConfig struct {
	Offset int64
	Tasks  map[string]int
}

// Assignor is the leader's incremental cooperative assignment (KIP-415),
// after Kafka's IncrementalCooperativeAssignor:
//
//   - every configured Connector object and task is assigned to exactly one
//     member; deleted ones and duplicates are revoked;
//   - work stays where it runs unless it must move for balance: connectors
//     and tasks are each spread so members' counts differ by at most one;
//   - work moves in two rounds: a round revokes the surplus of overloaded
//     members, who stop it and rejoin, and the follow-up round assigns it;
//   - work lost with a departed member is held for MaxDelay, every
//     assignment carrying the Delay until then; it goes back to the member
//     if it returns in time (a new member id with the same URL), else to
//     the least loaded members once the delay expires; MaxDelay 0
//     reassigns at once; work lost while its member stayed (it missed an
//     assignment) is reassigned at once;
//   - consecutive revoking rounds back off exponentially (KAFKA-12495):
//     40 ms, 1.6 s, 64 s, … capped at MaxDelay, so joins in quick
//     succession do not make a rebalance storm.
//
// The Assignor remembers the previous round. A worker that becomes leader
// has no memory (or a stale one, when another leader ran rounds since) and
// rebuilds it from what members report running; work of members that
// departed meanwhile is then treated as new and assigned at once.
//
// Results are deterministic: members, connectors and tasks are taken in
// sorted order. An Assignor is not safe for concurrent use; each worker
// keeps one and uses it whenever it leads.
type Assignor struct {
	// MaxDelay is scheduled.rebalance.max.delay.ms.
	MaxDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives decisions at Debug and held or released work at Info;
	// nil discards.
	Logger *slog.Logger

	placed         map[TaskID]string // item → member after the last round; nil: no view
	urls           map[string]string // member → URL at the last round
	lost           map[TaskID]lostWork
	revokedLast    bool      // the last balancing decision revoked
	revokingRounds int       // consecutive revoking rounds, for the backoff
	revokeAfter    time.Time // no balancing revocations before this
}

// lostWork is a Connector object or task whose member departed.
type lostWork struct {
	owner, url string
	deadline   time.Time
}

// Assign computes every member's assignment for the protocol version
// (VersionEager assigns everything round-robin and revokes implicitly).
// If a member read the config topic further than cfg.Offset, every member
// gets ConfigMismatch at that member's offset instead, and must catch up
// and rejoin.
func (a *Assignor) Assign(leaderID, leaderURL string, members map[string]MemberMetadata, cfg ClusterConfig, version int16) map[string]Assignment {
	out := make(map[string]Assignment, len(members))
	if len(members) == 0 {
		return out
	}
	base := Assignment{Version: version, Leader: leaderID, LeaderURL: leaderURL, ConfigOffset: cfg.Offset}
	if newest := maxConfigOffset(members); newest > cfg.Offset {
		a.logger().Info("members read the config topic further than the leader; assigning nothing",
			"leader_offset", cfg.Offset, "member_offset", newest)
		base.Error, base.ConfigOffset = ConfigMismatch, newest
		for id := range members {
			out[id] = base
		}
		return out
	}
	if version <= VersionEager {
		a.forget()
		return assignEager(base, members, cfg)
	}
	r := newRound(a.now(), members, cfg)
	a.checkView(r)
	r.keepHeld(members)
	created := a.created(r)
	released := a.handleLost(r)
	if len(a.lost) > 0 {
		// Balance only once lost work is settled: it may come back.
		a.revokedLast = false
	} else {
		a.balance(r)
	}
	r.assignLeastLoaded(slices.Concat(created, released))
	a.remember(r)
	base.Delay = delayMillis(a.nextRebalance(r.now))
	for _, id := range r.ids {
		out[id] = r.assignment(base, id)
	}
	a.logger().Debug("assigned", "members", len(r.ids), "delay_ms", base.Delay, "held_lost", len(a.lost))
	return out
}

func (a *Assignor) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Assignor) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// forget drops everything remembered from earlier rounds.
func (a *Assignor) forget() {
	a.placed, a.urls, a.lost = nil, nil, nil
	a.revokedLast, a.revokingRounds, a.revokeAfter = false, 0, time.Time{}
}

// checkView forgets the previous placement if it cannot explain what the
// members run: something runs that this leader never placed, so another
// leader ran rounds since (or a revocation did not take effect).
func (a *Assignor) checkView(r *round) {
	if a.placed == nil {
		return
	}
	for item := range r.active {
		_, placed := a.placed[item]
		_, lost := a.lost[item]
		if !placed && !lost {
			a.logger().Debug("previous assignment is stale; rebuilding it from members' allocations", "unknown", item.String())
			a.placed, a.urls = nil, nil
			return
		}
	}
}

// created lists configured work that nobody runs and that was neither
// placed in the last round nor lost: new connectors and tasks, and work
// revoked in the last round.
func (a *Assignor) created(r *round) []TaskID {
	var out []TaskID
	for _, item := range r.items {
		_, placed := a.placed[item]
		_, lost := a.lost[item]
		if !r.active[item] && !placed && !lost {
			out = append(out, item)
		}
	}
	return out
}

// handleLost records work placed last round that nobody runs now. Lost
// work goes back to a member with its owner's URL (a restarted worker);
// it is returned for reassignment when its owner is still a member (it
// missed an assignment), when its delay is over, or when MaxDelay is 0;
// else it stays held.
func (a *Assignor) handleLost(r *round) []TaskID {
	held := 0
	for item, owner := range a.placed {
		if _, ok := a.lost[item]; ok || !r.configured[item] || r.active[item] {
			continue
		}
		if a.lost == nil {
			a.lost = make(map[TaskID]lostWork)
		}
		a.lost[item] = lostWork{owner: owner, url: a.urls[owner], deadline: r.now.Add(a.MaxDelay)}
		held++
	}
	var released []TaskID
	returned := map[string]int{}
	for _, item := range slices.SortedFunc(maps.Keys(a.lost), compareTaskIDs) {
		w := a.lost[item]
		switch back := r.returned(w); {
		case !r.configured[item] || r.active[item]:
			delete(a.lost, item)
		case r.present(w.owner):
			released = append(released, item)
			delete(a.lost, item)
		case back != "":
			r.assign(back, item)
			returned[back]++
			delete(a.lost, item)
		case a.MaxDelay <= 0 || !r.now.Before(w.deadline):
			released = append(released, item)
			delete(a.lost, item)
		}
	}
	log := a.logger()
	if held > 0 && len(a.lost) > 0 {
		log.Info("work lost with departed members is held for the scheduled rebalance delay",
			"count", held, "delay", a.MaxDelay)
	}
	for _, id := range slices.Sorted(maps.Keys(returned)) {
		log.Info("giving lost work back to its restarted worker", "member", id, "url", r.urls[id], "count", returned[id])
	}
	if len(released) > 0 {
		log.Info("reassigning lost work", "count", len(released))
	}
	return released
}

// balance revokes the surplus of overloaded members, unless the previous
// round revoked too and the exponential backoff says to wait.
func (a *Assignor) balance(r *round) {
	surplus := r.surplus()
	switch {
	case len(surplus) == 0:
		if a.revokedLast {
			a.revokedLast, a.revokingRounds = false, 0
		}
		return
	case r.now.Before(a.revokeAfter):
		a.logger().Debug("revocations postponed by the backoff", "until", a.revokeAfter)
		return
	case a.revokedLast:
		a.revokingRounds++
		if wait := a.backoff(); wait > 0 {
			a.revokeAfter = r.now.Add(wait)
			a.revokedLast = false
			a.logger().Info("consecutive revoking rebalances; postponing revocations",
				"rounds", a.revokingRounds, "delay", wait)
			return
		}
	}
	for _, id := range r.ids {
		for _, item := range surplus[id] {
			r.revoke(id, item)
		}
	}
	a.revokedLast = true
}

// backoff is Kafka's consecutive revoking rebalance delay: 40^n ms, at
// most MaxDelay; 0 when MaxDelay is 0.
func (a *Assignor) backoff() time.Duration {
	if a.MaxDelay <= 0 {
		return 0
	}
	d := time.Millisecond
	for range a.revokingRounds {
		if d >= a.MaxDelay {
			break
		}
		d *= 40
	}
	return min(d, a.MaxDelay)
}

// remember keeps this round's placement for the next round.
func (a *Assignor) remember(r *round) {
	a.placed = make(map[TaskID]string, len(r.items)+len(r.active))
	for id, l := range r.next {
		for item := range l.items {
			a.placed[item] = id
		}
	}
	a.urls = r.urls
}

// nextRebalance is how long until held work is due or the revocation
// backoff ends; 0 if neither is pending.
func (a *Assignor) nextRebalance(now time.Time) time.Duration {
	var next time.Duration
	earliest := func(t time.Time) {
		if d := t.Sub(now); d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	for _, w := range a.lost {
		earliest(w.deadline)
	}
	earliest(a.revokeAfter)
	return next
}

// delayMillis rounds d up to whole milliseconds, so that a member rejoining
// after Delay finds the deadline passed.
func delayMillis(d time.Duration) int32 {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return int32(min(int64(ms), math.MaxInt32))
}

func maxConfigOffset(members map[string]MemberMetadata) int64 {
	newest := int64(math.MinInt64)
	for _, md := range members {
		newest = max(newest, md.ConfigOffset)
	}
	return newest
}

// assignEager is Kafka's EagerAssignor: members in id order take the
// connectors in name order round-robin, each connector followed by its
// tasks.
func assignEager(base Assignment, members map[string]MemberMetadata, cfg ClusterConfig) map[string]Assignment {
	ids := slices.Sorted(maps.Keys(members))
	all := make([]Assignment, len(ids))
	for i := range all {
		all[i] = base
	}
	next := 0
	take := func() *Assignment {
		x := &all[next%len(all)]
		next++
		return x
	}
	for _, c := range slices.Sorted(maps.Keys(cfg.Tasks)) {
		x := take()
		x.Connectors = append(x.Connectors, c)
		for t := range max(cfg.Tasks[c], 0) {
			x := take()
			x.Tasks = append(x.Tasks, TaskID{Connector: c, Task: int32(t)})
		}
	}
	out := make(map[string]Assignment, len(ids))
	for i, id := range ids {
		out[id] = all[i]
	}
	return out
}

// compareTaskIDs orders by connector, then task, the Connector object first.
func compareTaskIDs(x, y TaskID) int {
	if x.Connector != y.Connector {
		if x.Connector < y.Connector {
			return -1
		}
		return 1
	}
	return int(x.Task) - int(y.Task)
}
