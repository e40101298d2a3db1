package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// FileOffsetStore keeps source offsets in a JSON file for standalone mode
// (offset.storage.file.filename). Every Set replaces the file atomically:
// a temporary file in the same directory is written and fsynced, renamed
// over the old one, and the directory fsynced; a crash at any point leaves
// either the old file or the new one.
//
// The file holds the offsets topic's records, one per line:
//
//	{"version":1,"offsets":[
//	{"key":["my-connector",{"file":"a.txt"}],"value":{"position":42}}
//	]}
//
// Kafka's own standalone file is a Java-serialized map and cannot be
// read here; the records can be replayed to an offsets topic as they are.
type FileOffsetStore struct {
	path string
	fs   fileSystem
	log  *slog.Logger

	// indexedOffsets' mutex is held across a whole Set, so saves are
	// serialized.
	indexedOffsets
}

var _ OffsetStore = (*FileOffsetStore)(nil)

const offsetFileVersion = 1

// NewFileOffsetStore returns a store on path; it does no I/O. A nil logger
// discards logs.
func NewFileOffsetStore(path string, logger *slog.Logger) (*FileOffsetStore, error) {
	if path == "" {
		return nil, errors.New("file offset store: path must not be empty")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &FileOffsetStore{path: path, fs: osFS{}, log: logger.With("file", path), indexedOffsets: indexedOffsets{ix: newOffsetIndex()}}, nil
}

// Start creates the file's directory if needed, removes temporary files a
// crash left behind and loads the file if it exists.
func (s *FileOffsetStore) Start(context.Context) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create offsets directory %s: %w", dir, err)
	}
	stale, err := filepath.Glob(filepath.Join(dir, tempPattern(s.path)))
	if err != nil {
		return fmt.Errorf("list temporary offset files in %s: %w", dir, err)
	}
	for _, f := range stale {
		s.log.Info("removing temporary offsets file left by a crash", "temp", f)
		if err := s.fs.Remove(f); err != nil {
			return fmt.Errorf("remove temporary offsets file %s: %w", f, err)
		}
	}
	data, err := s.fs.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read offsets file %s: %w", s.path, err)
	}
	ix, err := parseOffsetFile(data)
	if err != nil {
		return fmt.Errorf("load offsets file %s: %w", s.path, err)
	}
	s.mu.Lock()
	s.ix = ix
	s.mu.Unlock()
	return nil
}

// Run waits for ctx to end: nobody else writes the file.
func (s *FileOffsetStore) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close does nothing: every Set already saved the file.
func (s *FileOffsetStore) Close() error { return nil }

// Refresh does nothing: the store holds the only copy.
func (s *FileOffsetStore) Refresh(context.Context) error { return nil }

// Set applies the entries and saves the file; when saving fails the store
// and the file keep their previous contents.
func (s *FileOffsetStore) Set(_ context.Context, connector string, entries []OffsetEntry) error {
	norm, err := normalizeEntries(connector, entries)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	undo := make([]*offsetRecord, len(norm))
	for i, e := range norm {
		undo[i] = s.ix.get(connector, e.canon)
		s.ix.put(connector, e.canon, e.partition, e.offset, nil)
	}
	if err := s.save(encodeOffsetFile(s.ix)); err != nil {
		for i := len(norm) - 1; i >= 0; i-- {
			if prev := undo[i]; prev != nil {
				s.ix.put(connector, norm[i].canon, prev.partition, prev.offset, nil)
			} else {
				s.ix.put(connector, norm[i].canon, norm[i].partition, nil, nil)
			}
		}
		return fmt.Errorf("save %d offsets of connector %s: %w", len(norm), connector, err)
	}
	return nil
}

func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// save replaces the file with data: temp file, fsync, rename, fsync dir.
func (s *FileOffsetStore) save(data []byte) (err error) {
	dir := filepath.Dir(s.path)
	f, err := s.fs.CreateTemp(dir, tempPattern(s.path))
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = s.fs.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := s.fs.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, s.path, err)
	}
	if err := s.fs.SyncDir(dir); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// encodeOffsetFile writes every offset, connectors and partitions sorted.
func encodeOffsetFile(ix *offsetIndex) []byte {
	b := fmt.Appendf(nil, "{\"version\":%d,\"offsets\":[", offsetFileVersion)
	first := true
	for _, connector := range slices.Sorted(maps.Keys(ix.entries)) {
		parts := ix.entries[connector]
		for _, canon := range slices.Sorted(maps.Keys(parts)) {
			r := parts[canon]
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, "\n{\"key\":"...)
			b = append(b, offsetKey(connector, r.partition)...)
			b = append(b, ",\"value\":"...)
			b = appendJSON(b, r.offset)
			b = append(b, '}')
		}
	}
	return append(b, "\n]}\n"...)
}

func parseOffsetFile(data []byte) (*offsetIndex, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("top level is a %s, expected an object", jsonKind(v))
	}
	if version, _ := top["version"].(int64); version != offsetFileVersion {
		return nil, fmt.Errorf("version %v, expected %d", top["version"], offsetFileVersion)
	}
	list, ok := top["offsets"].([]any)
	if !ok {
		return nil, fmt.Errorf("offsets is a %s, expected an array", jsonKind(top["offsets"]))
	}
	ix := newOffsetIndex()
	for i, e := range list {
		connector, partition, offset, err := parseOffsetFileEntry(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		ix.put(connector, canonicalPartition(partition), partition, offset, nil)
	}
	return ix, nil
}

func parseOffsetFileEntry(e any) (connector string, partition, offset map[string]any, err error) {
	m, ok := e.(map[string]any)
	if !ok {
		return "", nil, nil, fmt.Errorf("a %s, expected an object", jsonKind(e))
	}
	// Reuse the topic parsers on the re-encoded parts.
	connector, partition, err = parseOffsetKey(appendJSON(nil, m["key"]))
	if err != nil {
		return "", nil, nil, err
	}
	offset, err = parseOffsetValue(appendJSON(nil, m["value"]))
	return connector, partition, offset, err
}
