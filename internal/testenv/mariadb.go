package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDB is a throwaway MariaDB server (Debian's mariadbd) on a free
// loopback port, with its data directory, option file, unix socket and
// logs under the test's temporary directory. Its binary log is on in row
// format with full row images (what CDC readers need). Clients log in as
// User with Password over TCP; the server's clock zone is UTC and its
// default character set utf8mb4.
type MariaDB struct {
	// Host is the address clients connect to (127.0.0.1).
	Host string
	// Port is the TCP port the server listens on.
	Port int
	// User is the administrative account (root), allowed everything.
	User string
	// Password is User's password, different for every server.
	Password string
	// DataDir is the server's data directory; the binary log files
	// (binlog.000001, ...) are in it.
	DataDir string
	// Socket is the path of the server's unix socket.
	Socket string

	dir    string        // holds my.cnf, init.sql, the pid file and the error log
	proc   *os.Process   // the running mariadbd
	exited chan struct{} // closed when proc has exited
	err    error         // proc's exit status, once exited is closed
}

// mariadbDefaults are the server options every test server gets: row-based
// binary log for CDC, and memory and durability traded for a fast start.
// Keys use underscores; MariaDBSetting normalises dashes to them.
var mariadbDefaults = map[string]string{
	"log_bin":                        "binlog",
	"binlog_format":                  "ROW",
	"binlog_row_image":               "FULL",
	"server_id":                      "1",
	"skip_name_resolve":              "",
	"character_set_server":           "utf8mb4",
	"default_time_zone":              "+00:00",
	"innodb_buffer_pool_size":        "16M",
	"innodb_log_file_size":           "8M",
	"innodb_flush_log_at_trx_commit": "0",
	"innodb_doublewrite":             "0",
	"sync_binlog":                    "0",
	"performance_schema":             "OFF",
	"key_buffer_size":                "1M",
	"aria_pagecache_buffer_size":     "8M",
}

// MariaDBOption changes how StartMariaDB configures the server.
type MariaDBOption func(settings map[string]string)

// MariaDBSetting sets a server option in the [mariadbd] group of the
// server's option file, on top of the defaults or replacing one (e.g.
// MariaDBSetting("binlog_row_metadata", "FULL")). An empty value writes the
// bare option name, for flags such as "skip_log_bin". Dashes and
// underscores in name are the same to MariaDB and here.
func MariaDBSetting(name, value string) MariaDBOption {
	return func(settings map[string]string) {
		settings[strings.ReplaceAll(name, "-", "_")] = value
	}
}

// StartMariaDB starts a MariaDB server; it stops, and its files are
// removed, when the test ends. It skips the test when mariadbd or
// mariadb-install-db is missing (fails under SLUICE_REQUIRE_SERVERS=1).
func StartMariaDB(t testing.TB, opts ...MariaDBOption) *MariaDB {
	t.Helper()
	mariadbd, installDB, err := findMariaDB()
	if err != nil {
		missingServer(t, "mariadb", err)
	}
	dir := t.TempDir()
	m := &MariaDB{
		Host: "127.0.0.1", User: "root", Password: randomPassword(t),
		DataDir: filepath.Join(dir, "data"), Socket: mariadbSocket(t, dir), dir: dir,
	}
	conf := maps.Clone(mariadbDefaults)
	for _, opt := range opts {
		opt(conf)
	}
	maps.Copy(conf, map[string]string{
		"datadir":      m.DataDir,
		"bind_address": m.Host,
		"socket":       m.Socket,
		"pid_file":     filepath.Join(dir, "mariadbd.pid"),
		"log_error":    filepath.Join(dir, "error.log"),
		// A temporary directory of its own: mariadb-install-db's bootstrap
		// names its temporary tables after the process, and two servers
		// initialised at once in the shared /tmp collided ("Could not
		// remove temporary table '/tmp/#sql-temptable-…'").
		"tmpdir": filepath.Join(dir, "tmp"),
		// Runs before the server accepts connections: root has a password
		// from the first login on.
		"init_file": filepath.Join(dir, "init.sql"),
	})
	if err := os.Mkdir(conf["tmpdir"], 0o700); err != nil {
		t.Fatalf("create mariadb tmpdir: %v", err)
	}
	m.writeInitFile(t)
	// mariadb-install-db reads the option file too, so the data directory
	// is created with the same InnoDB settings the server runs with.
	m.writeConf(t, conf)
	args := []string{"--defaults-file=" + m.confPath(), "--auth-root-authentication-method=normal", "--skip-test-db"}
	args = append(args, runAsArgs()...)
	if out, err := exec.Command(installDB, args...).CombinedOutput(); err != nil {
		errLog, _ := os.ReadFile(conf["log_error"]) // the cause; out mostly says to read it
		t.Fatalf("initialise mariadb data directory with %s: %v\n%s\n%s", installDB, err, errLog, out)
	}
	m.start(t, mariadbd, conf)
	t.Cleanup(func() { m.stop(t) })
	return m
}

// DSN returns the go-sql-driver/mysql data source name for database db
// (empty: no default database) as User, over TCP, with DATETIME and
// TIMESTAMP columns scanned into time.Time in UTC.
func (m *MariaDB) DSN(db string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = m.User, m.Password
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	cfg.DBName = db
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.Timeout = 10 * time.Second
	return cfg.FormatDSN()
}

// JDBCURL returns the JDBC URL of database db, as a JDBC connector's
// connection.url takes it; the credentials go in separate settings
// (connection.user / connection.password).
func (m *MariaDB) JDBCURL(db string) string {
	return fmt.Sprintf("jdbc:mariadb://%s/%s", net.JoinHostPort(m.Host, strconv.Itoa(m.Port)), db)
}

// Open returns a connection pool to database db (empty: none), closed when
// the test ends.
func (m *MariaDB) Open(t testing.TB, db string) *sql.DB {
	t.Helper()
	pool, err := sql.Open("mysql", m.DSN(db))
	if err != nil {
		t.Fatalf("open test mariadb: %v", err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

// Exec runs each statement in turn with no default database (qualify table
// names: db.table), failing the test at the first error.
func (m *MariaDB) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatalf("open test mariadb: %v", err)
	}
	defer pool.Close()
	for _, stmt := range stmts {
		if _, err := pool.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("exec %q on test mariadb: %v", stmt, err)
		}
	}
}

// CreateDatabase creates database name (utf8mb4), failing the test if it
// exists.
func (m *MariaDB) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	m.Exec(t, "CREATE DATABASE `"+strings.ReplaceAll(name, "`", "``")+"` CHARACTER SET utf8mb4")
}

