package log

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Store.
type Options struct {
	// Dir is the data directory (Kafka's log.dirs, one directory).
	Dir string
	// FS is the filesystem; nil means the operating system's.
	FS FS
	// Defaults are broker-level topic config defaults, keyed by topic config
	// name (retention.ms, not log.retention.ms).
	Defaults map[string]string
	// Logger receives lifecycle and error messages; nil discards them.
	Logger *slog.Logger
	// RetentionCheckInterval is log.retention.check.interval.ms.
	RetentionCheckInterval time.Duration
	// FlushCheckInterval is how often flush.ms is checked.
	FlushCheckInterval time.Duration
	// CheckpointInterval is how often recovery points and producer state
	// snapshots are written.
	CheckpointInterval time.Duration
	// CleanerBackoff is log.cleaner.backoff.ms: how often the log cleaner
	// looks for compacted partitions to clean (DefaultCleanerBackoff).
	CleanerBackoff time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxOpenFiles bounds the file descriptors held for segment files
	// (opened on use, least recently used closed first); 0 means half the
	// process's RLIMIT_NOFILE.
	MaxOpenFiles int
}

func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RetentionCheckInterval <= 0 {
		o.RetentionCheckInterval = 5 * time.Minute
	}
	if o.FlushCheckInterval <= 0 {
		o.FlushCheckInterval = time.Second
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.CleanerBackoff <= 0 {
		o.CleanerBackoff = DefaultCleanerBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxOpenFiles <= 0 {
		o.MaxOpenFiles = defaultMaxOpenFiles()
	}
	o.Defaults = maps(o.Defaults)
	return o
}

func maps(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Topic is a topic's metadata and partitions.
type Topic struct {
	Name       string
	ID         [16]byte
	Overrides  map[string]string // topic-level config overrides
	Partitions []*Partition
}

// topicMeta is a topic's persisted metadata file.
type topicMeta struct {
	Name       string            `json:"name"`
	ID         [16]byte          `json:"id"`
	Partitions int               `json:"partitions"`
	Configs    map[string]string `json:"configs"`
}

// Store owns a data directory: its topics, their partitions, and the
// broker-wide checkpoint files.
type Store struct {
	opts  Options
	log   *slog.Logger
	files *fileCache

	mu     sync.RWMutex
	topics map[string]*Topic
	closed bool

	pidMu   sync.Mutex
	pidNext int64
	pidEnd  int64

	cleanMu     sync.Mutex // one cleaner pass at a time
	cleanerHook cleanHook  // tests stop a pass at a step; nil otherwise

	// unlock releases the data directory's lock; Close calls it last, after
	// the clean shutdown marker is written.
	unlock func() error
}

const (
	topicMetaDir       = "topic-meta"
	recoveryPointFile  = "recovery-point-offset-checkpoint"
	cleanShutdownFile  = ".sluice_cleanshutdown"
	producerIDFile     = "producer-id-block"
	producerIDBlock    = 1000
	fileDeleteDelay    = time.Minute
	producerExpiration = 24 * time.Hour
)

func (s *Store) readTopicMetas() ([]topicMeta, error) {
	dir := filepath.Join(s.opts.Dir, topicMetaDir)
	entries, err := s.opts.FS.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var metas []topicMeta
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			// A metadata write a crash interrupted.
			if err := s.opts.FS.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("remove %s: %w", e.Name(), err)
			}
			continue
		}
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := readFile(s.opts.FS, filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read topic metadata %s: %w", e.Name(), err)
		}
		var m topicMeta
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("decode topic metadata %s: %w", e.Name(), err)
		}
		if m.Configs == nil {
			m.Configs = map[string]string{}
		}
		metas = append(metas, m)
	}
	return metas, nil
}

func (s *Store) writeTopicMeta(t *Topic, partitions int) error {
	b, err := json.MarshalIndent(topicMeta{Name: t.Name, ID: t.ID, Partitions: partitions, Configs: t.Overrides}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.opts.FS, filepath.Join(s.opts.Dir, topicMetaDir), t.Name+".json", b)
}

// readRecoveryPoints parses the checkpoint: a version line, a count line,
// then "topic partition offset" lines, as Kafka writes it.
func (s *Store) readRecoveryPoints() (map[string]int64, error) {
	points := map[string]int64{}
	b, err := readFile(s.opts.FS, filepath.Join(s.opts.Dir, recoveryPointFile))
	if errors.Is(err, os.ErrNotExist) {
		return points, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", recoveryPointFile, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 0; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if line < 2 || len(f) != 3 {
			continue
		}
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue // a bad line only means more recovery work
		}
		points[f[0]+"-"+f[1]] = off
	}
	return points, nil
}

// Checkpoint writes every partition's recovery point and producer snapshot.
func (s *Store) Checkpoint() error {
	var buf bytes.Buffer
	var lines []string
	var errs []error
	for _, t := range s.Topics() {
		for _, p := range t.Partitions {
			lines = append(lines, fmt.Sprintf("%s %d %d", t.Name, p.ID, p.DurableOffset()))
			if err := p.snapshotProducers(); err != nil {
				errs = append(errs, fmt.Errorf("snapshot producers of %s-%d: %w", t.Name, p.ID, err))
			}
		}
	}
	fmt.Fprintf(&buf, "0\n%d\n%s\n", len(lines), strings.Join(lines, "\n"))
	if err := writeFileAtomic(s.opts.FS, s.opts.Dir, recoveryPointFile, buf.Bytes()); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", recoveryPointFile, err))
	}
	return errors.Join(errs...)
}

