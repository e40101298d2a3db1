package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
)

// readmePath is README.md seen from this package's directory, where tests
// run.
const readmePath = "../../README.md"

// TestREADME runs the README's code blocks as written, read from the file
// at test time, so the README cannot drift from what Sluice does. The
// markers that decide how each block runs are described in
// readme_parse_test.go, the conventions of sh blocks in
// readme_shell_test.go, those of go blocks in readme_go_test.go.
//
// The examples use Sluice's fixed ports (9092, 8083, 8081, …), so each group
// runs only when they are free, one group at a time; otherwise it is
// skipped, or fails under SLUICE_REQUIRE_SERVERS=1.
func TestREADME(t *testing.T) {
	blocks := readmeBlocks(t)
	for _, bin := range []string{"bash", "curl", "jq", "kcat"} {
		testenv.RequireBinary(t, bin)
	}
	prog := buildReadmeGo(t, blocks)
	for _, g := range readmeGroups(blocks) {
		t.Run(g.name, func(t *testing.T) { runReadmeGroup(t, g, prog) })
	}
}

// readmeBlocks reads and parses README.md, failing on a block without a
// marker.
func readmeBlocks(t testing.TB) []readmeBlock {
	t.Helper()
	doc, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatalf("read README: %v", err)
	}
	blocks, err := parseReadme(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// readmeBlockByID returns the README block marked id=NAME.
func readmeBlockByID(t testing.TB, id string) readmeBlock {
	t.Helper()
	for _, b := range readmeBlocks(t) {
		if b.marker.id == id {
			return b
		}
	}
	t.Fatalf("README.md has no block marked id=%s", id)
	return readmeBlock{}
}

// readmeEnv is where one group runs: its working directory, the server
// logs, the environment of its commands and the process groups it started.
type readmeEnv struct {
	t    *testing.T
	dir  string
	logs string
	env  []string
	pg   *testenv.Postgres
	s3   *testenv.S3
	mqtt *testenv.Mosquitto
	prog string // the program of the go blocks
	// lifeline is a pipe whose read end every block's shell gets as fd 3,
	// and whose write end only this process holds (see readmePrelude).
	lifeline [2]*os.File
	pgids    []int
	failed   bool
}

func runReadmeGroup(t *testing.T, g *readmeGroup, prog string) {
	e := newReadmeEnv(t, g, prog)
	for i := range g.blocks {
		b := &g.blocks[i]
		t.Logf("== %s: %s", b.where(), b.marker.action)
		e.runBlock(b)
		if t.Failed() {
			return
		}
	}
}

func newReadmeEnv(t *testing.T, g *readmeGroup, prog string) *readmeEnv {
	e := &readmeEnv{t: t, dir: t.TempDir(), prog: prog}
	e.logs = filepath.Join(e.dir, ".readme-logs")
	if err := os.Mkdir(e.logs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(e.dir, "configs"), os.DirFS("../../configs")); err != nil {
		t.Fatalf("copy configs/: %v", err)
	}
	if g.needs("postgres") {
		testenv.RequireBinary(t, "psql")
		e.pg = testenv.StartPostgres(t)
	}
	if g.needs("s3") {
		e.s3 = testenv.StartS3(t)
		for _, bucket := range readmeBuckets(g) {
			e.s3.CreateBucket(t, bucket)
		}
	}
	if g.needs("mosquitto") {
		e.mqtt = testenv.StartMosquitto(t)
	}
	e.requirePortsFree(g)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	e.lifeline = [2]*os.File{r, w}
	e.env = append(os.Environ(),
		"PATH="+filepath.Dir(sluiceBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"README_LOGS="+e.logs, "README_LIFELINE=3")
	if e.pg != nil {
		e.env = append(e.env, "PGHOST="+e.pg.Host, "PGPORT="+strconv.Itoa(e.pg.Port), "PGUSER=postgres")
	}
	if e.s3 != nil {
		e.env = append(e.env, "AWS_ACCESS_KEY_ID="+e.s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+e.s3.SecretKey)
	}
	t.Cleanup(e.stop)
	return e
}

var readmePort = regexp.MustCompile(`(?:localhost|127\.0\.0\.1):(\d{2,5})\b`)

// requirePortsFree skips the group (fails it under SLUICE_REQUIRE_SERVERS=1)
// when a port its blocks use is taken: Sluice's default ports and every
// localhost:PORT they name.
func (e *readmeEnv) requirePortsFree(g *readmeGroup) {
	ports := []string{"9092", "8083", "8081"}
	for _, b := range g.blocks {
		for _, m := range readmePort.FindAllStringSubmatch(e.rewrite(b.text), -1) {
			ports = append(ports, m[1])
		}
	}
	slices.Sort(ports)
	for _, p := range slices.Compact(ports) {
		if e.pg != nil && p == strconv.Itoa(e.pg.Port) || e.s3 != nil && p == e.s3Port() ||
			e.mqtt != nil && p == strconv.Itoa(e.mqtt.Port) {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			msg := fmt.Sprintf("the README's examples use port %s, which is taken: %v", p, err)
			if testenv.RequireServers() {
				e.t.Fatal(msg + " (SLUICE_REQUIRE_SERVERS=1)")
			}
			e.t.Skip(msg)
		}
		l.Close()
	}
}

// rewrite is a block's text as the test runs it: with needs=postgres the
// README's Postgres port 5432 becomes the throwaway server's, with
// needs=s3 its S3 port 7070, with needs=mosquitto MQTT's 1883.
func (e *readmeEnv) rewrite(text string) string {
	if e.pg != nil {
		text = strings.ReplaceAll(text, "5432", strconv.Itoa(e.pg.Port))
	}
	if e.s3 != nil {
		text = strings.ReplaceAll(text, "7070", e.s3Port())
	}
	if e.mqtt != nil {
		text = strings.ReplaceAll(text, "1883", strconv.Itoa(e.mqtt.Port))
	}
	return text
}

// s3Port is the port of the group's S3 server.
func (e *readmeEnv) s3Port() string {
	return e.s3.Endpoint[strings.LastIndex(e.s3.Endpoint, ":")+1:]
}

var readmeBucket = regexp.MustCompile(`"s3\.bucket\.name":\s*"([^"]+)"`)

// readmeBuckets returns the buckets the blocks of g name.
func readmeBuckets(g *readmeGroup) []string {
	var out []string
	for _, b := range g.blocks {
		for _, m := range readmeBucket.FindAllStringSubmatch(b.text, -1) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (e *readmeEnv) runBlock(b *readmeBlock) {
	switch {
	case b.lang == "sh" && b.marker.action == "serve":
		e.serve(b)
	case b.lang == "sh":
		e.runShell(b)
	case b.lang == "go":
		e.runGo(b)
	case b.lang == "json":
		e.checkJSON(b)
	case b.lang == "properties":
		e.checkProperties(b)
	case b.lang == "sql":
		e.runSQL(b)
	default:
		e.t.Fatalf("%s: no way to run it", b.where())
	}
}

// startShell starts bash on an sh block's script in a process group of its
// own, which the servers it starts in the background stay in.
func (e *readmeEnv) startShell(b *readmeBlock) (*exec.Cmd, string, chan error) {
	script, err := shellScript(b, e.rewrite(b.text))
	if err != nil {
		e.t.Fatal(err)
	}
	name := filepath.Join(e.logs, fmt.Sprintf("block%d", b.line))
	if err := os.WriteFile(name+".sh", []byte(script), 0o644); err != nil {
		e.t.Fatal(err)
	}
	out, err := os.Create(name + ".out")
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("bash", "-euo", "pipefail", name+".sh")
	cmd.Dir, cmd.Env = e.dir, e.env
	// A file, not a pipe: background servers keep their copy of stdout
	// open, and Wait would wait for them.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.ExtraFiles = []*os.File{e.lifeline[0]}
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("%s: start bash: %v", b.where(), err)
	}
	e.pgids = append(e.pgids, cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, name + ".out", done
}

// runShell runs an sh block to its end.
func (e *readmeEnv) runShell(b *readmeBlock) {
	_, outFile, done := e.startShell(b)
	var err error
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		err = fmt.Errorf("still running after 3 minutes")
		e.stop()
	}
	out, _ := os.ReadFile(outFile)
	e.t.Logf("%s output:\n%s", b.where(), out)
	if err != nil {
		e.fail("%s failed: %v", b.where(), err)
	}
}

// serve runs an sh block that runs servers in the foreground: once they
// listen it presses Ctrl-C (SIGINT to the process group) and expects a
// clean exit.
func (e *readmeEnv) serve(b *readmeBlock) {
	cmd, outFile, done := e.startShell(b)
	deadline := time.Now().Add(readmeWaitSeconds * time.Second)
	for {
		ready, err := serversReady(e.logs)
		if err != nil {
			e.t.Fatal(err)
		}
		if ready {
			break
		}
		select {
		case err := <-done:
			out, _ := os.ReadFile(outFile)
			e.fail("%s exited before listening (%v):\n%s", b.where(), err, out)
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.fail("%s did not log that it is listening within %ds", b.where(), readmeWaitSeconds)
			return
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		e.t.Fatalf("%s: send SIGINT: %v", b.where(), err)
	}
	select {
	case err := <-done:
		if err != nil {
			e.fail("%s: after Ctrl-C it exited with %v, want status 0", b.where(), err)
		}
	case <-time.After(30 * time.Second):
		e.fail("%s: still running 30s after Ctrl-C", b.where())
	}
}

// runGo runs the function the go block became.
func (e *readmeEnv) runGo(b *readmeBlock) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.prog, readmeGoFunc(b.line))
	cmd.Dir, cmd.Env = e.dir, e.env
	out, err := cmd.CombinedOutput()
	e.t.Logf("%s output:\n%s", b.where(), out)
	if err != nil {
		e.fail("%s failed: %v", b.where(), err)
	}
}

// runSQL runs an sql block through psql on the group's Postgres.
func (e *readmeEnv) runSQL(b *readmeBlock) {
	if e.pg == nil {
		e.t.Fatalf("%s: sql blocks need needs=postgres in their group", b.where())
	}
	file := filepath.Join(e.logs, fmt.Sprintf("block%d.sql", b.line))
	if err := os.WriteFile(file, []byte(b.text), 0o644); err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", b.marker.db, "-f", file)
	cmd.Dir, cmd.Env = e.dir, e.env
	out, err := cmd.CombinedOutput()
	e.t.Logf("%s output:\n%s", b.where(), out)
	if err != nil {
		e.fail("%s failed: %v", b.where(), err)
	}
}

// fail fails the group, showing the servers' logs.
func (e *readmeEnv) fail(format string, args ...any) {
	e.t.Helper()
	if !e.failed {
		e.failed = true
		logs, _ := filepath.Glob(filepath.Join(e.logs, "*.log"))
		for _, l := range logs {
			out, _ := os.ReadFile(l)
			cmd, _ := os.ReadFile(strings.TrimSuffix(l, ".log") + ".cmd")
			e.t.Logf("last lines of `sluice %s` (%s):\n%s", strings.TrimSpace(string(cmd)), filepath.Base(l), lastLines(string(out), 40))
		}
	}
	e.t.Fatalf(format, args...)
}

// stop ends every process the group started: SIGTERM to each process
// group, then SIGKILL to what is left after 20 s.
func (e *readmeEnv) stop() {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		for _, pgid := range e.pgids {
			_ = syscall.Kill(-pgid, sig)
		}
		deadline := time.Now().Add(20 * time.Second)
		for slices.ContainsFunc(e.pgids, processGroupAlive) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !slices.ContainsFunc(e.pgids, processGroupAlive) {
			break
		}
		e.t.Errorf("processes of the README examples still running 20s after %v", sig)
	}
	e.pgids = nil
	for _, f := range e.lifeline {
		if f != nil {
			f.Close()
		}
	}
}

// processGroupAlive reports whether a process of group pgid is running (a
// zombie is not: the init process may never reap the servers a block left
// in the background).
func processGroupAlive(pgid int) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}