// findMariaDB looks for mariadbd and mariadb-install-db on PATH, then where
// Debian installs them (/usr/sbin is not on every user's PATH).
func findMariaDB() (mariadbd, installDB string, err error) {
	find := func(name, fallback string) (string, error) {
		path, err := exec.LookPath(name)
		if err == nil {
			return path, nil
		}
		if isExecutable(fallback) {
			return fallback, nil
		}
		return "", fmt.Errorf("find %s on PATH or at %s: %w", name, fallback, err)
	}
	mariadbd, errD := find("mariadbd", "/usr/sbin/mariadbd")
	installDB, errI := find("mariadb-install-db", "/usr/bin/mariadb-install-db")
	return mariadbd, installDB, errors.Join(errD, errI)
}

// runAsArgs returns the --user option mariadbd needs when started as root
// (it refuses to run as root otherwise); others run it as themselves.
func runAsArgs() []string {
	if os.Geteuid() == 0 {
		return []string{"--user=root"}
	}
	return nil
}

func randomPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("generate mariadb password: %v", err)
	}
	return hex.EncodeToString(b)
}

// mariadbSocket returns the socket path: inside dir unless that path would
// exceed the kernel's limit on socket paths (108 bytes).
func mariadbSocket(t testing.TB, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "mariadbd.sock")
	if len(sock) < 100 {
		return sock
	}
	short, err := os.MkdirTemp("", "mdbsock")
	if err != nil {
		t.Fatalf("create mariadb socket dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	return filepath.Join(short, "mariadbd.sock")
}

func (m *MariaDB) confPath() string { return filepath.Join(m.dir, "my.cnf") }

// writeConf writes conf as the [mariadbd] group of the option file,
// sorted, values quoted.
func (m *MariaDB) writeConf(t testing.TB, conf map[string]string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# testenv\n[mariadbd]\n")
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		if conf[k] == "" {
			fmt.Fprintf(&b, "%s\n", k)
			continue
		}
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(conf[k])
		fmt.Fprintf(&b, "%s = \"%s\"\n", k, v)
	}
	if err := os.WriteFile(m.confPath(), []byte(b.String()), 0o600); err != nil {
		t.Fatalf("write mariadb option file: %v", err)
	}
}

