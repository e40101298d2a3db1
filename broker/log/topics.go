package log

import (
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
)

var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// ValidateTopicName applies Kafka's topic naming rules.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is not allowed", ErrInvalidTopic, name)
	case len(name) > 249:
		return fmt.Errorf("%w: %d characters, at most 249", ErrInvalidTopic, len(name))
	case !topicNameRE.MatchString(name):
		return fmt.Errorf("%w: %q has characters other than ASCII letters, digits, '.', '_' and '-'", ErrInvalidTopic, name)
	}
	return nil
}

// CreateTopic creates a topic with partitions partitions and config
// overrides. With validateOnly it only checks the request.
func (s *Store) CreateTopic(name string, partitions int, overrides map[string]string, validateOnly bool) error {
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	if partitions < 1 || partitions > 100000 {
		return fmt.Errorf("%w: %d, want 1 to 100000", ErrInvalidPartitions, partitions)
	}
	cfg, err := ParseConfig(s.opts.Defaults, overrides)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.topics[name]; ok {
		return fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	if validateOnly {
		return nil
	}
	t := &Topic{Name: name, Overrides: maps(overrides)}
	if _, err := rand.Read(t.ID[:]); err != nil {
		return err
	}
	// Partitions first, then the metadata file that makes the topic exist:
	// a crash in between leaves orphan directories that Open removes, and a
	// failure removes them at once.
	for i := range partitions {
		p, err := openPartition(s, name, int32(i), &cfg, 0, true)
		if err != nil {
			s.discardPartitions(name, t.Partitions, 0, i+1)
			return fmt.Errorf("create topic %s: %w", name, err)
		}
		t.Partitions = append(t.Partitions, p)
	}
	if err := s.writeTopicMeta(t, partitions); err != nil {
		s.discardPartitions(name, t.Partitions, 0, partitions)
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	s.topics[name] = t
	s.log.Info("created topic", "topic", name, "partitions", partitions)
	return nil
}

// DeleteTopic removes a topic and its data.
func (s *Store) DeleteTopic(name string) error {
	s.mu.Lock()
	t, ok := s.topics[name]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%s: %w", name, ErrUnknownTopic)
	}
	metaDir := filepath.Join(s.opts.Dir, topicMetaDir)
	if err := s.opts.FS.Remove(filepath.Join(metaDir, name+".json")); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	delete(s.topics, name)
	s.mu.Unlock()
	if err := s.opts.FS.SyncDir(metaDir); err != nil {
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	var errs []error
	for _, p := range t.Partitions {
		errs = append(errs, p.close(false), s.opts.FS.RemoveAll(p.dir))
	}
	// Drop the topic's recovery points now: a topic created later with the
	// same name must not inherit them (they would skip its CRC checks).
	if err := s.Checkpoint(); err != nil {
		errs = append(errs, fmt.Errorf("delete topic %s: %w", name, err))
	}
	s.log.Info("deleted topic", "topic", name)
	return errors.Join(errs...)
}

// CreatePartitions grows a topic to total partitions.
func (s *Store) CreatePartitions(name string, total int, validateOnly bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, ErrUnknownTopic)
	}
	if total <= len(t.Partitions) {
		return fmt.Errorf("%w: topic %s has %d partitions, cannot go to %d", ErrInvalidPartitions, name, len(t.Partitions), total)
	}
	if total > 100000 {
		return fmt.Errorf("%w: %d, at most 100000", ErrInvalidPartitions, total)
	}
	if validateOnly {
		return nil
	}
	cfg := t.Partitions[0].cfg.Load()
	var added []*Partition
	for i := len(t.Partitions); i < total; i++ {
		p, err := openPartition(s, name, int32(i), cfg, 0, true)
		if err != nil {
			s.discardPartitions(name, added, len(t.Partitions), i+1)
			return fmt.Errorf("create partitions for %s: %w", name, err)
		}
		added = append(added, p)
	}
	if err := s.writeTopicMeta(t, total); err != nil {
		s.discardPartitions(name, added, len(t.Partitions), total)
		return fmt.Errorf("create partitions for %s: %w", name, err)
	}
	t.Partitions = append(slices.Clip(t.Partitions), added...)
	return nil
}

// discardPartitions undoes a failed CreateTopic or CreatePartitions: it
// closes the partitions opened and removes the directories of partitions
// [from, upTo) of the topic, so a failure leaves nothing behind.
func (s *Store) discardPartitions(topic string, opened []*Partition, from, upTo int) {
	for _, p := range opened {
		p.close(false)
	}
	for i := from; i < upTo; i++ {
		dir := filepath.Join(s.opts.Dir, fmt.Sprintf("%s-%d", topic, i))
		if err := s.opts.FS.RemoveAll(dir); err != nil {
			s.log.Warn("remove partition directory after a failed create", "topic", topic, "partition", i, "err", err)
		}
	}
}

// SetTopicConfig replaces a topic's config overrides (AlterConfigs) and
// applies them to its partitions.
func (s *Store) SetTopicConfig(name string, overrides map[string]string, validateOnly bool) error {
	cfg, err := ParseConfig(s.opts.Defaults, overrides)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, ErrUnknownTopic)
	}
	if validateOnly {
		return nil
	}
	old := t.Overrides
	t.Overrides = maps(overrides)
	if err := s.writeTopicMeta(t, len(t.Partitions)); err != nil {
		t.Overrides = old
		return fmt.Errorf("alter configs of %s: %w", name, err)
	}
	for _, p := range t.Partitions {
		p.cfg.Store(&cfg)
	}
	return nil
}
