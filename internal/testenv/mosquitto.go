package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a Debian mosquitto broker started for a test: persistence
// on (its data in the test's directory), queues large enough that nothing
// is dropped silently, on a free loopback port. Stop and Start bring it
// down and back on the same ports with the same data, for tests of a
// server that goes away and comes back.
type Mosquitto struct {
	Host string
	// Port is the plain listener's; TLSPort the TLS listener's (0
	// without MosquittoTLS).
	Port, TLSPort int
	// Dir holds the config, the persistence file and the log.
	Dir string
	// CAFile is the PEM file of the CA that signed the server's
	// certificate (and ClientCert) under MosquittoTLS.
	CAFile string
	// ClientCert and ClientKey are PEM files of a client certificate the
	// TLS listener accepts, under MosquittoClientCerts.
	ClientCert, ClientKey string

	opts mosquittoOptions
	bin  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	out    *os.File
	exited chan struct{} // closed when cmd has exited
}

type mosquittoOptions struct {
	tls, clientCerts bool
	users            map[string]string
	extra            []string
	autosave         time.Duration
}

// MosquittoOption configures StartMosquitto.
type MosquittoOption func(*mosquittoOptions)

// MosquittoTLS adds a TLS listener (TLSPort) whose certificate for
// 127.0.0.1 and localhost is signed by a CA made for the test (CAFile).
func MosquittoTLS() MosquittoOption { return func(o *mosquittoOptions) { o.tls = true } }

// MosquittoClientCerts makes the TLS listener require a client
// certificate signed by the test CA (ClientCert, ClientKey); it implies
// MosquittoTLS.
func MosquittoClientCerts() MosquittoOption {
	return func(o *mosquittoOptions) { o.tls, o.clientCerts = true, true }
}

// MosquittoUsers makes the broker accept only these users (name →
// password), through a password file; anonymous clients are refused.
func MosquittoUsers(users map[string]string) MosquittoOption {
	return func(o *mosquittoOptions) { o.users = users }
}

// MosquittoAutosave sets how often the broker saves its store (30s by
// default; whole seconds).
func MosquittoAutosave(d time.Duration) MosquittoOption {
	return func(o *mosquittoOptions) { o.autosave = d }
}

// MosquittoConfig appends lines to mosquitto.conf.
func MosquittoConfig(lines ...string) MosquittoOption {
	return func(o *mosquittoOptions) { o.extra = append(o.extra, lines...) }
}

// StartMosquitto starts mosquitto and stops it when the test ends. It
// skips the test when mosquitto is not installed (fails under
// SLUICE_REQUIRE_SERVERS=1).
func StartMosquitto(t testing.TB, opts ...MosquittoOption) *Mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mosquitto"); serr != nil {
			missingServer(t, "mosquitto", err)
		}
		bin = "/usr/sbin/mosquitto"
	}
	m := &Mosquitto{Host: "127.0.0.1", Dir: t.TempDir(), bin: bin, opts: mosquittoOptions{autosave: 30 * time.Second}}
	for _, o := range opts {
		o(&m.opts)
	}
	if m.opts.tls {
		m.makeCerts(t)
	}
	if len(m.opts.users) > 0 {
		m.writePasswords(t)
	}
	var lastErr error
	for range 5 { // a free port may be taken between finding and binding it
		if m.Port, err = freePort(); err != nil {
			t.Fatalf("mosquitto: find a free port: %v", err)
		}
		if m.opts.tls {
			if m.TLSPort, err = freePort(); err != nil {
				t.Fatalf("mosquitto: find a free port: %v", err)
			}
		}
		if lastErr = m.start(); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("start mosquitto: %v", lastErr)
	}
	t.Cleanup(func() { m.stop(syscall.SIGTERM) })
	return m
}

// URL returns the plain listener's address, tcp://127.0.0.1:port.
func (m *Mosquitto) URL() string { return fmt.Sprintf("tcp://%s:%d", m.Host, m.Port) }

// TLSURL returns the TLS listener's address, ssl://127.0.0.1:port.
func (m *Mosquitto) TLSURL() string { return fmt.Sprintf("ssl://%s:%d", m.Host, m.TLSPort) }

// Stop stops the broker gracefully (it saves its persistence file).
func (m *Mosquitto) Stop(t testing.TB) {
	t.Helper()
	m.stop(syscall.SIGTERM)
}

// Kill stops the broker with SIGKILL: what it did not save since the
// last autosave is lost, as in a crash.
func (m *Mosquitto) Kill(t testing.TB) {
	t.Helper()
	m.stop(syscall.SIGKILL)
}

// Start starts a stopped broker again on the same ports and data.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	var err error
	for range 50 { // the old process's port may linger a moment
		if err = m.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restart mosquitto: %v", err)
}

// Log returns what the broker logged so far.
func (m *Mosquitto) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.Dir, "mosquitto.log"))
	return string(b)
}

