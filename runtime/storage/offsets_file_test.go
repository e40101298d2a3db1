package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newFileOffsetStore(t *testing.T, path string) *FileOffsetStore {
	t.Helper()
	s, err := NewFileOffsetStore(path, nil)
	require.NoError(t, err)
	startStore(t, s, false)
	return s
}

func TestFileOffsetStoreFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "connect.offsets")
	s := newFileOffsetStore(t, path)
	require.NoError(t, s.Set(testCtx(t), "b-conn", []OffsetEntry{{Partition: map[string]any{"f": "x"}, Offset: map[string]any{"pos": 1, "r": 2.0}}}))
	require.NoError(t, s.Set(testCtx(t), "a-conn", []OffsetEntry{
		{Partition: map[string]any{"z": 1, "a": true}, Offset: map[string]any{"o": "s"}},
		{Partition: nil, Offset: map[string]any{"o": nil}},
	}))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, `{"version":1,"offsets":[
{"key":["a-conn",null],"value":{"o":null}},
{"key":["a-conn",{"a":true,"z":1}],"value":{"o":"s"}},
{"key":["b-conn",{"f":"x"}],"value":{"pos":1,"r":2.0}}
]}
`, string(data))

	// Fields in any order, as a person or a tool might write them.
	require.NoError(t, os.WriteFile(path, []byte(`{"offsets":[{"value":{"o":5},"key":["c",{"y":"1","x":2}]}],"version":1}`), 0o644))
	s2 := newFileOffsetStore(t, path)
	got, err := s2.Get("c", map[string]any{"x": 2, "y": "1"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"o": int64(5)}, got)
}

func TestFileOffsetStoreRejectsBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, data, err string }{
		{"not json", `{`, "load offsets file"},
		{"wrong version", `{"version":2,"offsets":[]}`, "version 2, expected 1"},
		{"offsets not array", `{"version":1,"offsets":{}}`, "offsets is a object"},
		{"bad key", `{"version":1,"offsets":[{"key":"c","value":{}}]}`, "entry 0: offset key is a string"},
		{"bad value", `{"version":1,"offsets":[{"key":["c",{}],"value":[]}]}`, "entry 0: offset value is a array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "o.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.data), 0o644))
			s, err := NewFileOffsetStore(path, nil)
			require.NoError(t, err)
			require.ErrorContains(t, s.Start(testCtx(t)), tc.err)
		})
	}
	_, err := NewFileOffsetStore("", nil)
	require.ErrorContains(t, err, "path must not be empty")
}

// crashFS fails one step of a save and then behaves like a crashed
// process: it cleans nothing up.
type crashFS struct {
	osFS
	failAt  string // "write", "sync", "rename"
	crashed bool
}

var errCrash = errors.New("simulated crash")

type crashFile struct {
	*os.File
	fs *crashFS
}

func (f crashFile) Write(p []byte) (int, error) {
	if f.fs.failAt == "write" {
		n, _ := f.File.Write(p[:len(p)/2]) // a torn write
		f.fs.crashed = true
		return n, errCrash
	}
	return f.File.Write(p)
}

func (f crashFile) Sync() error {
	if f.fs.failAt == "sync" {
		f.fs.crashed = true
		return errCrash
	}
	return f.File.Sync()
}

func (c *crashFS) CreateTemp(dir, pattern string) (tempFile, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return crashFile{f, c}, nil
}

func (c *crashFS) Rename(oldpath, newpath string) error {
	if c.failAt == "rename" {
		c.crashed = true
		return errCrash
	}
	return os.Rename(oldpath, newpath)
}

func (c *crashFS) Remove(name string) error {
	if c.crashed {
		return nil
	}
	return os.Remove(name)
}

func TestFileOffsetStoreCrashMidWriteKeepsOldFile(t *testing.T) {
	for _, step := range []string{"write", "sync", "rename"} {
		t.Run(step, func(t *testing.T) {
			ctx := testCtx(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "connect.offsets")
			s := newFileOffsetStore(t, path)
			old := []OffsetEntry{{Partition: map[string]any{"f": "a"}, Offset: map[string]any{"pos": int64(1)}}}
			require.NoError(t, s.Set(ctx, "c", old))
			before, err := os.ReadFile(path)
			require.NoError(t, err)

			fs := &crashFS{failAt: step}
			s.fs = fs
			err = s.Set(ctx, "c", []OffsetEntry{
				{Partition: map[string]any{"f": "a"}, Offset: map[string]any{"pos": 2}},
				{Partition: map[string]any{"f": "new"}, Offset: map[string]any{"pos": 1}},
			})
			require.ErrorIs(t, err, errCrash)
			assert.Equal(t, old, s.Offsets("c"), "a failed Set leaves the store as it was")

			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(before), string(after), "the old file is intact")
			leftovers, err := filepath.Glob(filepath.Join(dir, ".connect.offsets.tmp-*"))
			require.NoError(t, err)
			require.Len(t, leftovers, 1, "the crash left its temporary file")

			// The next start loads the old offsets and removes the debris.
			reopened := newFileOffsetStore(t, path)
			assert.Equal(t, old, reopened.Offsets("c"))
			leftovers, err = filepath.Glob(filepath.Join(dir, ".connect.offsets.tmp-*"))
			require.NoError(t, err)
			assert.Empty(t, leftovers)
		})
	}
}

func TestFileOffsetStoreFailureWithoutCrashCleansUp(t *testing.T) {
	dir := t.TempDir()
	s := newFileOffsetStore(t, filepath.Join(dir, "o"))
	s.fs = &failingRenameFS{}
	require.Error(t, s.Set(testCtx(t), "c", []OffsetEntry{{Partition: map[string]any{"p": 1}, Offset: map[string]any{"o": 1}}}))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

type failingRenameFS struct{ osFS }

func (failingRenameFS) Rename(string, string) error { return errCrash }
