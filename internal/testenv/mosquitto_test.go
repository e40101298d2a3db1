package testenv

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMosquittoPersists proves the helper's broker keeps a persistent
// session's queued QoS 1 message across Stop and Start on the same port,
// and that MosquittoUsers refuses a wrong password.
func TestMosquittoPersists(t *testing.T) {
	m := StartMosquitto(t, MosquittoUsers(map[string]string{"alice": "secret"}))
	sub := RequireBinary(t, "mosquitto_sub")
	pub := RequireBinary(t, "mosquitto_pub")
	port := strconv.Itoa(m.Port)
	auth := []string{"-h", m.Host, "-p", port, "-u", "alice", "-P", "secret"}
	// Create the persistent session and its subscription, then leave.
	run(t, sub, append(auth, "-c", "-i", "keeper", "-q", "1", "-t", "t/1", "-E")...)
	run(t, pub, append(auth, "-q", "1", "-t", "t/1", "-m", "kept")...)
	m.Stop(t)
	m.Start(t)
	out := run(t, sub, append(auth, "-c", "-i", "keeper", "-q", "1", "-t", "t/1", "-C", "1", "-W", "5")...)
	if strings.TrimSpace(out) != "kept" {
		t.Fatalf("after a restart the session got %q, want kept; log:\n%s", out, m.Log())
	}
	cmd := exec.Command(pub, "-h", m.Host, "-p", port, "-u", "alice", "-P", "wrong", "-t", "t/1", "-m", "x")
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a wrong password was accepted: %s", b)
	}
}

// TestMosquittoTLS proves the TLS listener serves a certificate the test
// CA signed and, with client certificates, refuses a client without one.
func TestMosquittoTLS(t *testing.T) {
	m := StartMosquitto(t, MosquittoClientCerts())
	pub := RequireBinary(t, "mosquitto_pub")
	port := strconv.Itoa(m.TLSPort)
	run(t, pub, "-h", m.Host, "-p", port, "--cafile", m.CAFile, "--cert", m.ClientCert, "--key", m.ClientKey, "-t", "t", "-m", "x")
	cmd := exec.Command(pub, "-h", m.Host, "-p", port, "--cafile", m.CAFile, "-t", "t", "-m", "x")
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a client without a certificate was accepted: %s", b)
	}
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	if err != nil {
		t.Fatalf("%s %v: %v: %s", bin, args, err, out)
	}
	return string(out)
}
