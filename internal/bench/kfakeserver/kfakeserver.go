// Package kfakeserver starts franz-go's kfake, an in-memory Kafka, as a
// single broker for side-by-side comparisons with Sluice: from Go tests and
// benchmarks with [StartKfake], and from the command line through
// internal/tools/kfake. It lives apart from package bench so the sluice
// binary, which links bench, does not link kfake.
package kfakeserver

import (
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kfake"
)

// New starts a one-broker kfake cluster listening on addr (host:port; port
// 0 picks a free one) that auto-creates topics with partitions partitions.
// opts are applied after these settings and may override them. The caller
// must Close the cluster. kfake advertises the listener's own address, so
// a wildcard host such as 0.0.0.0 is only reachable from this machine.
func New(addr string, partitions int, opts ...kfake.Opt) (*kfake.Cluster, error) {
	if partitions <= 0 {
		return nil, fmt.Errorf("start kfake on %s: partitions %d: want more than 0", addr, partitions)
	}
	base := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake always asks for 127.0.0.1:port; listen where we were told.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, addr) }),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
	}
	c, err := kfake.NewCluster(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start kfake on %s: %w", addr, err)
	}
	return c, nil
}

// StartKfake starts a one-broker kfake cluster on a free 127.0.0.1 port, as
// [New] does, and returns its address and a stop function, which is safe
// to call more than once.
func StartKfake(partitions int, opts ...kfake.Opt) (addr string, stop func(), err error) {
	c, err := New("127.0.0.1:0", partitions, opts...)
	if err != nil {
		return "", nil, err
	}
	return c.ListenAddrs()[0], c.Close, nil
}
