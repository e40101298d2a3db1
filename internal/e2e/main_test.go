package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sluiceBin is the binary under test: built by TestMain, or the one named
// by SLUICE_E2E_BIN (to test a release build).
var sluiceBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("SLUICE_E2E_BIN"); bin != "" {
		sluiceBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: make temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "github.com/sluicehq/sluice/cmd/sluice")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build cmd/sluice: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// freeAddr returns a loopback host:port that was free a moment ago,
// below the kernel's ephemeral range when it can: a port the kernel gave
// out (":0") and was closed again can be handed to an outgoing connection
// before the server that is to listen on it binds, which failed a cluster
// test with "address already in use".
func freeAddr(t testing.TB) string {
	t.Helper()
	if low := ephemeralLow(); low > 11000 {
		for range 200 {
			addr := "127.0.0.1:" + strconv.Itoa(10000+rand.IntN(low-10000))
			if l, err := net.Listen("tcp", addr); err == nil {
				l.Close()
				return addr
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// ephemeralLow is the first port of the kernel's ephemeral range, 0 when
// unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// readyLine is what the broker logs once it accepts connections.
const readyLine = "sluice broker listening"

// proc is one run of the sluice binary as a child process. Its stderr goes
// to a shared log (kept across restarts) that tests dump on failure.
type proc struct {
	cmd   *exec.Cmd
	out   *procLog
	ready chan struct{}
	done  chan struct{}
	err   error // from Wait, valid once done is closed
}

// startProc runs sluice with args and waits until it logs readyLine.
func startProc(t testing.TB, out *procLog, args ...string) *proc {
	t.Helper()
	return startProcUntil(t, out, readyLine, args...)
}

// startProcUntil runs sluice with args and waits until it logs a line
// containing ready.
func startProcUntil(t testing.TB, out *procLog, ready string, args ...string) *proc {
	t.Helper()
	return startCmdUntil(t, out, ready, exec.Command(sluiceBin, args...))
}

// startCmdUntil runs cmd, a command running sluice, and waits until it
// logs a line containing ready.
func startCmdUntil(t testing.TB, out *procLog, ready string, cmd *exec.Cmd) *proc {
	t.Helper()
	args := cmd.Args[1:]
	p := &proc{out: out, ready: make(chan struct{}), done: make(chan struct{}), cmd: cmd}
	p.cmd.Stdout = out
	p.cmd.Stderr = out.watch(ready, p.ready)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sluice %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case <-p.ready:
	case <-p.done:
		t.Fatalf("sluice %s exited before listening: %v\n%s", strings.Join(args, " "), p.err, out.tail(40))
	case <-time.After(20 * time.Second):
		p.kill()
		t.Fatalf("sluice %s did not log %q within 20s\n%s", strings.Join(args, " "), ready, out.tail(40))
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone; it is a no-op
// once the process has exited.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// terminate sends SIGTERM and waits up to timeout for a clean exit.
func (p *proc) terminate(t testing.TB, timeout time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("send SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		t.Fatalf("sluice did not exit within %s of SIGTERM\n%s", timeout, p.out.tail(40))
	}
	if p.err != nil {
		t.Fatalf("sluice exited with %v after SIGTERM, want status 0\n%s", p.err, p.out.tail(40))
	}
}

// procLog collects the output of one or more runs of a process. It is
// written by exec's copying goroutines and read by the test.
type procLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// watch returns a writer into the log that closes ch the first time a
// line containing needle is written.
func (l *procLog) watch(needle string, ch chan struct{}) *lineWatcher {
	return &lineWatcher{log: l, needle: needle, ch: ch}
}

func (l *procLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// String returns everything logged so far.
func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// tail returns the last n lines logged.
func (l *procLog) tail(n int) string { return lastLines(l.String(), n) }

// lineWatcher writes into a procLog and signals when a line matches.
type lineWatcher struct {
	log     *procLog
	needle  string
	ch      chan struct{}
	partial []byte
	fired   bool
}

func (w *lineWatcher) Write(b []byte) (int, error) {
	// Log first, then signal: a test woken by the signal reads the log.
	n, err := w.log.Write(b)
	if !w.fired {
		w.partial = append(w.partial, b...)
		for {
			i := bytes.IndexByte(w.partial, '\n')
			if i < 0 {
				break
			}
			if bytes.Contains(w.partial[:i], []byte(w.needle)) {
				w.fired = true
				close(w.ch)
				w.partial = nil
				break
			}
			w.partial = w.partial[i+1:]
		}
	}
	return n, err
}

// startBroker runs `sluice broker` on addr with data directory dir and
// extra server.properties keys (key=value).
func startBroker(t testing.TB, out *procLog, dir, addr string, props ...string) *proc {
	t.Helper()
	args := []string{"broker", "--set", "listeners=PLAINTEXT://" + addr, "--set", "log.dirs=" + dir}
	for _, kv := range props {
		args = append(args, "--set", kv)
	}
	return startProc(t, out, args...)
}

// dumpOnFailure logs the tail of l when the test fails. With
// SLUICE_E2E_LOGS=DIR it also writes the whole log to DIR/<test>-<name>.log.
func dumpOnFailure(t testing.TB, name string, l *procLog) {
	t.Cleanup(func() {
		if dir := os.Getenv("SLUICE_E2E_LOGS"); dir != "" {
			file := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "-" + name + ".log")
			if err := os.WriteFile(filepath.Join(dir, file), []byte(l.String()), 0o644); err != nil {
				t.Errorf("save %s output: %v", name, err)
			}
		}
		if t.Failed() && l.String() != "" {
			t.Logf("last lines of %s output:\n%s", name, l.tail(60))
		}
	})
}
