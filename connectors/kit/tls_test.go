package kit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// pki is a CA with a server certificate for localhost and a client
// certificate, each as PEM.
type pki struct {
	ca                    string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	leaf := func(serial int64, usage x509.ExtKeyUsage, names []string, ips []net.IP) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: names, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	}
	var p pki
	p.ca = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.serverCert, p.serverKey = leaf(2, x509.ExtKeyUsageServerAuth, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.clientCert, p.clientKey = leaf(3, x509.ExtKeyUsageClientAuth, nil, nil)
	return p
}

// handshake runs a real TLS handshake over loopback and returns the first
// error either side saw; the server sends one byte once it accepted the
// client, so a client certificate refused after a TLS 1.3 handshake shows.
func handshake(t *testing.T, server, client *tls.Config, serverName string) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	require.NoError(t, err)
	defer l.Close()
	serverErr := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err != nil {
			serverErr <- err
			return
		}
		_, err = c.Write([]byte{1})
		serverErr <- err
	}()
	client = client.Clone()
	if serverName != "" {
		client.ServerName = serverName
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), client)
	if err != nil {
		return errors.Join(err, <-serverErr)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		return errors.Join(err, <-serverErr)
	}
	return <-serverErr
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestTLSHandshake(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	dir := t.TempDir()
	files := pki{
		ca:         writeFile(t, dir, "ca.pem", p.ca),
		serverCert: writeFile(t, dir, "server.pem", p.serverCert), serverKey: writeFile(t, dir, "server.key", p.serverKey),
		clientCert: writeFile(t, dir, "client.pem", p.clientCert), clientKey: writeFile(t, dir, "client.key", p.clientKey),
	}
	for _, tc := range []struct {
		name       string
		server     TLS
		client     TLS
		serverName string
		fail       string // part of the expected error, "" for success
	}{
		{name: "inline PEM", server: TLS{Cert: p.serverCert, Key: p.serverKey}, client: TLS{CA: p.ca}},
		{name: "files", server: TLS{Cert: files.serverCert, Key: files.serverKey}, client: TLS{CA: files.ca}},
		{name: "IP SAN", server: TLS{Cert: p.serverCert, Key: p.serverKey}, client: TLS{CA: p.ca}, serverName: "127.0.0.1"},
		{name: "unknown CA", server: TLS{Cert: p.serverCert, Key: p.serverKey}, client: TLS{CA: other.ca},
			fail: "unknown authority"},
		{name: "wrong host name", server: TLS{Cert: p.serverCert, Key: p.serverKey}, client: TLS{CA: p.ca},
			serverName: "db.example.com", fail: "db.example.com"},
		{name: "host name not verified", server: TLS{Cert: p.serverCert, Key: p.serverKey},
			client: TLS{CA: p.ca, SkipHostnameVerification: true}, serverName: "db.example.com"},
		{name: "chain still verified without host name", server: TLS{Cert: p.serverCert, Key: p.serverKey},
			client: TLS{CA: other.ca, SkipHostnameVerification: true}, serverName: "db.example.com", fail: "unknown authority"},
		{name: "insecure", server: TLS{Cert: p.serverCert, Key: p.serverKey}, client: TLS{CA: other.ca, InsecureSkipVerify: true}},
		{name: "client certificate required and given",
			server: TLS{Cert: p.serverCert, Key: p.serverKey, CA: p.ca, ClientAuth: "required"},
			client: TLS{CA: p.ca, Cert: files.clientCert, Key: files.clientKey}},
		{name: "client certificate required, none given",
			server: TLS{Cert: p.serverCert, Key: p.serverKey, CA: p.ca, ClientAuth: "required"},
			client: TLS{CA: p.ca}, fail: "certificate"},
		{name: "client certificate of another CA",
			server: TLS{Cert: p.serverCert, Key: p.serverKey, CA: p.ca, ClientAuth: "requested"},
			client: TLS{CA: p.ca, Cert: other.clientCert, Key: other.clientKey}, fail: "certificate"},
		{name: "client certificate requested, none given",
			server: TLS{Cert: p.serverCert, Key: p.serverKey, CA: p.ca, ClientAuth: "requested"},
			client: TLS{CA: p.ca}},
		{name: "min version refused",
			server: TLS{Cert: p.serverCert, Key: p.serverKey, MinVersion: "TLSv1.3"},
			client: TLS{CA: p.ca}, fail: "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, err := tc.server.Server()
			require.NoError(t, err)
			client, err := tc.client.Client()
			require.NoError(t, err)
			if tc.name == "min version refused" {
				client.MaxVersion = tls.VersionTLS12
			}
			serverName := tc.serverName
			if serverName == "" {
				serverName = "localhost"
			}
			err = handshake(t, server, client, serverName)
			if tc.fail == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.fail)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name   string
		build  func() error
		reason string
	}{
		{"cert without key", func() error { _, err := TLS{Cert: p.clientCert}.Client(); return err }, "only one is set"},
		{"missing file", func() error { _, err := TLS{CA: "/nonexistent/ca.pem"}.Client(); return err }, "read TLS CA"},
		{"CA without certificate", func() error { _, err := TLS{CA: "-----BEGIN NOTHING-----\n"}.Client(); return err }, "no PEM certificate"},
		{"key of another certificate", func() error { _, err := TLS{Cert: p.clientCert, Key: p.serverKey}.Client(); return err }, "key pair"},
		{"bad version", func() error { _, err := TLS{MinVersion: "SSLv3"}.Client(); return err }, "SSLv3"},
		{"server without certificate", func() error { _, err := TLS{}.Server(); return err }, "needs a certificate"},
		{"client auth without CA", func() error {
			_, err := TLS{Cert: p.serverCert, Key: p.serverKey, ClientAuth: "required"}.Server()
			return err
		}, "needs the CA"},
		{"bad client auth", func() error {
			_, err := TLS{Cert: p.serverCert, Key: p.serverKey, ClientAuth: "always"}.Server()
			return err
		}, "always"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.build()
			require.ErrorIs(t, err, connect.ErrConfig)
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
}

func TestTLSKeys(t *testing.T) {
	keys := PrefixedTLSKeys("ssl.", false)
	def := keys.Def()
	var names []string
	for _, k := range def {
		names = append(names, k.Name)
	}
	assert.Equal(t, []string{"ssl.ca", "ssl.cert", "ssl.key", "ssl.verify.hostname", "ssl.min.version"}, names)

	cfg, err := def.Parse(map[string]string{"ssl.ca": "/etc/ca.pem", "ssl.verify.hostname": "false"})
	require.NoError(t, err)
	assert.Equal(t, TLS{CA: "/etc/ca.pem", SkipHostnameVerification: true, MinVersion: "TLSv1.2"}, keys.Values(cfg))

	server := TLSKeys{Cert: "listener.cert", Key: "listener.key", ClientAuth: "listener.client.auth", Group: "TLS"}
	sdef := server.Def()
	require.Len(t, sdef, 3)
	assert.Equal(t, "TLS", sdef[2].Group)
	_, err = sdef.Parse(map[string]string{"listener.client.auth": "sometimes"})
	assert.ErrorContains(t, err, "listener.client.auth")
	cfg, err = sdef.Parse(map[string]string{"listener.cert": "c", "listener.key": "k"})
	require.NoError(t, err)
	assert.Equal(t, TLS{Cert: "c", Key: "k", ClientAuth: "none"}, server.Values(cfg))
}
