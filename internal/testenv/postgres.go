package testenv

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL server on a free loopback port, with
// its data directory and unix socket under the test's temporary directory.
// Its superuser is postgres, reached without a password (trust auth) over
// TCP and the socket, including replication connections.
type Postgres struct {
	// Host is the address clients connect to (127.0.0.1).
	Host string
	// Port is the TCP port the server listens on.
	Port int
	// DataDir is the server's data directory.
	DataDir string
	// SocketDir is the directory holding the server's unix socket.
	SocketDir string

	bin   pgBinaries
	owner *syscall.Credential // nil: run the binaries as ourselves
}

// postgresDefaults are the settings every test server gets: logical
// decoding enabled, and durability traded for speed.
var postgresDefaults = map[string]string{
	"wal_level":             "logical",
	"max_replication_slots": "10",
	"max_wal_senders":       "10",
	"fsync":                 "off",
	"synchronous_commit":    "off",
	"full_page_writes":      "off",
}

// pgBinaries are the server programs of one Postgres installation.
type pgBinaries struct{ initdb, pgCtl, postgres string }

// StartPostgres starts a Postgres with wal_level=logical; it stops when the
// test ends. It skips the test when the server binaries are missing (fails
// under SLUICE_REQUIRE_SERVERS=1).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return StartPostgresWith(t, nil)
}

// StartPostgresWith starts a Postgres whose postgresql.conf has settings on
// top of the defaults (e.g. {"wal_level": "replica"}); it stops when the
// test ends.
func StartPostgresWith(t testing.TB, settings map[string]string) *Postgres {
	t.Helper()
	bin, err := findPostgres()
	if err != nil {
		missingServer(t, "postgres", err)
	}
	pg := &Postgres{Host: "127.0.0.1", bin: bin}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		if pg.owner, err = lookupCredential("postgres"); err != nil {
			missingServer(t, "postgres", err)
		}
	}
	dir := t.TempDir()
	pg.DataDir = filepath.Join(dir, "data")
	pg.SocketDir = pg.socketDir(t, dir)
	pg.prepareDirs(t, dir)
	pg.run(t, pg.bin.initdb, "-D", pg.DataDir, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--no-locale", "--no-sync")
	conf := maps.Clone(postgresDefaults)
	maps.Copy(conf, settings)
	conf["listen_addresses"] = pg.Host
	conf["unix_socket_directories"] = pg.SocketDir
	pg.start(t, conf)
	t.Cleanup(func() { pg.stop(t) })
	return pg
}

// DSN returns the URL of database db for the postgres superuser.
func (pg *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable",
		net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)), db)
}

// Exec runs each statement in turn on the postgres database, failing the
// test at the first error.
func (pg *Postgres) Exec(t testing.TB, sql ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		t.Fatalf("connect to test postgres: %v", err)
	}
	defer conn.Close(context.Background())
	for _, stmt := range sql {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("exec %q on test postgres: %v", stmt, err)
		}
	}
}