// writeInitFile writes the SQL the server runs at start: root's password
// on every host mariadb-install-db created root for. It stays out of the
// binary log, which so starts empty for CDC tests.
func (m *MariaDB) writeInitFile(t testing.TB) {
	t.Helper()
	var b strings.Builder
	b.WriteString("SET sql_log_bin = 0;\n")
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		fmt.Fprintf(&b, "ALTER USER 'root'@'%s' IDENTIFIED BY '%s';\n", host, m.Password)
	}
	if err := os.WriteFile(filepath.Join(m.dir, "init.sql"), []byte(b.String()), 0o600); err != nil {
		t.Fatalf("write mariadb init file: %v", err)
	}
}

// start starts mariadbd on a free port and waits until it answers,
// retrying with another port when the chosen one was taken meanwhile.
func (m *MariaDB) start(t testing.TB, mariadbd string, conf map[string]string) {
	t.Helper()
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("pick a port for mariadb: %v", err)
		}
		m.Port = port
		conf["port"] = strconv.Itoa(port)
		m.writeConf(t, conf)
		if lastErr = m.launch(mariadbd); lastErr == nil {
			return
		}
		errLog, _ := os.ReadFile(conf["log_error"])
		lastErr = fmt.Errorf("%w\n%s", lastErr, errLog)
	}
	t.Fatalf("start mariadb: %v", lastErr)
}

// launch starts mariadbd in the foreground and waits up to a minute for it
// to accept logins; on failure the process is gone when it returns.
func (m *MariaDB) launch(mariadbd string) error {
	cmd := exec.Command(mariadbd, append([]string{"--defaults-file=" + m.confPath()}, runAsArgs()...)...)
	cmd.Dir = m.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	m.proc, m.exited, m.err = cmd.Process, make(chan struct{}), nil
	go func() {
		m.err = cmd.Wait()
		close(m.exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var pingErr error
	for {
		if pingErr = m.ping(ctx); pingErr == nil {
			return nil
		}
		select {
		case <-m.exited:
			return fmt.Errorf("mariadbd exited: %v", m.err)
		case <-ctx.Done():
			m.kill()
			return fmt.Errorf("mariadbd did not accept logins within a minute: %w", pingErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ping logs in once; a refused TCP connection is cheap, so it is tried
// before the driver (which would log the failure).
func (m *MariaDB) ping(ctx context.Context) error {
	addr := net.JoinHostPort(m.Host, strconv.Itoa(m.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	conn.Close()
	pool, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return err
	}
	defer pool.Close()
	return pool.PingContext(ctx)
}

// kill ends the server at once (the data is thrown away) and waits up to
// 30 seconds for it to exit.
func (m *MariaDB) kill() error {
	if err := m.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill mariadbd (pid %d): %w", m.proc.Pid, err)
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("mariadbd (pid %d) still running 30s after SIGKILL", m.proc.Pid)
	}
}

func (m *MariaDB) stop(t testing.TB) {
	t.Helper()
	if err := m.kill(); err != nil {
		t.Errorf("stop mariadb in %s: %v", m.dir, err)
	}
}
