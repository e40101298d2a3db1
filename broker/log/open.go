package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
)

// Open loads (or creates) the data directory and recovers every partition.
// It first takes the directory's lock (DirLocker), before anything in the
// directory is read or written, and fails with ErrDirLocked if another
// store holds it; Close releases it.
func Open(opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := opts.FS.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", opts.Dir, err)
	}
	unlock, err := lockDir(opts.FS, opts.Dir)
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, log: opts.Logger, topics: map[string]*Topic{}, files: newFileCache(opts.FS, opts.MaxOpenFiles), unlock: unlock}
	state, err := s.load()
	if err != nil {
		s.closeAll(false)
		return nil, errors.Join(err, unlock())
	}
	s.log.Info("log store opened", "dir", opts.Dir, "topics", len(s.topics), "state", state)
	return s, nil
}

// How Open found the data directory, as its start-up line says.
const (
	stateNew       = "new"       // empty: nothing to recover
	stateClean     = "clean"     // closed cleanly: recovery points are trusted
	stateRecovered = "recovered" // not closed cleanly: tails were re-scanned
)

// load reads the locked data directory and recovers every partition; on an
// error the caller closes what it opened.
func (s *Store) load() (state string, err error) {
	fs, dir := s.opts.FS, s.opts.Dir
	entries, err := fs.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("list data directory %s: %w", dir, err)
	}
	empty := !slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() != lockFile })
	if err := fs.MkdirAll(filepath.Join(dir, topicMetaDir), 0o755); err != nil {
		return "", fmt.Errorf("create data directory %s: %w", dir, err)
	}
	clean := true
	if err := fs.Remove(filepath.Join(dir, cleanShutdownFile)); errors.Is(err, os.ErrNotExist) {
		clean = false
	} else if err != nil {
		return "", fmt.Errorf("remove clean shutdown marker: %w", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return "", fmt.Errorf("sync data directory %s: %w", dir, err)
	}
	points, err := s.readRecoveryPoints()
	if err != nil {
		return "", err
	}
	if err := s.loadProducerIDs(); err != nil {
		return "", err
	}
	metas, err := s.readTopicMetas()
	if err != nil {
		return "", err
	}
	keep := map[string]bool{topicMetaDir: true}
	for _, m := range metas {
		cfg, err := ParseConfig(s.opts.Defaults, m.Configs)
		if err != nil {
			return "", fmt.Errorf("topic %s: %w", m.Name, err)
		}
		t := &Topic{Name: m.Name, ID: m.ID, Overrides: m.Configs}
		s.topics[m.Name] = t // before its partitions open, so a failure closes those opened
		for i := range m.Partitions {
			key := fmt.Sprintf("%s-%d", m.Name, i)
			keep[key] = true
			p, err := openPartition(s, m.Name, int32(i), &cfg, points[key], clean)
			if err != nil {
				return "", err
			}
			t.Partitions = append(t.Partitions, p)
		}
	}
	if err := s.removeOrphans(keep); err != nil {
		return "", err
	}
	switch {
	case clean:
		return stateClean, nil
	case empty:
		return stateNew, nil
	}
	return stateRecovered, nil
}

// removeOrphans deletes partition directories of topics that no longer
// exist (a crash in the middle of DeleteTopics).
func (s *Store) removeOrphans(keep map[string]bool) error {
	entries, err := s.opts.FS.ReadDir(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("list data directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || keep[e.Name()] || !partitionDirRE.MatchString(e.Name()) {
			continue
		}
		s.log.Warn("removing partition directory of a deleted topic", "dir", e.Name())
		if err := s.opts.FS.RemoveAll(filepath.Join(s.opts.Dir, e.Name())); err != nil {
			return fmt.Errorf("remove %s: %w", e.Name(), err)
		}
	}
	return nil
}

var partitionDirRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+-[0-9]+(\.delete)?$`)
