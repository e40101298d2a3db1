package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Whether the worker reaches its Kafka cluster. A worker whose brokers are
// gone must not look healthy: Kafka's clients warn at every failed
// connection, its producers fail records after delivery.timeout.ms, and
// the operator's health check should say so too. clusterReach probes the
// cluster with a metadata request (answered by any broker, so a cluster
// with one broker down is still reached) every reachProbeInterval, and at
// once when one of the worker's clients fails to connect while the
// cluster was reachable, or connects while it was not; GET /health reads
// what the probes found (Herder.ClusterHealth). Each task's clients also
// warn, at most every reachWarnEvery, naming the task and the cause.

const (
	// reachProbeInterval spaces the probes while nothing happens.
	reachProbeInterval = 10 * time.Second
	// reachProbeTimeout bounds one probe (a blackholed address answers
	// nothing).
	reachProbeTimeout = 5 * time.Second
	// reachMinGap spaces probes triggered by clients, which may fail to
	// connect many times a second.
	reachMinGap = time.Second
	// reachWarnEvery spaces the warnings that the cluster is still out of
	// reach, the worker's and each task's.
	reachWarnEvery = 30 * time.Second
)

// clusterReach tracks whether the worker reaches its Kafka cluster. It is
// a kgo hook on every client the herder builds.
type clusterReach struct {
	servers string // bootstrap.servers, for messages
	logger  *slog.Logger
	probe   func(context.Context) (clusterID string, err error)
	kick    chan struct{} // a client's connection changed: probe now

	mu        sync.Mutex
	since     time.Time // when the cluster went out of reach; zero while reached
	cause     error     // why the last probe failed
	lastDial  error     // the last connection failure since the cluster was last reached
	lastWarn  time.Time
	clusterID string
}

func newClusterReach(servers []string, logger *slog.Logger, probe func(context.Context) (string, error)) *clusterReach {
	return &clusterReach{servers: strings.Join(servers, ","), logger: logger, probe: probe, kick: make(chan struct{}, 1)}
}

// OnBrokerConnect implements kgo.HookBrokerConnect: a failure while the
// cluster was reached, or a success while it was not, asks for a probe.
func (r *clusterReach) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	r.mu.Lock()
	if err != nil {
		r.lastDial = dialError(meta, err)
	}
	changed := (err != nil) == r.since.IsZero()
	r.mu.Unlock()
	if changed {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// run probes until ctx ends.
func (r *clusterReach) run(ctx context.Context) {
	timer := time.NewTimer(reachProbeInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.kick:
		}
		r.check(ctx)
		if !sleep(ctx, reachMinGap) {
			return
		}
		timer.Reset(reachProbeInterval - reachMinGap)
	}
}

// check probes the cluster once and records the answer.
func (r *clusterReach) check(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, reachProbeTimeout)
	id, err := r.probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		if !r.since.IsZero() {
			r.logger.Info("reached the Kafka cluster again", "bootstrap_servers", r.servers, "unreachable_for", now.Sub(r.since).Round(time.Millisecond))
		}
		r.since, r.cause, r.lastDial, r.clusterID = time.Time{}, nil, nil, id
		return
	}
	if r.lastDial != nil {
		err = r.lastDial // says which broker and why, where the probe may only say it timed out
	}
	r.cause = err
	switch {
	case r.since.IsZero():
		r.since, r.lastWarn = now, now
		r.logger.Warn("cannot reach the Kafka cluster; connectors and tasks wait for it", "bootstrap_servers", r.servers, "error", err)
	case now.Sub(r.lastWarn) >= reachWarnEvery:
		r.lastWarn = now
		r.logger.Warn("still cannot reach the Kafka cluster", "bootstrap_servers", r.servers, "since", r.since.UTC().Format(time.RFC3339), "error", err)
	}
}

// health returns nil while the cluster is reached, else since when and
// why it is not.
func (r *clusterReach) health() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		return nil
	}
	return fmt.Errorf("cannot reach the Kafka cluster at %s since %s: %w", r.servers, r.since.UTC().Format(time.RFC3339), r.cause)
}

// id returns the cluster id the last successful probe read.
func (r *clusterReach) id() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clusterID
}

// dialError says which broker a client could not connect to, and why.
func dialError(meta kgo.BrokerMetadata, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err // "connect: connection refused", without repeating the address
	}
	return fmt.Errorf("unable to dial %s: %w", net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port))), err)
}

// taskReach is a kgo hook on a task's clients: it warns, naming the task,
// when they cannot connect (first at once, then at most every
// reachWarnEvery), and keeps the last failure for the task's error.
type taskReach struct {
	logger *slog.Logger
	msg    string
	attrs  []any

	mu       sync.Mutex
	lastErr  error // nil once a connection succeeded
	lastWarn time.Time
	failures int // since the last warning
}

// OnBrokerConnect implements kgo.HookBrokerConnect.
func (t *taskReach) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		if t.lastErr != nil && !t.lastWarn.IsZero() {
			t.logger.Info("reached the Kafka cluster again", "broker", net.JoinHostPort(meta.Host, strconv.Itoa(int(meta.Port))))
		}
		t.lastErr, t.lastWarn, t.failures = nil, time.Time{}, 0
		return
	}
	t.lastErr = dialError(meta, err)
	t.failures++
	if !t.lastWarn.IsZero() && time.Since(t.lastWarn) < reachWarnEvery {
		return
	}
	t.logger.Warn(t.msg, append([]any{"error", t.lastErr, "failed_attempts", t.failures}, t.attrs...)...)
	t.lastWarn, t.failures = time.Now(), 0
}

// err returns the last connection failure, nil once a connection
// succeeded.
func (t *taskReach) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}