// Run does the background work until ctx ends: retention, flush.ms,
// checkpoints, log cleaning and the removal of deleted segments. The cleaner
// runs on this goroutine too, so it never writes a producer state snapshot
// concurrently with a checkpoint.
func (s *Store) Run(ctx context.Context) error {
	cleaner := time.NewTicker(s.opts.CleanerBackoff)
	defer cleaner.Stop()
	retention := time.NewTicker(s.opts.RetentionCheckInterval)
	flush := time.NewTicker(s.opts.FlushCheckInterval)
	checkpoint := time.NewTicker(s.opts.CheckpointInterval)
	defer retention.Stop()
	defer flush.Stop()
	defer checkpoint.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-retention.C:
			s.EnforceRetention()
		case <-cleaner.C:
			if err := s.Compact(); err != nil {
				s.log.Warn("log cleaner pass failed", "err", err)
			}
		case <-flush.C:
			now := s.opts.Now()
			s.recoverFailed(now)
			s.eachPartition(func(p *Partition) {
				if err := p.flushIfOlder(now); err != nil {
					s.log.Warn("background flush failed", "topic", p.Topic, "partition", p.ID, "err", err)
				}
				p.removeDeleted(now, fileDeleteDelay)
			})
		case <-checkpoint.C:
			if err := s.Checkpoint(); err != nil {
				s.log.Warn("checkpoint failed", "err", err)
			}
		}
	}
}

// EnforceRetention runs one retention pass over every partition now.
func (s *Store) EnforceRetention() {
	now := s.opts.Now()
	s.eachPartition(func(p *Partition) {
		if err := p.enforceRetention(now); err != nil {
			s.log.Warn("retention failed", "topic", p.Topic, "partition", p.ID, "err", err)
		}
		p.mu.Lock()
		p.producers.expire(now.Add(-producerExpiration).UnixMilli())
		p.mu.Unlock()
	})
}

func (s *Store) eachPartition(fn func(*Partition)) {
	for _, t := range s.Topics() {
		for _, p := range t.Partitions {
			fn(p)
		}
	}
}

// Close flushes everything, writes the checkpoints and the clean shutdown
// marker, and closes all files. It is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	// Partitions first: closing flushes them, so the checkpoint written
	// after records each log's end as its recovery point, which recovery
	// trusts after a clean shutdown.
	errs := s.closeAll(true)
	errs = append(errs, s.Checkpoint())
	err := errors.Join(errs...)
	if err == nil {
		err = writeFileAtomic(s.opts.FS, s.opts.Dir, cleanShutdownFile, nil)
	}
	if uerr := s.unlock(); uerr != nil {
		err = errors.Join(err, fmt.Errorf("unlock data directory: %w", uerr))
	}
	return err
}

// Dir is the data directory the store owns (and holds the lock of).
func (s *Store) Dir() string { return s.opts.Dir }

func (s *Store) closeAll(clean bool) []error {
	var errs []error
	for _, t := range s.topicsSnapshot() {
		for _, p := range t.Partitions {
			if err := p.close(clean); err != nil {
				errs = append(errs, fmt.Errorf("close %s-%d: %w", t.Name, p.ID, err))
			}
		}
	}
	return errs
}

func (s *Store) topicsSnapshot() []*Topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ts := make([]*Topic, 0, len(s.topics))
	for _, t := range s.topics {
		ts = append(ts, &Topic{Name: t.Name, ID: t.ID, Overrides: t.Overrides, Partitions: slices.Clone(t.Partitions)})
	}
	slices.SortFunc(ts, func(a, b *Topic) int { return strings.Compare(a.Name, b.Name) })
	return ts
}

// Topics returns a snapshot of every topic, sorted by name.
func (s *Store) Topics() []*Topic { return s.topicsSnapshot() }

// Topic returns a snapshot of one topic.
func (s *Store) Topic(name string) (*Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	if !ok {
		return nil, false
	}
	return &Topic{Name: t.Name, ID: t.ID, Overrides: maps(t.Overrides), Partitions: slices.Clone(t.Partitions)}, true
}

// Partition returns one partition.
func (s *Store) Partition(topic string, id int32) (*Partition, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[topic]
	if !ok || id < 0 || int(id) >= len(t.Partitions) {
		return nil, fmt.Errorf("%s-%d: %w", topic, id, ErrUnknownTopic)
	}
	return t.Partitions[id], nil
}

// Defaults returns the broker-level topic config defaults.
func (s *Store) Defaults() map[string]string { return maps(s.opts.Defaults) }

// NextProducerID hands out a producer id never used before in this data
// directory, persisting blocks of ids ahead of use.
func (s *Store) NextProducerID() (int64, error) {
	s.pidMu.Lock()
	defer s.pidMu.Unlock()
	if s.pidNext >= s.pidEnd {
		end := s.pidEnd + producerIDBlock
		if err := writeFileAtomic(s.opts.FS, s.opts.Dir, producerIDFile, fmt.Appendf(nil, "%d\n", end)); err != nil {
			return -1, fmt.Errorf("allocate producer ids: %w", err)
		}
		s.pidNext, s.pidEnd = s.pidEnd, end
	}
	id := s.pidNext
	s.pidNext++
	return id, nil
}

func (s *Store) loadProducerIDs() error {
	b, err := readFile(s.opts.FS, filepath.Join(s.opts.Dir, producerIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", producerIDFile, err)
	}
	end, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("parse %s: %w", producerIDFile, err)
	}
	s.pidNext, s.pidEnd = end, end
	return nil
}
