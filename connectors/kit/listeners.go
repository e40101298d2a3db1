package kit

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DealListeners returns the task configs of a connector whose tasks each
// serve some of its listeners (the HTTP source, the MQTT server):
// min(maxTasks, len(listeners)) copies of props, each with its share of
// the listeners, dealt round-robin, under key, and its index under idKey.
func DealListeners(props map[string]string, listeners []string, key, idKey string, maxTasks int) []map[string]string {
	n := max(1, min(maxTasks, len(listeners)))
	shares := make([][]string, n)
	for i, l := range listeners {
		shares[i%n] = append(shares[i%n], strings.TrimSpace(l))
	}
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = maps.Clone(props)
		out[i][key] = strings.Join(shares[i], ",")
		out[i][idKey] = strconv.Itoa(i)
	}
	return out
}

// Bound is where a listening task keeps the addresses it serves, as
// URLs, for its status; while set they are also registered under the
// task's name ("<connector>/<task id>") for BoundAddrs, so that tests and
// tools in the process find a port-0 listener. The zero Bound is empty.
type Bound struct {
	name  string
	addrs atomic.Pointer[[]string]
}

// bound is the registry of BoundAddrs: task name → []string.
var bound sync.Map

// Set records addrs as the addresses of the task named name.
func (b *Bound) Set(name string, addrs []string) {
	a := slices.Clone(addrs)
	b.name = name
	b.addrs.Store(&a)
	bound.Store(name, slices.Clone(addrs))
}

// Clear forgets the addresses: the task stopped serving.
func (b *Bound) Clear() {
	if b.addrs.Swap(nil) != nil {
		bound.Delete(b.name)
	}
}

// Addrs returns the addresses served, nil when none.
func (b *Bound) Addrs() []string {
	if a := b.addrs.Load(); a != nil {
		return slices.Clone(*a)
	}
	return nil
}

// BoundAddrs returns the addresses task id of connector serves in this
// process, nil when it does not run here.
func BoundAddrs(connector string, id int) []string {
	v, ok := bound.Load(fmt.Sprintf("%s/%d", connector, id))
	if !ok {
		return nil
	}
	return v.([]string)
}
