package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Fencing the primary.
//
// The election (elect.go) can briefly name two primaries: a primary
// paused past its session (a long GC or VM pause, a stalled host) still
// believes it leads when it resumes, while the group has elected another.
// Confluent's registry has no defence here: the new leader reads _schemas
// to its end and allocates max+1, and so may the old one. Both then hand
// out the same id or the same subject version, and the later record
// overwrites the earlier one's version, so an id a client was given can
// come to name another schema or nothing.
//
// Sluice fences the old primary at the broker, as Kafka Connect fences a
// zombie leader's writes to its config topic (KIP-618): every write to
// _schemas is a transaction of one transactional producer whose
// transactional.id is shared by all instances of a registry cluster (the
// group id plus ".primary"). An instance that becomes primary opens a new
// producer for its term before it reads the topic to its end and
// allocates anything; the broker's InitProducerID bumps the producer
// epoch (the term's epoch), aborts a transaction the old primary left
// open, and from then refuses the old producer's AddPartitionsToTxn,
// Produce and EndTxn with PRODUCER_FENCED or INVALID_PRODUCER_EPOCH. So
// either the old primary's write committed before the new primary's
// epoch began, and the new primary reads it before allocating, or it
// never lands: no id or version is handed out twice. Safety rests on one
// invariant, kept by beginWrite: a producer reads the topic to its end
// after its InitProducerID and before choosing an id; whoever claimed
// last writes, the others are refused. The fenced instance
// answers 50004 (retriable) and writes nothing more until a new
// generation of the group makes it primary again.
//
// Why not a fence record in _schemas, checked by readers? Readers would
// have to skip a zombie's records, but the zombie's records would still
// be in the topic, and compaction keeps the latest record of a subject
// version, a zombie's overwriting the valid one; Confluent's and
// Karapace's readers would not skip them either. With the broker's fence
// the zombie's records never reach the log, except those of a transaction
// it had open when fenced, which the broker aborts: Sluice reads
// committed records only (as Kafka's readers of Connect's config topic
// do). Confluent's and Karapace's readers, which read uncommitted, still
// read the topic; they would see such an aborted write's records too.
//
// The cost: each write is a transaction (AddPartitionsToTxn, Produce,
// EndTxn) and readers wait for the commit markers; schema writes are rare.

// errFenced: another instance became primary and fenced this one's writes.
var errFenced = errors.New("this instance is no longer the primary: another instance was elected and fenced its writes to the topic")

// errNotPrimary: the election moved on between forwarding and writing.
var errNotPrimary = errors.New("this instance is not the primary any more")

// term is a primary's tenure: the group generation that elected it.
// Without an elector (a single instance serving no listener) there is one
// term, elected false.
type term struct {
	elected    bool
	generation int32
}

// primaryWriter is the transactional producer of one term.
type primaryWriter struct {
	client *kgo.Client
	term   term
}

// transactionalID is the transactional.id all instances of a registry
// cluster share, so that each new primary fences the last.
func transactionalID(group string) string { return group + ".primary" }

// fenceState is what the store keeps about its term's producer, under
// the store's mu. Only writes (under the write lock) and a late write's
// settling (during which no write begins) change it.
type fenceState struct {
	writer *primaryWriter
	// fenced is the term in which the broker fenced this instance; no
	// writer is opened again for it (opening one would fence the real
	// primary). A new generation clears it.
	fenced *term
	// beforeProduce, when set, runs before a write's records are
	// produced: a test seam that pauses a primary mid-write.
	beforeProduce atomic.Pointer[func()]
}

// claim readies the producer for t, opening (and so fencing every
// earlier producer) within timeout when t is a new term or the last one
// was dropped. The caller holds the write lock and nothing is unsettled.
func (s *store) claim(ctx context.Context, t term, timeout time.Duration) (*primaryWriter, error) {
	s.mu.Lock()
	w, fenced := s.fence.writer, s.fence.fenced
	s.mu.Unlock()
	if w != nil && w.term == t {
		return w, nil
	}
	if fenced != nil && *fenced == t && t.elected {
		return nil, errFenced
	}
	s.dropWriter()
	opts := append(slices.Clone(s.clientOpts),
		kgo.TransactionalID(transactionalID(s.group)),
		kgo.DefaultProduceTopic(s.topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
	)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("connect the primary's producer: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// InitProducerID: bumps the epoch of the transactional id, fencing
	// the previous primary, and aborts its open transaction.
	_, epoch, err := client.ProducerID(ctx)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("claim transactional id %s within %v: %w", transactionalID(s.group), timeout, err)
	}
	s.logger.Info("primary claimed the topic's transactional id",
		"transactional_id", transactionalID(s.group), "epoch", epoch, "generation", t.generation)
	w = &primaryWriter{client: client, term: t}
	s.mu.Lock()
	s.fence.writer, s.fence.fenced = w, nil
	s.mu.Unlock()
	return w, nil
}

// dropWriter closes the term's producer; the next write opens a new one,
// whose InitProducerID also settles whatever the old one left open.
func (s *store) dropWriter() {
	s.mu.Lock()
	w := s.fence.writer
	s.fence.writer = nil
	s.mu.Unlock()
	if w != nil {
		w.client.Close()
	}
}

// writer returns the current term's producer, nil when none is open.
func (s *store) writer() *primaryWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fence.writer
}

// fencedBy reports whether err is the broker's fence, and if so marks the
// writer's term as fenced.
func (s *store) fencedBy(w *primaryWriter, err error) bool {
	if !isFenced(err) {
		return false
	}
	t := w.term
	s.mu.Lock()
	s.fence.fenced = &t
	current := s.fence.writer == w
	s.mu.Unlock()
	if current {
		s.dropWriter()
	}
	s.logger.Warn("fenced: another instance became primary", "generation", t.generation)
	return true
}

func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

// claimTerm readies the primary's producer for this instance's term,
// within timeout, before a write reads the topic (beginWrite): this
// instance must still be the primary, and no earlier write unsettled.
func (s *Server) claimTerm(ctx context.Context, timeout time.Duration) error {
	if s.store.unsettled() {
		return errUnsettled
	}
	t := term{}
	if e := s.elector.Load(); e != nil {
		waitCtx, cancel := context.WithTimeout(ctx, s.opts.StoreTimeout)
		primary, gen, err := e.currentTerm(waitCtx)
		cancel()
		if err != nil || primary != e.self.URL {
			return errNotPrimary
		}
		t = term{elected: true, generation: gen}
	}
	_, err := s.store.claim(ctx, t, timeout)
	return err
}

// electionClaimTimeout bounds claiming the term on election: longer than
// a write's store timeout, as a broker creates its transaction state
// topic on the first InitProducerID, and well within the session timeout
// (heartbeats wait for it).
const electionClaimTimeout = 5 * time.Second

// claimOnElection claims the new term's producer as soon as this instance
// is elected, so the old primary is fenced at once, and a transaction it
// left open (which holds back every reader of committed records) is
// aborted, without waiting for the first write. A write in progress
// claims the term itself.
func (s *Server) claimOnElection(ctx context.Context) {
	select {
	case s.writeLock <- struct{}{}:
	default:
		return
	}
	defer func() { <-s.writeLock }()
	if err := s.claimTerm(ctx, max(s.opts.StoreTimeout, electionClaimTimeout)); err != nil {
		s.log.Warn("claim the primary's transactional id on election; the first write tries again", "error", err)
	}
}
