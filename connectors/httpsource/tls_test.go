package httpsource

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
)

// selfSigned returns a certificate for 127.0.0.1 and its key, as PEM.
func selfSigned(t *testing.T) (certPEM, keyPEM string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})), pool
}

// TestHTTPSListener serves the JSON endpoint over TLS with the ssl.* keys;
// the answer comes once the task's records are acknowledged.
func TestHTTPSListener(t *testing.T) {
	cert, key, pool := selfSigned(t)
	cfg := map[string]string{"listeners": "https://127.0.0.1:0", "topic": "logs",
		"ssl.keystore.certificate.chain": cert, "ssl.keystore.key": key}
	task := &Task{}
	require.NoError(t, task.Start(connecttest.NewSourceContext(t, cfg), cfg))
	defer task.Stop()
	url := task.Addrs()[0]
	require.Regexp(t, `^https://127\.0\.0\.1:\d+$`, url)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	answered := make(chan string, 1)
	go func() {
		resp, err := client.Post(url+"/", "application/x-ndjson", bytesReader(ndjson(0, 2, 10)))
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- resp.Status + " " + string(b)
	}()
	var n int
	for n < 2 {
		recs, err := task.Poll(context.Background())
		require.NoError(t, err)
		for _, r := range recs {
			require.NoError(t, task.CommitRecord(r))
		}
		n += len(recs)
	}
	select {
	case a := <-answered:
		assert.Equal(t, `200 OK {"accepted":2}`, a)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}

	// Plain HTTP to the TLS listener is refused.
	resp, err := testClient.Post("http"+url[len("https"):]+"/", "application/json", bytesReader([]byte(`{}`)))
	if err == nil {
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
}