// RequirePasswords makes every role but postgres authenticate with a
// password (scram-sha-256) over TCP, so tests can exercise wrong
// credentials; postgres itself and unix-socket connections stay trusted.
func (pg *Postgres) RequirePasswords(t testing.TB) {
	t.Helper()
	const hba = `local all all trust
local replication all trust
host all postgres 127.0.0.1/32 trust
host replication postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
`
	if err := os.WriteFile(filepath.Join(pg.DataDir, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatalf("write pg_hba.conf: %v", err)
	}
	pg.reload(t)
}

// reload makes the server reread its config files and waits until new
// connections see the result (the reload is signalled, not awaited).
func (pg *Postgres) reload(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	loadTime := func() time.Time {
		conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
		if err != nil {
			t.Fatalf("connect to test postgres: %v", err)
		}
		defer conn.Close(context.Background())
		var at time.Time
		if err := conn.QueryRow(ctx, "SELECT pg_conf_load_time()").Scan(&at); err != nil {
			t.Fatalf("read config load time: %v", err)
		}
		return at
	}
	before := loadTime()
	pg.Exec(t, "SELECT pg_reload_conf()")
	for !loadTime().After(before) {
		if ctx.Err() != nil {
			t.Fatalf("postgres did not reload its config: %v", ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// missingServer skips the test, or fails it under SLUICE_REQUIRE_SERVERS=1.
func missingServer(t testing.TB, name string, err error) {
	t.Helper()
	if RequireServers() {
		t.Fatalf("%s is not usable and SLUICE_REQUIRE_SERVERS=1: %v", name, err)
	}
	t.Skipf("%s is not usable: %v", name, err)
}

// findPostgres looks for initdb, pg_ctl and postgres on PATH, then in
// Debian's /usr/lib/postgresql/<version>/bin (newest version first), where
// the postgresql package installs them without putting them on PATH.
func findPostgres() (pgBinaries, error) {
	var onPath pgBinaries
	var errPath error
	for _, p := range []struct {
		name string
		dst  *string
	}{{"initdb", &onPath.initdb}, {"pg_ctl", &onPath.pgCtl}, {"postgres", &onPath.postgres}} {
		path, err := exec.LookPath(p.name)
		errPath = errors.Join(errPath, err)
		*p.dst = path
	}
	if errPath == nil {
		return onPath, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgVersion(b) - pgVersion(a) })
	for _, d := range dirs {
		b := pgBinaries{filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl"), filepath.Join(d, "postgres")}
		if isExecutable(b.initdb) && isExecutable(b.pgCtl) && isExecutable(b.postgres) {
			return b, nil
		}
	}
	return pgBinaries{}, fmt.Errorf("find initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin: %w", errPath)
}

// pgVersion returns the major version of a /usr/lib/postgresql/<v>/bin
// directory, 0 when it is not a number.
func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func lookupCredential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("look up OS user %s to run postgres as (initdb refuses root): %w", name, err)
	}
	uid, errUID := strconv.ParseUint(u.Uid, 10, 32)
	gid, errGID := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(errUID, errGID); err != nil {
		return nil, fmt.Errorf("parse ids of OS user %s: %w", name, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// socketDir returns where the unix socket goes: inside dir unless that path
// would exceed the kernel's limit on socket paths (108 bytes).
func (pg *Postgres) socketDir(t testing.TB, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "run")
	if len(sock)+len("/.s.PGSQL.65535") < 100 {
		return sock
	}
	short, err := os.MkdirTemp("", "pgsock")
	if err != nil {
		t.Fatalf("create postgres socket dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	return short
}

// prepareDirs creates the data and socket directories, owned by the user
// postgres runs as, and lets that user traverse the temporary directories
// above them (t.TempDir makes them 0700).
func (pg *Postgres) prepareDirs(t testing.TB, dir string) {
	t.Helper()
	for _, d := range []string{pg.DataDir, pg.SocketDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("create postgres dir: %v", err)
		}
		if pg.owner == nil {
			continue
		}
		if err := os.Chown(d, int(pg.owner.Uid), int(pg.owner.Gid)); err != nil {
			t.Fatalf("chown postgres dir: %v", err)
		}
		allowTraverse(t, filepath.Dir(d))
	}
	allowTraverse(t, dir)
}

// allowTraverse adds search (x) permission for others to dir and its
// parents up to, not including, the system temporary directory.
func allowTraverse(t testing.TB, dir string) {
	t.Helper()
	root := filepath.Clean(os.TempDir())
	if gotmp := os.Getenv("GOTMPDIR"); gotmp != "" {
		root = filepath.Clean(gotmp)
	}
	for d := filepath.Clean(dir); d != root && strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatalf("stat %s: %v", d, err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
			t.Fatalf("open %s to the postgres user: %v", d, err)
		}
	}
}

// start writes conf with a free port into postgresql.conf and starts the
// server, retrying with another port when the chosen one was taken
// meanwhile.
func (pg *Postgres) start(t testing.TB, conf map[string]string) {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(pg.DataDir, "postgresql.conf"))
	if err != nil {
		t.Fatalf("read postgresql.conf: %v", err)
	}
	var lastErr error
	for range 3 {
		if pg.Port, err = freePort(); err != nil {
			t.Fatalf("pick a port for postgres: %v", err)
		}
		conf["port"] = strconv.Itoa(pg.Port)
		if err := os.WriteFile(filepath.Join(pg.DataDir, "postgresql.conf"), append(base, renderConf(conf)...), 0o600); err != nil {
			t.Fatalf("write postgresql.conf: %v", err)
		}
		logFile := filepath.Join(pg.DataDir, "server.log")
		if lastErr = pg.command(pg.bin.pgCtl, "start", "-w", "-t", "60", "-D", pg.DataDir, "-l", logFile).Run(); lastErr == nil {
			return
		}
		serverLog, _ := os.ReadFile(logFile)
		lastErr = fmt.Errorf("%w\n%s", lastErr, serverLog)
	}
	t.Fatalf("start postgres: %v", lastErr)
}

// stop kills the server at once: the data is thrown away anyway.
func (pg *Postgres) stop(t testing.TB) {
	t.Helper()
	out, err := pg.command(pg.bin.pgCtl, "stop", "-m", "immediate", "-w", "-D", pg.DataDir).CombinedOutput()
	if err != nil {
		t.Errorf("stop postgres in %s: %v\n%s", pg.DataDir, err, out)
	}
}

// run runs a binary as the postgres owner, failing the test on error.
func (pg *Postgres) run(t testing.TB, bin string, args ...string) {
	t.Helper()
	if out, err := pg.command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("run %s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

func (pg *Postgres) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if pg.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.owner}
		cmd.Dir = pg.DataDir
	}
	return cmd
}

// renderConf renders settings as postgresql.conf lines, sorted, every
// value quoted (quotes are valid for any setting type).
func renderConf(conf map[string]string) string {
	var b strings.Builder
	b.WriteString("\n# testenv\n")
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		fmt.Fprintf(&b, "%s = '%s'\n", k, strings.ReplaceAll(conf[k], "'", "''"))
	}
	return b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// EnableTLS turns on TLS with a server certificate for 127.0.0.1 and
// localhost, signed by a CA made for the test, and returns the path of
// the CA's certificate (PEM) for sslrootcert. Plain connections keep
// working.
func (pg *Postgres) EnableTLS(t testing.TB) (caFile string) {
	t.Helper()
	ca, caKey := newCA(t, "sluice test CA")
	caFile = filepath.Join(t.TempDir(), "ca.crt")
	writePEM(t, caFile, "CERTIFICATE", ca.Raw, nil)
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate server key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP(pg.Host)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &serverKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("sign server certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		t.Fatalf("encode server key: %v", err)
	}
	writePEM(t, filepath.Join(pg.DataDir, "server.crt"), "CERTIFICATE", der, pg.owner)
	writePEM(t, filepath.Join(pg.DataDir, "server.key"), "EC PRIVATE KEY", keyDER, pg.owner)
	pg.Exec(t, "ALTER SYSTEM SET ssl = on")
	pg.reload(t)
	return caFile
}

// NewTestCA returns a self-signed CA certificate file (PEM) that signed
// nothing, for tests that need a wrong root.
func NewTestCA(t testing.TB) string {
	t.Helper()
	ca, _ := newCA(t, "unrelated CA")
	path := filepath.Join(t.TempDir(), "other-ca.crt")
	writePEM(t, path, "CERTIFICATE", ca.Raw, nil)
	return path
}

func newCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate CA key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse CA certificate: %v", err)
	}
	return cert, key
}

// writePEM writes one PEM block, readable only by its owner (the server's
// user when owner is set: Postgres refuses a key others can read).
func writePEM(t testing.TB, path, kind string, der []byte, owner *syscall.Credential) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if owner != nil {
		if err := os.Chown(path, int(owner.Uid), int(owner.Gid)); err != nil {
			t.Fatalf("chown %s: %v", path, err)
		}
	}
}
