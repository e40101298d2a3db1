package s3

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// The files the sink writes are checked by independent readers: Apache
// Avro's Python reader from Debian (python3-avro, with python3-snappy for
// the snappy codec) and the JS hyparquet
// package. Each helper skips when its reader is missing, and fails
// instead under SLUICE_REQUIRE_SERVERS=1.

// avroFile is one Avro file as Apache Avro's reader sees it.
type avroFile struct {
	Path    string `json:"path"`
	Codec   string `json:"codec"`
	Schema  any    `json:"schema"`
	Records []any  `json:"records"`
}

// debianPython is the Debian interpreter, whose dist-packages hold
// python3-avro (a python3 earlier on PATH may be another one).
const debianPython = "/usr/bin/python3"

// readAvro reads the objects keyed by name with Apache Avro's reader.
func readAvro(t *testing.T, objects map[string][]byte, names ...string) map[string]avroFile {
	t.Helper()
	if out, err := exec.Command(debianPython, "-c", "import avro.datafile, snappy").CombinedOutput(); err != nil {
		if testenv.RequireServers() {
			t.Fatalf("python3-avro or python3-snappy is not installed (apt-get install python3-avro python3-snappy) and SLUICE_REQUIRE_SERVERS=1: %v\n%s", err, out)
		}
		t.Skipf("python3-avro or python3-snappy is not installed (apt-get install python3-avro python3-snappy): %v", err)
	}
	paths := writeFiles(t, objects, names)
	cmd := exec.Command(debianPython, append([]string{"testdata/read_avro.py"}, paths...)...)
	out, err := cmd.Output()
	require.NoError(t, err, "read_avro.py: %s", stderrOf(err))
	got := map[string]avroFile{}
	for i, line := range lines(out) {
		var f avroFile
		require.NoError(t, json.Unmarshal([]byte(line), &f), line)
		got[names[i]] = f
	}
	require.Len(t, got, len(names))
	return got
}

// parquetFile is one Parquet file as hyparquet sees it.
type parquetFile struct {
	Path      string            `json:"path"`
	RowGroups int               `json:"rowGroups"`
	Codecs    []string          `json:"codecs"`
	KV        map[string]string `json:"kv"`
	Schema    pqSchema          `json:"schema"`
	Rows      []map[string]any  `json:"rows"`
}

type pqSchema struct {
	Name       string         `json:"name"`
	Repetition string         `json:"repetition"`
	Type       string         `json:"type"`
	Converted  string         `json:"converted"`
	Logical    map[string]any `json:"logical"`
	Children   []pqSchema     `json:"children"`
}

// child returns the schema's child named name.
func (s pqSchema) child(t *testing.T, name string) pqSchema {
	t.Helper()
	for _, c := range s.Children {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("Parquet schema %s has no child %s", s.Name, name)
	return pqSchema{}
}

// readParquet reads the objects keyed by name with hyparquet.
func readParquet(t *testing.T, objects map[string][]byte, names ...string) map[string]parquetFile {
	t.Helper()
	dir := testenv.NPMProject(t, "testdata/hyparquet", "testdata/hyparquet/read.mjs")
	paths := writeFiles(t, objects, names)
	out, err := exec.Command("node", append([]string{filepath.Join(dir, "read.mjs")}, paths...)...).Output()
	require.NoError(t, err, "read.mjs: %s", stderrOf(err))
	got := map[string]parquetFile{}
	for i, line := range lines(out) {
		var f parquetFile
		require.NoError(t, json.Unmarshal([]byte(line), &f), line)
		got[names[i]] = f
	}
	require.Len(t, got, len(names))
	return got
}

func writeFiles(t *testing.T, objects map[string][]byte, names []string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, n := range names {
		b, ok := objects[n]
		require.True(t, ok, "no object %s among %v", n, keys(objects))
		p := filepath.Join(dir, strings.Repeat("f", i+1)+filepath.Ext(n))
		require.NoError(t, os.WriteFile(p, b, 0o644))
		paths = append(paths, p)
	}
	return paths
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