// WaitSubscribed waits until some client subscribed to filter (as Mosquitto
// logs it), failing the test after timeout: a message published before
// that reaches no session.
func (m *Mosquitto) WaitSubscribed(t testing.TB, filter string, timeout time.Duration) {
	t.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(m.Log(), "\n") {
			if strings.HasSuffix(l, " "+filter) {
				return
			}
		}
	}
	t.Fatalf("no client subscribed to %s within %s; mosquitto log:\n%s", filter, timeout, m.Log())
}

func (m *Mosquitto) config() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if u, err := user.Current(); err == nil && os.Geteuid() == 0 {
		line("user %s", u.Username) // keep root: the data directory is root's
	}
	line("persistence true")
	line("persistence_location %s/", m.Dir)
	line("persistence_file mosquitto.db")
	// Every save writes the whole store and stalls the broker: a short
	// interval makes large queues crawl. Stop saves anyway; Kill loses
	// what came since the last save, as a crash of Mosquitto would.
	line("autosave_interval %d", max(1, int(m.opts.autosave.Seconds())))
	line("autosave_on_changes false")
	line("max_queued_messages 10000000")
	line("max_inflight_messages 0")
	line("set_tcp_nodelay true")
	line("log_dest file %s", filepath.Join(m.Dir, "mosquitto.log"))
	line("log_type error")
	line("log_type warning")
	line("log_type notice")
	line("log_type information")
	line("log_type subscribe") // "<client id> <qos> <filter>": WaitSubscribed reads it
	line("connection_messages true")
	if len(m.opts.users) > 0 {
		line("allow_anonymous false")
		line("password_file %s", filepath.Join(m.Dir, "passwd"))
	} else {
		line("allow_anonymous true")
	}
	line("listener %d %s", m.Port, m.Host)
	if m.opts.tls {
		line("listener %d %s", m.TLSPort, m.Host)
		line("cafile %s", m.CAFile)
		line("certfile %s", filepath.Join(m.Dir, "server.crt"))
		line("keyfile %s", filepath.Join(m.Dir, "server.key"))
		if m.opts.clientCerts {
			line("require_certificate true")
		}
	}
	for _, l := range m.opts.extra {
		line("%s", l)
	}
	return b.String()
}

func (m *Mosquitto) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return nil
	}
	conf := filepath.Join(m.Dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(m.config()), 0o600); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(m.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(m.bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("run %s: %w", m.bin, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready := dialable(m.Host, m.Port) && (m.TLSPort == 0 || dialable(m.Host, m.TLSPort))
		if ready {
			break
		}
		select {
		case <-exited:
			out.Close()
			return fmt.Errorf("mosquitto exited (%v): %s %s", waitErr, tail(filepath.Join(m.Dir, "stdout.log")), tail(filepath.Join(m.Dir, "mosquitto.log")))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			out.Close()
			return fmt.Errorf("mosquitto did not listen on %d within 10s: %s", m.Port, tail(filepath.Join(m.Dir, "mosquitto.log")))
		}
	}
	m.cmd, m.out, m.exited = cmd, out, exited
	return nil
}

func (m *Mosquitto) stop(sig syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Signal(sig)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	m.out.Close()
	m.cmd, m.out = nil, nil
}

func dialable(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (m *Mosquitto) writePasswords(t testing.TB) {
	t.Helper()
	path := filepath.Join(m.Dir, "passwd")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		missingServer(t, "mosquitto_passwd", err)
	}
	for name, pass := range m.opts.users {
		if out, err := exec.Command(bin, "-b", path, name, pass).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %s: %v: %s", name, err, out)
		}
	}
}

// makeCerts writes the CA, the server's certificate and a client
// certificate.
func (m *Mosquitto) makeCerts(t testing.TB) {
	t.Helper()
	ca, caKey := newCA(t, "sluice mosquitto test CA")
	m.CAFile = filepath.Join(m.Dir, "ca.crt")
	writePEM(t, m.CAFile, "CERTIFICATE", ca.Raw, nil)
	issue := func(n int64, name string, usage x509.ExtKeyUsage, certPath, keyPath string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: name},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP(m.Host)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("sign certificate: %v", err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatalf("encode key: %v", err)
		}
		writePEM(t, certPath, "CERTIFICATE", der, nil)
		writePEM(t, keyPath, "EC PRIVATE KEY", keyDER, nil)
	}
	issue(2, "localhost", x509.ExtKeyUsageServerAuth, filepath.Join(m.Dir, "server.crt"), filepath.Join(m.Dir, "server.key"))
	m.ClientCert, m.ClientKey = filepath.Join(m.Dir, "client.crt"), filepath.Join(m.Dir, "client.key")
	issue(3, "sluice-client", x509.ExtKeyUsageClientAuth, m.ClientCert, m.ClientKey)
}
