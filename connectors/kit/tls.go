package kit

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// TLS is one connector's TLS settings as values; the connector reads them
// from its own keys (their names are fixed by the connector it stands in
// for) or declares them with TLSKeys. Each PEM setting is either inline
// PEM (it starts with "-----BEGIN") or the path of a PEM file.
type TLS struct {
	// CA holds the certificates the peer's certificate must chain to;
	// empty means the system roots for a client, and no client
	// verification for a server.
	CA string
	// Cert and Key are this side's certificate (chain) and private key,
	// both or neither; a server needs them.
	Cert, Key string
	// ServerName is the host name a client checks the server's
	// certificate against; empty means the host dialled.
	ServerName string
	// SkipHostnameVerification checks the server's chain but not its
	// name (Kafka's empty ssl.endpoint.identification.algorithm).
	SkipHostnameVerification bool
	// InsecureSkipVerify accepts any server certificate: for tests only.
	InsecureSkipVerify bool
	// MinVersion is the lowest protocol version accepted, "TLSv1.2" or
	// "TLSv1.3" ("1.2" and "1.3" too); empty means TLS 1.2.
	MinVersion string
	// ClientAuth is what a server asks of clients, as Kafka's
	// ssl.client.auth: "none" (or empty), "requested" or "required".
	ClientAuth string
}

// Client returns the configuration of a TLS client.
func (t TLS) Client() (*tls.Config, error) {
	c, err := t.base()
	if err != nil {
		return nil, err
	}
	c.ServerName = t.ServerName
	if t.CA != "" {
		if c.RootCAs, err = certPool(t.CA); err != nil {
			return nil, err
		}
	}
	switch {
	case t.InsecureSkipVerify:
		c.InsecureSkipVerify = true
	case t.SkipHostnameVerification:
		// Go verifies chain and name together; to check the chain only,
		// its verification is turned off and done here instead.
		c.InsecureSkipVerify = true
		roots := c.RootCAs
		c.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs, roots) }
	}
	return c, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("verify server certificate: none presented")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	if err != nil {
		return fmt.Errorf("verify server certificate: %w", err)
	}
	return nil
}

// Server returns the configuration of a TLS server.
func (t TLS) Server() (*tls.Config, error) {
	if t.Cert == "" {
		return nil, fmt.Errorf("%w: a TLS server needs a certificate and key", connect.ErrConfig)
	}
	c, err := t.base()
	if err != nil {
		return nil, err
	}
	var pool *x509.CertPool
	if t.CA != "" {
		if pool, err = certPool(t.CA); err != nil {
			return nil, err
		}
		c.ClientCAs = pool
	}
	switch strings.ToLower(t.ClientAuth) {
	case "", "none":
		c.ClientAuth = tls.NoClientCert
	case "requested":
		c.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		c.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("%w: TLS client auth %q is none of none, requested, required", connect.ErrConfig, t.ClientAuth)
	}
	if c.ClientAuth != tls.NoClientCert && pool == nil {
		return nil, fmt.Errorf("%w: TLS client auth %s needs the CA that client certificates chain to", connect.ErrConfig, t.ClientAuth)
	}
	return c, nil
}

// base reads what client and server share: version and key pair.
func (t TLS) base() (*tls.Config, error) {
	minVersion, err := tlsVersion(t.MinVersion)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{MinVersion: minVersion}
	if (t.Cert == "") != (t.Key == "") {
		return nil, fmt.Errorf("%w: TLS certificate and key go together; only one is set", connect.ErrConfig)
	}
	if t.Cert != "" {
		certPEM, err := pemOrFile("certificate", t.Cert)
		if err != nil {
			return nil, err
		}
		keyPEM, err := pemOrFile("key", t.Key)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: load TLS key pair: %w", connect.ErrConfig, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

func tlsVersion(s string) (uint16, error) {
	switch strings.TrimPrefix(strings.ToUpper(s), "TLSV") {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "1", "1.0":
		return tls.VersionTLS10, nil
	}
	return 0, fmt.Errorf("%w: TLS version %q is none of TLSv1.2, TLSv1.3", connect.ErrConfig, s)
}

// pemOrFile returns inline PEM as is, or reads the file it names.
func pemOrFile(what, v string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, fmt.Errorf("%w: read TLS %s: %w", connect.ErrConfig, what, err)
	}
	return b, nil
}

func certPool(v string) (*x509.CertPool, error) {
	b, err := pemOrFile("CA", v)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%w: TLS CA holds no PEM certificate", connect.ErrConfig)
	}
	return pool, nil
}

