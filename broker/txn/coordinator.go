package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Config holds the broker settings the coordinator acts on.
type Config struct {
	// MaxTimeout bounds a producer's transaction.timeout.ms
	// (transaction.max.timeout.ms, 15 minutes).
	MaxTimeout time.Duration
	// StatePartitions is the partition count of __transaction_state when
	// the coordinator creates it (transaction.state.log.num.partitions, 50).
	StatePartitions int
	// StateSegmentBytes is segment.bytes of __transaction_state
	// (transaction.state.log.segment.bytes, 100 MiB).
	StateSegmentBytes int
	// Tick is how often transaction timeouts are checked; 0 means 100ms.
	Tick time.Duration
	// IDExpiration is how long a transactional id not in a transaction is
	// kept after its last state change (transactional.id.expiration.ms,
	// 7 days); see expire.go.
	IDExpiration time.Duration
	// RemoveExpiredInterval is how often Run removes expired ids
	// (transaction.remove.expired.transaction.cleanup.interval.ms, 1 hour).
	RemoveExpiredInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 15 * time.Minute
	}
	if c.StatePartitions <= 0 {
		c.StatePartitions = 50
	}
	if c.StateSegmentBytes <= 0 {
		c.StateSegmentBytes = 100 << 20
	}
	if c.Tick <= 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.IDExpiration <= 0 {
		c.IDExpiration = 7 * 24 * time.Hour
	}
	if c.RemoveExpiredInterval <= 0 {
		c.RemoveExpiredInterval = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// TopicPartition names one partition.
type TopicPartition = group.TopicPartition

// txnMeta is one transactional id's state.
type txnMeta struct {
	id      string
	pid     int64
	epoch   int16
	timeout time.Duration
	state   kmsg.TransactionState
	parts   map[TopicPartition]struct{}
	groups  map[string]struct{}
	// offsets mirrors the group offsets pending in the transaction, for
	// the durable pending-offsets record (offsets.go).
	offsets map[string]map[TopicPartition]group.Commit
	started time.Time
	updated time.Time
	// completing is set while markers are being written for a Prepare*
	// state; requests for the id get ErrConcurrentTransactions meanwhile.
	completing bool
}

// inProgress reports whether m's transaction has begun and not completed.
func (m *txnMeta) inProgress() bool {
	return m.state == kmsg.TransactionStateOngoing || m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort
}

// Coordinator coordinates every transactional id of this node.
//
// Lock order: Coordinator.mu is never held while writing markers, which
// takes partition locks, nor while calling the group coordinator.
type Coordinator struct {
	cfg    Config
	store  *log.Store
	groups *group.Coordinator
	log    *slog.Logger

	mu     sync.Mutex
	txns   map[string]*txnMeta
	byPID  map[int64]*txnMeta
	closed bool
}

// New opens the coordinator over store: it creates __transaction_state if
// it is missing, loads every transactional id from it, and completes the
// transactions a restart interrupted in PrepareCommit or PrepareAbort. It
// starts no goroutines; call Run for timeouts.
func New(cfg Config, store *log.Store, groups *group.Coordinator, logger *slog.Logger) (*Coordinator, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Coordinator{
		cfg: cfg.withDefaults(), store: store, groups: groups, log: logger,
		txns: map[string]*txnMeta{}, byPID: map[int64]*txnMeta{},
	}
	loaded, err := c.load()
	if err != nil {
		return nil, err
	}
	if err := c.restagePending(loaded); err != nil {
		return nil, err
	}
	for _, m := range c.txns {
		if m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort {
			c.mu.Lock()
			m.completing = true
			c.mu.Unlock()
			if err := c.complete(m); err != nil {
				return nil, fmt.Errorf("complete transaction %q after restart: %w", m.id, err)
			}
		}
	}
	return c, nil
}

// Run aborts transactions that outlive their timeout, and removes expired
// transactional ids every RemoveExpiredInterval, until ctx ends; then it
// closes the coordinator.
func (c *Coordinator) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	expiry := time.NewTicker(c.cfg.RemoveExpiredInterval)
	defer expiry.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close()
			return
		case <-t.C:
			c.abortExpired()
		case <-expiry.C:
			if _, err := c.ExpireTransactionalIDs(); err != nil && ctx.Err() == nil {
				c.log.Warn("expire transactional ids", "err", err)
			}
		}
	}
}

