// Package group is the classic (pre-KIP-848) consumer group coordinator:
// membership, rebalances, generations and committed offsets, persisted as
// Kafka's own records in the compacted __consumer_offsets topic.
//
// A group moves through these states:
//
//	Empty ──join──▶ PreparingRebalance ──all members rejoined──▶ CompletingRebalance
//	  ▲                  ▲     (or rebalance timeout: stragglers removed)      │
//	  │                  └──── join, leave, session expiry ◀── Stable ◀─leader's sync
//	  └── last member gone                                  Dead (deleted)
//
// A rebalance completes as soon as every known member has rejoined; members
// that do not rejoin within the largest rebalance timeout are removed. The
// protocol type, protocol names and metadata are opaque bytes, so consumer
// groups, Connect workers and any other classic-protocol user work alike.
//
// Committed offsets expire as in Kafka since KIP-211 (offsets.retention.minutes,
// expire.go): counting from when the group became empty, or from the commit
// for groups without a protocol and for topics a stable consumer group no
// longer subscribes to; empty groups left without offsets are removed. If
// __consumer_offsets disappears while the broker runs it is created again,
// with the groups still in memory written back to it (persist.go).
//
// The Coordinator is safe for concurrent use. Join and Sync block until the
// rebalance step they wait for completes or their context ends; the broker
// calls them from a goroutine per request. Run drives the timers.
package group
