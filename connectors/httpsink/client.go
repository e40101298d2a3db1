package httpsink

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// guard refuses connections to addresses the SSRF keys disallow. It runs
// as the dialer's Control function, on the address about to be dialled,
// so a host name that resolves to a forbidden address is refused however
// it is spelled.
type guard struct {
	local, private, classE bool
	deny, allow            []netip.Prefix
}

var (
	privatePrefixes = mustPrefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
	classEPrefix    = netip.MustParsePrefix("240.0.0.0/4")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func (g *guard) active() bool {
	return g.local || g.private || g.classE || len(g.deny) > 0
}

// check returns why ip may not be dialled, or "".
func (g *guard) check(ip netip.Addr) string {
	ip = ip.Unmap()
	for _, p := range g.allow {
		if p.Contains(ip) {
			return ""
		}
	}
	switch {
	case g.local && (ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()):
		return "a local address (connection.disallow.local.ips)"
	case g.private && inAny(privatePrefixes, ip):
		return "a private address (connection.disallow.private.ips)"
	case g.classE && classEPrefix.Contains(ip):
		return "a class E address (connection.disallow.class.e.ips)"
	case inAny(g.deny, ip):
		return "in connection.disallow.cidr.ranges"
	}
	return ""
}

func inAny(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// control is the net.Dialer Control func applying the guard.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("connect to %s: cannot check the address: %w", address, err)
	}
	if why := g.check(ap.Addr()); why != "" {
		return fmt.Errorf("connect to %s refused: %s", address, why)
	}
	return nil
}

func parsePrefixes(key string, vals []string, bad func(key, format string, args ...any)) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			if a, aerr := netip.ParseAddr(v); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				bad(key, "%q is not a CIDR range", v)
				continue
			}
		}
		out = append(out, p.Masked())
	}
	return out
}