// Close refuses every later request; it is idempotent.
func (c *Coordinator) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// abortExpired aborts, with an epoch bump that fences the producer, every
// Ongoing transaction older than its timeout, and retries completions that
// failed.
func (c *Coordinator) abortExpired() {
	now := c.cfg.Now()
	var expired []*txnMeta
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	for _, m := range c.txns {
		if !m.completing && (m.state == kmsg.TransactionStatePrepareCommit || m.state == kmsg.TransactionStatePrepareAbort) {
			// A completion that failed (a write error): retry it.
			m.completing = true
			expired = append(expired, m)
			continue
		}
		if m.state == kmsg.TransactionStateOngoing && !m.completing && now.Sub(m.started) > m.timeout {
			if m.epoch < math.MaxInt16-1 {
				m.epoch++
			}
			expired = append(expired, m)
			c.prepareLocked(m, false)
		}
	}
	c.mu.Unlock()
	for _, m := range expired {
		c.log.Info("completing timed out or stuck transaction", "transactional.id", m.id)
		if err := c.complete(m); err != nil {
			c.log.Warn("complete transaction", "transactional.id", m.id, "err", err)
		}
	}
}

// prepareLocked moves an Ongoing transaction to PrepareCommit or
// PrepareAbort and marks it completing; the caller then calls complete
// without the lock.
func (c *Coordinator) prepareLocked(m *txnMeta, commit bool) {
	m.state = kmsg.TransactionStatePrepareAbort
	if commit {
		m.state = kmsg.TransactionStatePrepareCommit
	}
	m.completing = true
	m.updated = c.cfg.Now()
}

// complete persists the Prepare* state, writes the markers, ends the
// groups' pending offsets, and persists the Complete* state. On failure the
// transaction stays in Prepare* and a retried EndTxn completes it.
func (c *Coordinator) complete(m *txnMeta) error {
	c.mu.Lock()
	commit := m.state == kmsg.TransactionStatePrepareCommit
	rec := m.record()
	pid, epoch := m.pid, m.epoch
	parts := make([]TopicPartition, 0, len(m.parts))
	for tp := range m.parts {
		parts = append(parts, tp)
	}
	groups := make([]string, 0, len(m.groups))
	for g := range m.groups {
		groups = append(groups, g)
	}
	hadOffsets := len(m.offsets) > 0
	c.mu.Unlock()

	err := c.persist(m.id, rec)
	if err == nil {
		err = c.writeMarkers(parts, pid, epoch, commit)
	}
	for _, g := range groups {
		if err != nil {
			break
		}
		err = c.groups.EndTxnOffsets(g, pid, commit)
	}
	c.mu.Lock()
	if err != nil {
		m.completing = false
		c.mu.Unlock()
		return err
	}
	m.state = kmsg.TransactionStateCompleteAbort
	if commit {
		m.state = kmsg.TransactionStateCompleteCommit
	}
	m.parts, m.groups, m.offsets = map[TopicPartition]struct{}{}, map[string]struct{}{}, nil
	m.updated = c.cfg.Now()
	rec = m.record()
	c.mu.Unlock()
	err = c.persist(m.id, rec)
	if err == nil && hadOffsets {
		err = c.persistRecord(m.id, pendingKey(m.id), nil)
	}
	c.mu.Lock()
	m.completing = false
	c.mu.Unlock()
	return err
}

// writeMarkers appends a commit or abort marker to every partition and
// makes them durable.
func (c *Coordinator) writeMarkers(parts []TopicPartition, pid int64, epoch int16, commit bool) error {
	nowMs := c.cfg.Now().UnixMilli()
	type flush struct {
		p   *log.Partition
		res log.AppendResult
	}
	var flushes []flush
	for _, tp := range parts {
		p, err := c.store.Partition(tp.Topic, tp.Partition)
		if err != nil {
			// The topic was deleted: nothing left to mark.
			continue
		}
		b, err := log.EncodeMarker(pid, epoch, commit, 0, nowMs)
		if err != nil {
			return err
		}
		res, err := p.Append(b)
		if err != nil {
			return fmt.Errorf("write marker to %s-%d: %w", tp.Topic, tp.Partition, err)
		}
		flushes = append(flushes, flush{p, res})
	}
	// One fsync per partition, in parallel: a transaction over many
	// partitions would otherwise pay them one after another.
	errs := make([]error, len(flushes))
	var wg sync.WaitGroup
	for i, f := range flushes {
		wg.Go(func() {
			if err := f.p.FlushAppended(f.res); err != nil {
				errs[i] = fmt.Errorf("write marker to %s-%d: %w", f.p.Topic, f.p.ID, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
