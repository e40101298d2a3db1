package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A Shipper is a real log shipper (syslog-ng or rsyslog from Debian) run by
// a test in the foreground as a child process, with its own config, pid
// file, state directory and control socket in t.TempDir(): it never touches
// the machine's system logging. It reads newline-framed lines from a TCP
// input on a free loopback port (Send) and forwards them through the
// destination the test configured.
type Shipper struct {
	// Name is the daemon's name, for messages: "syslog-ng" or "rsyslogd".
	Name string
	// Dir is the temporary directory holding the config and the state.
	Dir string
	// Config is the config file as written, for failure messages.
	Config string

	addr string
	cmd  *exec.Cmd
	out  *SyncBuffer
	done chan struct{}
	err  error // the process's exit error, set before done is closed
}

// Bounds of a shipper's lifetime in a test.
const (
	shipperStartTimeout = 15 * time.Second
	shipperStopTimeout  = 10 * time.Second
)

// DefaultRsyslogRoot is where .ci/run unpacks the rsyslog and
// rsyslog-elasticsearch packages (apt-get download + dpkg -x): they
// conflict with syslog-ng-core in apt, so they are not installed as
// packages. rsyslogd is <root>/usr/sbin/rsyslogd and its modules are in
// <root>/usr/lib/<triplet>/rsyslog.
const DefaultRsyslogRoot = "/opt/sluice-test/rsyslog"

// SyslogNG starts syslog-ng with destination as its only destination, a
// driver expression such as SyslogNGHTTP(...) or SyslogNGElasticsearch(...),
// fed by a TCP source whose lines become $MESSAGE unparsed
// (flags(no-parse)). time-reopen(1) makes a suspended destination retry
// after one second instead of syslog-ng's default 60. It skips the test
// when syslog-ng is missing (fails under SLUICE_REQUIRE_SERVERS=1) and
// stops the daemon at cleanup; likewise when destination uses http() or
// elasticsearch-http() and syslog-ng-mod-http or syslog-ng-scl is missing.
func SyslogNG(t testing.TB, destination string) *Shipper {
	t.Helper()
	bin := RequireBinary(t, "syslog-ng")
	if strings.Contains(destination, "http(") {
		if mods, _ := filepath.Glob("/usr/lib/syslog-ng/*/libhttp.so"); len(mods) == 0 {
			missingServer(t, "syslog-ng http() module", errors.New("no /usr/lib/syslog-ng/*/libhttp.so: install syslog-ng-mod-http"))
		}
	}
	if strings.Contains(destination, "elasticsearch-http(") {
		if _, err := os.Stat("/usr/share/syslog-ng/include/scl/elasticsearch/elastic-http.conf"); err != nil {
			missingServer(t, "syslog-ng elasticsearch-http()", fmt.Errorf("%w: install syslog-ng-scl", err))
		}
	}
	dir := t.TempDir()
	return startShipper(t, "syslog-ng", dir, func(port int) (string, []string) {
		conf := fmt.Sprintf(`@version: 3.38
@include "scl.conf"

options { time-reopen(1); stats-freq(0); keep-hostname(yes); };

source s_test {
  network(ip("127.0.0.1") port(%d) transport("tcp") flags(no-parse) log-iw-size(10000) max-connections(100));
};

destination d_test {
  %s
};

log { source(s_test); destination(d_test); flags(flow-control); };
`, port, destination)
		args := []string{bin, "--foreground", "--stderr", "--no-caps",
			"--cfgfile", filepath.Join(dir, "syslog-ng.conf"),
			"--persist-file", filepath.Join(dir, "syslog-ng.persist"),
			"--pidfile", filepath.Join(dir, "syslog-ng.pid"),
			"--control", filepath.Join(dir, "syslog-ng.ctl"),
		}
		return conf, args
	})
}

