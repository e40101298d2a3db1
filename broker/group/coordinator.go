package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/log"
)

// Config holds the broker settings the coordinator acts on.
type Config struct {
	// MinSessionTimeout and MaxSessionTimeout bound a member's session
	// timeout (group.min.session.timeout.ms, group.max.session.timeout.ms).
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// InitialRebalanceDelay holds the first rebalance of an empty group
	// open this long for more members (group.initial.rebalance.delay.ms).
	// 0, the default here, completes it as soon as every member joined.
	InitialRebalanceDelay time.Duration
	// OffsetsPartitions is the partition count of __consumer_offsets when
	// the coordinator creates it (offsets.topic.num.partitions).
	OffsetsPartitions int
	// OffsetsSegmentBytes is segment.bytes of __consumer_offsets when the
	// coordinator creates it (offsets.topic.segment.bytes, 100 MiB).
	OffsetsSegmentBytes int
	// MaxMetadataSize bounds a committed offset's metadata string
	// (offset.metadata.max.bytes).
	MaxMetadataSize int
	// OffsetsRetention is how long committed offsets are kept once they
	// can expire (offsets.retention.minutes, 7 days); see expire.go.
	OffsetsRetention time.Duration
	// OffsetsRetentionCheckInterval is how often Run expires offsets
	// (offsets.retention.check.interval.ms, 10 minutes).
	OffsetsRetentionCheckInterval time.Duration
	// Tick is how often timers are checked; 0 means 50ms.
	Tick time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.OffsetsSegmentBytes == 0 {
		c.OffsetsSegmentBytes = 100 << 20
	}
	if c.MinSessionTimeout == 0 {
		c.MinSessionTimeout = 6 * time.Second
	}
	if c.MaxSessionTimeout == 0 {
		c.MaxSessionTimeout = 30 * time.Minute
	}
	if c.OffsetsPartitions <= 0 {
		c.OffsetsPartitions = 50
	}
	if c.MaxMetadataSize <= 0 {
		c.MaxMetadataSize = 4096
	}
	if c.OffsetsRetention <= 0 {
		c.OffsetsRetention = 7 * 24 * time.Hour
	}
	if c.OffsetsRetentionCheckInterval <= 0 {
		c.OffsetsRetentionCheckInterval = 10 * time.Minute
	}
	if c.Tick <= 0 {
		c.Tick = 50 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Coordinator coordinates every group of this node.
//
// One mutex guards every group: group operations are short, and the only
// slow step, the fsync of __consumer_offsets, runs after it is released.
type Coordinator struct {
	cfg   Config
	store *log.Store
	log   *slog.Logger

	mu     sync.Mutex
	groups map[string]*group
	// topicID is the id of the __consumer_offsets the state was loaded
	// from or last written back to; another id means it was recreated.
	topicID [16]byte
	// pending holds transactional offset commits not yet decided:
	// group → producer id → partition → offset.
	pending map[string]map[int64]map[TopicPartition]Commit
	closed  bool
}

// New opens the coordinator over store: it creates __consumer_offsets if it
// is missing and loads every group and committed offset from it. It starts
// no goroutines; call Run for timers.
func New(cfg Config, store *log.Store, logger *slog.Logger) (*Coordinator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{cfg: cfg.withDefaults(), store: store, log: logger, groups: map[string]*group{}}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// Run checks session, rebalance and join deadlines, and expires offsets
// every OffsetsRetentionCheckInterval, until ctx ends; then it fails every
// waiting Join and Sync.
func (c *Coordinator) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	expiry := time.NewTicker(c.cfg.OffsetsRetentionCheckInterval)
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close()
			return
		case <-t.C:
			c.tick()
		case <-expiry.C:
			if _, _, err := c.ExpireOffsets(); err != nil && ctx.Err() == nil {
				c.log.Warn("expire committed offsets", "err", err)
			}
		}
	}
}

// Close fails every waiting request and refuses new ones; it is idempotent.
func (c *Coordinator) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for _, g := range c.groups {
		for _, m := range g.members {
			m.answerJoin(JoinResult{Err: ErrCoordinatorNotAvailable})
			m.answerSync(SyncResult{Err: ErrCoordinatorNotAvailable})
		}
	}
}

func (c *Coordinator) now() time.Time { return c.cfg.Now() }

// tick enforces every deadline that has passed.
func (c *Coordinator) tick() {
	c.mu.Lock()
	now := c.now()
	var writes []write
	for _, g := range c.groups {
		writes = append(writes, c.expireLocked(g, now)...)
	}
	c.mu.Unlock()
	c.sync(writes)
}

// expireLocked removes members whose session ended and ends a rebalance
// whose deadline passed.
func (c *Coordinator) expireLocked(g *group, now time.Time) []write {
	for id, exp := range g.pending {
		if now.After(exp) {
			delete(g.pending, id)
		}
	}
	removed := false
	for _, m := range g.members {
		if m.joinCh == nil && now.Sub(m.lastSeen) > m.sessionTimeout {
			c.log.Debug("group member session expired", "group", g.id, "member", m.id)
			g.remove(m)
			removed = true
		}
	}
	switch {
	case g.state == PreparingRebalance && (now.After(g.deadline) || g.allJoined()):
		return c.completeJoinLocked(g, now)
	case g.state == CompletingRebalance && now.After(g.deadline):
		c.prepareLocked(g, now)
	case removed && (g.state == Stable || g.state == CompletingRebalance):
		c.prepareLocked(g, now)
	}
	return nil
}

func (c *Coordinator) getOrCreateLocked(id string) *group {
	g := c.groups[id]
	if g == nil {
		g = newGroup(id, c.now())
		c.groups[id] = g
	}
	return g
}

var errClosed = fmt.Errorf("group coordinator closed: %w", ErrCoordinatorNotAvailable)

func newMemberID(clientID string) string {
	var b [16]byte
	rand.Read(b[:])
	return clientID + "-" + hex.EncodeToString(b[:])
}

// checkLocked returns errClosed once Close ran.
func (c *Coordinator) checkLocked() error {
	if c.closed {
		return errClosed
	}
	return nil
}