// newClient builds the HTTP client of cfg's front-end: timeouts, proxy,
// TLS and the SSRF guard.
func newClient(cfg connect.Config, front frontEnd, bad func(key, format string, args ...any)) *http.Client {
	g := &guard{
		local: disallowLocal.Get(cfg), private: disallowPrivate.Get(cfg), classE: disallowClassE.Get(cfg),
		deny:  parsePrefixes(disallowCIDRs.Name(), disallowCIDRs.Get(cfg), bad),
		allow: parsePrefixes(allowCIDRs.Name(), allowCIDRs.Get(cfg), bad),
	}
	dialTimeout, reqTimeout := connectTimeout.Get(cfg), requestTimeout.Get(cfg)
	if front == aiven {
		dialTimeout = time.Duration(aivenTimeout.Get(cfg)) * time.Second
		reqTimeout = dialTimeout
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	if g.active() {
		dialer.Control = g.control
	}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: dialTimeout,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	tr.TLSClientConfig = tlsConfig(cfg, front, bad)
	if !proxyHost.IsNull(cfg) && proxyHost.Get(cfg) != "" {
		port := proxyPort.Get(cfg)
		if port <= 0 || port > 65535 {
			bad(proxyPort.Name(), "must be a port (1-65535) when http.proxy.host is set, got %d", port)
		}
		pu := &url.URL{Scheme: "http", Host: net.JoinHostPort(proxyHost.Get(cfg), strconv.Itoa(int(port)))}
		if front == confluent && !proxyUser.IsNull(cfg) {
			pu.User = url.UserPassword(proxyUser.Get(cfg), proxyPassword.Get(cfg))
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	return &http.Client{
		Transport: tr,
		Timeout:   reqTimeout,
		// A redirect is followed for GET-like requests only by net/http;
		// a POST answered 3xx is the endpoint's answer, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tlsConfig maps the front-end's TLS keys to kit.TLS. Only PEM is read:
// Go has no JKS reader, so a JKS or PKCS12 store is refused by name.
func tlsConfig(cfg connect.Config, front frontEnd, bad func(key, format string, args ...any)) *tls.Config {
	var t kit.TLS
	if front == aiven {
		t.InsecureSkipVerify = aivenTrustAll.Get(cfg)
		if !aivenTruststoreLoc.IsNull(cfg) {
			t.CA = aivenTruststoreLoc.Get(cfg)
			checkPEMFile(aivenTruststoreLoc.Name(), t.CA, bad)
		}
		if !aivenTruststorePassword.IsNull(cfg) {
			bad(aivenTruststorePassword.Name(), "PEM truststores have no password (JKS is not supported in Go); give a PEM file in http.ssl.truststore.location and unset this key")
		}
	} else {
		for _, k := range []kit.Key[string]{sslKeystoreType, sslTruststoreType} {
			if v := orDefault(cfg, k, "PEM"); !strings.EqualFold(v, "PEM") {
				bad(k.Name(), "%s stores are not supported (Go reads PEM only): convert it, e.g. keytool -importkeystore -deststoretype PKCS12 then openssl pkcs12 -nodes, and set PEM", v)
			}
		}
		if !sslKeyPassword.IsNull(cfg) {
			bad(sslKeyPassword.Name(), "encrypted private keys are not supported: give an unencrypted PEM key")
		}
		t.CA = orDefault(cfg, sslTruststoreCerts, orDefault(cfg, sslTruststoreLoc, ""))
		if !sslTruststoreLoc.IsNull(cfg) {
			checkPEMFile(sslTruststoreLoc.Name(), sslTruststoreLoc.Get(cfg), bad)
		}
		if !sslKeystoreLoc.IsNull(cfg) {
			checkPEMFile(sslKeystoreLoc.Name(), sslKeystoreLoc.Get(cfg), bad)
			t.Cert, t.Key = sslKeystoreLoc.Get(cfg), sslKeystoreLoc.Get(cfg)
		}
		if !sslKeystoreChain.IsNull(cfg) || !sslKeystoreKey.IsNull(cfg) {
			t.Cert, t.Key = orDefault(cfg, sslKeystoreChain, ""), orDefault(cfg, sslKeystoreKey, "")
		}
		t.SkipHostnameVerification = sslEndpointID.Get(cfg) == ""
		// Like Java's, https.ssl.protocol names the SSLContext protocol, not
		// a minimum: the versions accepted are https.ssl.enabled.protocols,
		// TLS 1.2 and 1.3 by default.
		if p := sslProtocol.Get(cfg); p != "TLSv1.2" && p != "TLSv1.3" && p != "TLS" {
			bad(sslProtocol.Name(), "must be TLSv1.2, TLSv1.3 or TLS, got %q", p)
		}
		t.MinVersion = "TLSv1.2"
		if ps := sslEnabledProtocols.Get(cfg); len(ps) > 0 {
			t.MinVersion = slicesMin(ps)
		}
		if t.MinVersion != "TLSv1.2" && t.MinVersion != "TLSv1.3" {
			bad(sslEnabledProtocols.Name(), "must list TLSv1.2 and/or TLSv1.3, got %q", t.MinVersion)
			t.MinVersion = ""
		}
	}
	c, err := t.Client()
	if err != nil {
		bad("https.ssl", "%v", err)
		return nil
	}
	return c
}

func slicesMin(ps []string) string {
	m := strings.TrimSpace(ps[0])
	for _, p := range ps[1:] {
		if p = strings.TrimSpace(p); p < m {
			m = p
		}
	}
	return m
}

// checkPEMFile refuses a store file that is not PEM (a JKS or PKCS12
// binary), naming the key.
func checkPEMFile(key, path string, bad func(key, format string, args ...any)) {
	b, err := os.ReadFile(path)
	if err != nil {
		bad(key, "%v", err)
		return
	}
	if !strings.Contains(string(b), "-----BEGIN") {
		bad(key, "%s is not a PEM file (JKS and PKCS12 stores are not supported in Go): convert it to PEM", path)
	}
}