// TLSKeys names a connector's TLS config keys, for a connector that has no
// names of its own to keep (one that does reads its keys and fills a TLS).
// A key left empty is not declared and its setting stays at its zero
// value.
type TLSKeys struct {
	CA, Cert, Key  string // STRING, null by default: inline PEM or a file
	VerifyHostname string // BOOLEAN, true by default
	MinVersion     string // STRING, TLSv1.2 by default
	ClientAuth     string // STRING, none by default; servers only
	Group          string // the keys' group in the docs, if any
}

// PrefixedTLSKeys names the TLS keys prefix + "ca", "cert", "key",
// "verify.hostname", "min.version" and, when server is set,
// "client.auth": PrefixedTLSKeys("tls.", false) gives tls.ca, tls.cert …
func PrefixedTLSKeys(prefix string, server bool) TLSKeys {
	k := TLSKeys{
		CA: prefix + "ca", Cert: prefix + "cert", Key: prefix + "key",
		MinVersion: prefix + "min.version",
	}
	if server {
		k.ClientAuth = prefix + "client.auth"
	} else {
		k.VerifyHostname = prefix + "verify.hostname"
	}
	return k
}

// Def declares the named keys.
func (k TLSKeys) Def() connect.ConfigDef {
	var def connect.ConfigDef
	add := func(name string, key connect.ConfigKey) {
		if name != "" {
			key.Group = k.Group
			key.OrderInGroup = len(def) + 1
			def = append(def, key)
		}
	}
	pem := func(name, what string) connect.ConfigKey {
		return String(name, "", connect.Medium, what+", as inline PEM or the path of a PEM file.", NullDefault()).Key()
	}
	add(k.CA, pem(k.CA, "Certificates the peer's certificate must chain to (by default the system's for a client, none asked of clients for a server)"))
	add(k.Cert, pem(k.Cert, "This side's certificate"))
	add(k.Key, pem(k.Key, "This side's private key, unencrypted"))
	add(k.VerifyHostname, Bool(k.VerifyHostname, true, connect.Medium,
		"Whether the server's certificate must name the host connected to; when false, only its chain is checked.").Key())
	add(k.MinVersion, String(k.MinVersion, "TLSv1.2", connect.Low, "The lowest TLS version accepted.",
		Validate(connect.OneOf{Values: []string{"TLSv1.2", "TLSv1.3"}})).Key())
	add(k.ClientAuth, String(k.ClientAuth, "none", connect.Medium,
		"Whether clients must present a certificate signed by the CA: none, requested or required.",
		Validate(connect.OneOf{Values: []string{"none", "requested", "required"}, CaseInsensitive: true})).Key())
	return def
}

// Values reads the named keys from cfg, parsed by a definition holding
// Def's keys.
func (k TLSKeys) Values(cfg connect.Config) TLS {
	var t TLS
	str := func(name string) string {
		if name == "" {
			return ""
		}
		return cfg.String(name)
	}
	t.CA, t.Cert, t.Key = str(k.CA), str(k.Cert), str(k.Key)
	t.MinVersion, t.ClientAuth = str(k.MinVersion), str(k.ClientAuth)
	if k.VerifyHostname != "" {
		t.SkipHostnameVerification = !cfg.Bool(k.VerifyHostname)
	}
	return t
}
