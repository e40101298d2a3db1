// Package broker serves the Apache Kafka wire protocol on top of the storage
// engine in broker/log, so Kafka clients work against Sluice unchanged.
//
// There is one file per API family; each opens with the versions it serves
// and how it behaves. Requests on a connection are handled in order and
// their responses written in order; connections run in parallel.
package broker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/broker/group"
	"github.com/sluicehq/sluice/broker/log"
	"github.com/sluicehq/sluice/broker/txn"
	"github.com/sluicehq/sluice/internal/javaprops"
)

// Server is a single-node Kafka broker.
type Server struct {
	cfg       Config
	store     *log.Store
	log       *slog.Logger
	clusterID string
	apis      apiTable
	groups    *group.Coordinator
	txns      *txn.Coordinator

	pool      *memPool // queued.max.request.bytes; nil when unbounded
	mu        sync.Mutex
	ln        net.Listener
	conns     map[*conn]struct{}
	wg        sync.WaitGroup
	listening listenerState // guarded by mu

	createMu sync.Mutex // serialises topic creation, deletion and config changes
}

// New makes a broker over an open store, reading (or writing, on first
// start) meta.properties in the store's directory. It starts nothing; call
// Run.
func New(cfg Config, store *log.Store, logger *slog.Logger) (*Server, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// meta.properties lives in the store's directory, whose lock the store
	// holds: only the owner of the directory writes into it.
	id, err := loadClusterID(store.Dir(), cfg.NodeID)
	if err != nil {
		return nil, err
	}
	gcfg, err := groupConfig(cfg.Properties)
	if err != nil {
		return nil, err
	}
	groups, err := group.New(gcfg, store, logger)
	if err != nil {
		return nil, err
	}
	tcfg, err := txnConfig(cfg.Properties)
	if err != nil {
		return nil, err
	}
	txns, err := txn.New(tcfg, store, groups, logger)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: store, log: logger, clusterID: id, conns: map[*conn]struct{}{}, groups: groups, txns: txns,
		pool: newMemPool(cfg.QueuedMaxRequestBytes)}
	s.apis = newAPITable(serverAPIs()...)
	return s, nil
}

// serverAPIs lists every API the broker serves.
func serverAPIs() []api {
	return []api{
		apiVersionsAPI,
		metadataAPI,
		describeClusterAPI,
		produceAPI,
		fetchAPI,
		listOffsetsAPI,
		initProducerIDAPI,
		findCoordinatorAPI,
		createTopicsAPI,
		deleteTopicsAPI,
		createPartitionsAPI,
		describeConfigsAPI,
		alterConfigsAPI,
		incrementalAlterConfigsAPI,
		deleteRecordsAPI,
		joinGroupAPI,
		heartbeatAPI,
		leaveGroupAPI,
		syncGroupAPI,
		offsetCommitAPI,
		offsetFetchAPI,
		offsetDeleteAPI,
		describeGroupsAPI,
		listGroupsAPI,
		deleteGroupsAPI,
		addPartitionsToTxnAPI,
		addOffsetsToTxnAPI,
		endTxnAPI,
		txnOffsetCommitAPI,
		listTransactionsAPI,
		describeTransactionsAPI,
		describeProducersAPI,
	}
}

// Groups returns the group coordinator; Serve runs it with Groups().Run.
func (s *Server) Groups() *group.Coordinator { return s.groups }

// Txns returns the transaction coordinator; Serve runs it with Txns().Run.
func (s *Server) Txns() *txn.Coordinator { return s.txns }

// ClusterID returns the persistent cluster id.
func (s *Server) ClusterID() string { return s.clusterID }

// Listen binds the configured listener. Run serves it.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Listener)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Listener, err)
	}
	s.mu.Lock()
	s.ln = ln
	if s.cfg.AdvertisedPort == 0 {
		s.cfg.AdvertisedPort = int32(ln.Addr().(*net.TCPAddr).Port)
	}
	s.mu.Unlock()
	return ln.Addr(), nil
}

// Addr is the listener's address, nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves connections until ctx ends, then closes every connection and
// returns after all of its goroutines have exited.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
		s.mu.Lock()
		ln = s.ln
		s.mu.Unlock()
	}
	s.log.Debug("broker serving", "addr", ln.Addr().String(), "node", s.cfg.NodeID, "cluster", s.clusterID)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	s.setServing()
	err := s.acceptLoop(ctx, ln)
	s.setEnded(err)
	cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// acceptLoop accepts connections until the listener is closed. Any other
// accept error (out of file descriptors, above all) is logged, backed off
// and retried, as Kafka and net/http do: a broker that stops accepting
// while it stays up is worse than one that refuses a connection for a
// while.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.acceptFailed(err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		s.acceptSucceeded()
		c := newConn(s, nc)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c.serve(ctx)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// loadClusterID reads meta.properties in the data directory, creating it
// with a new random cluster id on first start, as Kafka does.
func loadClusterID(dir string, nodeID int32) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "meta.properties")
	if props, err := javaprops.LoadFile(path); err == nil {
		if id := props["cluster.id"]; id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	var raw [16]byte
	rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	body := fmt.Sprintf("version=1\ncluster.id=%s\nnode.id=%d\n", id, nodeID)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := syncRename(tmp, path, dir); err != nil {
		return "", err
	}
	return id, nil
}

func syncRename(tmp, path, dir string) error {
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = log.OSFS{}.SyncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// clientIDAttr shortens a client id for logs.
func clientIDAttr(id string) string {
	if len(id) > 64 {
		return id[:64] + "…"
	}
	return strings.ToValidUTF8(id, "?")
}
