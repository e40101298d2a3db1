package mqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// testPKI writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, with their keys, as PEM files in a temporary directory.
type testPKI struct{ dir, ca, serverCert, serverKey, clientCert, clientKey string }

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	p := testPKI{dir: dir}
	write := func(name, kind string, der []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
		return path
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, IsCA: true, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p.ca = write("ca.pem", "CERTIFICATE", caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err)
		return write(cn+".pem", "CERTIFICATE", der), write(cn+".key", "PRIVATE KEY", keyDER)
	}
	p.serverCert, p.serverKey = leaf(2, "server", x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf(3, "device", x509.ExtKeyUsageClientAuth)
	return p
}

// TestTLSWithClientCertificates: an mqtts listener with
// ssl.client.auth=required serves mosquitto_pub presenting a certificate
// of the CA (v3.1.1 and v5), and refuses one presenting none.
func TestTLSWithClientCertificates(t *testing.T) {
	p := newTestPKI(t)
	w, url, _, topic := startServer(t, map[string]string{"listeners": "mqtts://127.0.0.1:0",
		"ssl.keystore.certificate.chain": p.serverCert, "ssl.keystore.key": p.serverKey,
		"ssl.truststore.certificates": p.ca, "ssl.client.auth": "required"})
	require.Regexp(t, `^mqtts://127\.0\.0\.1:\d+$`, url)
	for _, v := range []string{"mqttv311", "mqttv5"} {
		out, err := pub(t, url, []string{"over tls " + v}, "--cafile", p.ca, "--cert", p.clientCert, "--key", p.clientKey,
			"-q", "1", "-t", "secure/"+v, "-V", v)
		require.NoError(t, err, out)
	}
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 2)
	assert.Equal(t, "over tls mqttv311", string(recs[0].Value))

	out, err := pub(t, url, []string{"no certificate"}, "--cafile", p.ca, "-q", "1", "-t", "secure/x")
	require.Error(t, err, out)
	assert.Len(t, connecttest.ConsumeAll(t, w.Broker, topic), 2, "nothing from the client without a certificate")
}

// TestServerValidate: /config/validate names the key at fault: a TLS
// listener without a certificate, client authentication without a CA, a
// malformed credentials entry, an unknown template placeholder.
func TestServerValidate(t *testing.T) {
	p := newTestPKI(t)
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{ServerPlugin}, nil)
	for _, tc := range []struct {
		cfg      map[string]string
		key, msg string
	}{
		{map[string]string{"listeners": "mqtts://127.0.0.1:0"}, "listeners", "needs ssl.keystore.certificate.chain"},
		{map[string]string{"listeners": "ws://127.0.0.1:0"}, "listeners", "scheme ws is none of"},
		{map[string]string{"ssl.keystore.certificate.chain": p.serverCert, "ssl.keystore.key": p.serverKey, "ssl.client.auth": "required"},
			"ssl.client.auth", "needs the CA"},
		{map[string]string{"mqtt.credentials": "dev:pw,justauser"}, "mqtt.credentials", "entry 2 is not username:password"},
		{map[string]string{"kafka.topic": "iot.${device}"}, "kafka.topic", "unknown placeholder"},
	} {
		cfg := map[string]string{"listeners": "127.0.0.1:0", "kafka.topic": "t"}
		maps.Copy(cfg, tc.cfg)
		errs := w.ValidationErrors(ServerPlugin.Class, cfg)
		require.NotEmpty(t, errs[tc.key], "%v: %v", tc.cfg, errs)
		assert.Contains(t, errs[tc.key][0], tc.msg)
	}
	errs := w.ValidationErrors(ServerPlugin.Class, map[string]string{"listeners": "127.0.0.1:0", "kafka.topic": "t"})
	delete(errs, "name")
	assert.Empty(t, errs)
}