// Rsyslog starts rsyslogd with config appended after a TCP input (imtcp)
// bound to the default ruleset, so config's top-level statements (module
// loads, templates, actions such as RsyslogElasticsearch(...)) receive each
// line with the line as rawmsg. The work directory (queues, state) is in
// the temp dir. rsyslogd is $SLUICE_RSYSLOGD, else DefaultRsyslogRoot's,
// else rsyslogd on PATH; modules come from the unpacked tree next to it
// when there is one (-M). It skips the test when none is found (fails under
// SLUICE_REQUIRE_SERVERS=1) and stops the daemon at cleanup.
func Rsyslog(t testing.TB, config string) *Shipper {
	t.Helper()
	bin, modDir := findRsyslogd(t)
	dir := t.TempDir()
	return startShipper(t, "rsyslogd", dir, func(port int) (string, []string) {
		// Internal messages go through the rules to a file of their own,
		// not to the machine's /dev/log.
		conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k" processInternalMessages="on")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%d")
if $inputname == "rsyslogd" then {
  action(type="omfile" file=%q)
  stop
}

%s
`, dir, port, filepath.Join(dir, rsyslogInternalLog), config)
		args := []string{bin, "-n", "-f", filepath.Join(dir, "rsyslog.conf"), "-i", filepath.Join(dir, "rsyslogd.pid")}
		if modDir != "" {
			args = append(args, "-M", modDir)
		}
		return conf, args
	})
}

// rsyslogInternalLog is the file in Shipper.Dir receiving rsyslogd's own
// messages.
const rsyslogInternalLog = "rsyslogd-internal.log"

// findRsyslogd returns the rsyslogd binary and its module directory (empty
// for the compiled-in one).
func findRsyslogd(t testing.TB) (bin, modDir string) {
	t.Helper()
	bin = os.Getenv("SLUICE_RSYSLOGD")
	if bin == "" {
		if p := filepath.Join(DefaultRsyslogRoot, "usr/sbin/rsyslogd"); isExecutable(p) {
			bin = p
		}
	}
	if bin == "" {
		bin = RequireBinary(t, "rsyslogd")
	} else if !isExecutable(bin) {
		missingServer(t, "rsyslogd", fmt.Errorf("SLUICE_RSYSLOGD=%s is not an executable file", bin))
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(bin))) // <root>/usr/sbin/rsyslogd
	if mods, _ := filepath.Glob(filepath.Join(root, "usr/lib/*/rsyslog/imtcp.so")); len(mods) > 0 && root != "/" {
		modDir = filepath.Dir(mods[0])
	}
	return bin, modDir
}

// startShipper writes the config render returns for a free port and starts
// the daemon, retrying with another port when the chosen one was taken
// meanwhile, then waits until the port accepts connections.
func startShipper(t testing.TB, name, dir string, render func(port int) (conf string, args []string)) *Shipper {
	t.Helper()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("pick a port for %s: %v", name, err)
		}
		conf, args := render(port)
		confPath := args[slicesIndexAfter(args, "--cfgfile", "-f")]
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatalf("write %s config: %v", name, err)
		}
		s := &Shipper{Name: name, Dir: dir, Config: conf, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			out: &SyncBuffer{}, done: make(chan struct{})}
		if lastErr = s.start(args); lastErr == nil {
			t.Cleanup(func() { s.stop(t) })
			return s
		}
		if !strings.Contains(s.Log(), "in use") {
			break
		}
	}
	t.Fatalf("start %s: %v", name, lastErr)
	return nil
}

// slicesIndexAfter returns the index after the first of flags in args.
func slicesIndexAfter(args []string, flags ...string) int {
	for i, a := range args {
		for _, f := range flags {
			if a == f {
				return i + 1
			}
		}
	}
	panic("testenv: no config flag in shipper arguments")
}

// start runs the daemon and waits until its input port accepts
// connections, or it exits, or shipperStartTimeout passes.
func (s *Shipper) start(args []string) error {
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(shipperStartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before listening on %s: %v\nconfig:\n%s\noutput:\n%s", s.Name, s.addr, s.err, s.Config, s.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("%s did not listen on %s within %v\nconfig:\n%s\noutput:\n%s", s.Name, s.addr, shipperStartTimeout, s.Config, s.Log())
		}
	}
}

// Addr is the host:port of the shipper's TCP input.
func (s *Shipper) Addr() string { return s.addr }

// Log returns what the daemon wrote to stdout and stderr so far, and, for
// rsyslogd, its internal messages.
func (s *Shipper) Log() string {
	internal, _ := os.ReadFile(filepath.Join(s.Dir, rsyslogInternalLog))
	return s.out.String() + string(internal)
}

// Send writes lines to the shipper's TCP input, one per line, on one
// connection, and closes it. A line must not contain a newline.
func (s *Shipper) Send(t testing.TB, lines ...string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connect to %s input %s: %v\n%s", s.Name, s.addr, err, s.Log())
	}
	defer conn.Close()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("send to %s: line %q contains a line break", s.Name, l)
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatalf("send %d lines to %s: %v\n%s", len(lines), s.Name, err, s.Log())
	}
}

// Running reports whether the daemon is still running.
func (s *Shipper) Running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, then SIGKILL after shipperStopTimeout, and logs the
// daemon's output when the test failed.
func (s *Shipper) stop(t testing.TB) {
	t.Helper()
	if s.Running() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), shipperStopTimeout)
		defer cancel()
		select {
		case <-s.done:
		case <-ctx.Done():
			t.Errorf("%s did not stop within %v of SIGTERM; killed", s.Name, shipperStopTimeout)
			s.kill()
		}
	} else if s.err != nil && !errors.Is(s.err, context.Canceled) {
		t.Errorf("%s exited during the test: %v\n%s", s.Name, s.err, s.Log())
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", s.Name, s.Log())
	}
}

// kill kills the daemon's process group and waits for it to exit.
func (s *Shipper) kill() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(shipperStopTimeout):
	}
}
