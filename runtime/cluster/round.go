package cluster

import (
	"maps"
	"slices"
	"time"
)

// Kinds of work, balanced separately.
const (
	kindConnector = iota
	kindTask
	numKinds
)

func kindOf(t TaskID) int {
	if t.Task == ConnectorTask {
		return kindConnector
	}
	return kindTask
}

// round is one cooperative assignment in progress.
type round struct {
	now        time.Time
	ids        []string          // member ids, sorted
	urls       map[string]string // member → URL
	configured map[TaskID]bool
	items      []TaskID      // configured work, sorted
	total      [numKinds]int // configured work by kind
	active     map[TaskID]bool
	next       map[string]*load // what each member runs after this round
	added      map[string][]TaskID
	fresh      map[TaskID]bool // given to some member this round
	revoked    map[string][]TaskID
}

// load is a member's work by kind.
type load struct {
	items map[TaskID]bool
	n     [numKinds]int
}

func newRound(now time.Time, members map[string]MemberMetadata, cfg ClusterConfig) *round {
	size := 0 // sizing the maps up front halves the time of a large round
	for _, n := range cfg.Tasks {
		size += 1 + max(n, 0)
	}
	r := &round{
		now:        now,
		ids:        slices.Sorted(maps.Keys(members)),
		urls:       make(map[string]string, len(members)),
		configured: make(map[TaskID]bool, size),
		items:      make([]TaskID, 0, size),
		active:     make(map[TaskID]bool, size),
		next:       make(map[string]*load, len(members)),
		added:      make(map[string][]TaskID),
		fresh:      make(map[TaskID]bool),
		revoked:    make(map[string][]TaskID),
	}
	for _, id := range r.ids {
		r.urls[id] = members[id].URL
		r.next[id] = &load{items: make(map[TaskID]bool, size/len(members)+1)}
	}
	for _, c := range slices.Sorted(maps.Keys(cfg.Tasks)) {
		r.configure(TaskID{Connector: c, Task: ConnectorTask})
		for t := range max(cfg.Tasks[c], 0) {
			r.configure(TaskID{Connector: c, Task: int32(t)})
		}
	}
	return r
}

func (r *round) configure(item TaskID) {
	r.configured[item] = true
	r.items = append(r.items, item)
	r.total[kindOf(item)]++
}

// keepHeld keeps what each member runs, revoking deleted work and every
// copy of duplicated work but the first member's.
func (r *round) keepHeld(members map[string]MemberMetadata) {
	holder := make(map[TaskID]string, len(r.items))
	for _, id := range r.ids {
		alloc := members[id].Allocation
		held := make([]TaskID, 0, len(alloc.Connectors)+len(alloc.Tasks))
		for _, c := range alloc.Connectors {
			held = append(held, TaskID{Connector: c, Task: ConnectorTask})
		}
		held = append(held, alloc.Tasks...)
		for _, item := range held {
			r.active[item] = true
			first, dup := holder[item]
			switch {
			case dup && first == id: // listed twice by the same member
			case !r.configured[item] || dup:
				r.revoked[id] = append(r.revoked[id], item)
			default:
				holder[item] = id
				r.next[id].add(item)
			}
		}
	}
}

// returned is the member lost work goes back to: the first member with
// the owner's URL (a restarted worker); "" if none.
func (r *round) returned(w lostWork) string {
	if w.url == "" {
		return ""
	}
	for _, id := range r.ids {
		if r.urls[id] == w.url {
			return id
		}
	}
	return ""
}

// present reports whether id is a member this round.
func (r *round) present(id string) bool {
	_, ok := r.next[id]
	return ok
}

// assign gives a member new work.
func (r *round) assign(id string, item TaskID) {
	r.next[id].add(item)
	r.added[id] = append(r.added[id], item)
	r.fresh[item] = true
}

// revoke takes work a member runs away from it.
func (r *round) revoke(id string, item TaskID) {
	r.next[id].remove(item)
	r.revoked[id] = append(r.revoked[id], item)
}

// assignLeastLoaded gives each item, in order, to the member running the
// fewest of its kind (the lowest id among equals).
func (r *round) assignLeastLoaded(items []TaskID) {
	slices.SortFunc(items, compareTaskIDs)
	for _, item := range items {
		k := kindOf(item)
		best := r.ids[0]
		for _, id := range r.ids[1:] {
			if r.next[id].n[k] < r.next[best].n[k] {
				best = id
			}
		}
		r.assign(best, item)
	}
}

// surplus is what to revoke from each member so that no member runs more
// than its fair share of each kind once the rest is assigned: with W
// members and N configured items, W-N%W members may keep N/W and N%W may
// keep one more. The extra places go first to members already at that
// count, so fewer members are disturbed; the revoked items are the last
// in order.
func (r *round) surplus() map[string][]TaskID {
	out := make(map[string][]TaskID)
	for k := range numKinds {
		if r.total[k] == 0 {
			continue
		}
		fair, extra := r.total[k]/len(r.ids), r.total[k]%len(r.ids)
		caps := make(map[string]int, len(r.ids))
		for _, id := range r.ids {
			if n := r.next[id].n[k]; n == fair+1 && extra > 0 {
				caps[id] = fair + 1
				extra--
			}
		}
		for _, id := range r.ids {
			n := r.next[id].n[k]
			if _, ok := caps[id]; ok || n <= fair {
				continue
			}
			limit := fair
			if extra > 0 {
				limit, extra = fair+1, extra-1
			}
			// Only what the member runs can be revoked, not what this
			// round gives it.
			var held []TaskID
			for _, item := range r.next[id].sorted(k) {
				if !r.fresh[item] {
					held = append(held, item)
				}
			}
			out[id] = append(out[id], held[max(len(held)-(n-limit), 0):]...)
		}
	}
	return out
}

// assignment is member id's part of the round.
func (r *round) assignment(base Assignment, id string) Assignment {
	a := base
	for _, item := range sorted(r.added[id]) {
		if kindOf(item) == kindConnector {
			a.Connectors = append(a.Connectors, item.Connector)
		} else {
			a.Tasks = append(a.Tasks, item)
		}
	}
	for _, item := range sorted(r.revoked[id]) {
		if kindOf(item) == kindConnector {
			a.RevokedConnectors = append(a.RevokedConnectors, item.Connector)
		} else {
			a.RevokedTasks = append(a.RevokedTasks, item)
		}
	}
	return a
}

// sorted sorts items in place and drops repeats.
func sorted(items []TaskID) []TaskID {
	slices.SortFunc(items, compareTaskIDs)
	return slices.Compact(items)
}

func (l *load) add(item TaskID) {
	if !l.items[item] {
		l.items[item] = true
		l.n[kindOf(item)]++
	}
}

func (l *load) remove(item TaskID) {
	if l.items[item] {
		delete(l.items, item)
		l.n[kindOf(item)]--
	}
}

// sorted lists the member's items of kind k in order.
func (l *load) sorted(k int) []TaskID {
	out := make([]TaskID, 0, l.n[k])
	for item := range l.items {
		if kindOf(item) == k {
			out = append(out, item)
		}
	}
	return sorted(out)
}
