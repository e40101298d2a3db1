package kit

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Listener is one entry of a server connector's listeners key: the
// address to bind and whether it serves TLS.
type Listener struct {
	Addr string // host:port
	TLS  bool
}

// ListenerSyntax reads the entries of a listeners key: host:port (plain),
// or scheme://host:port with one of the Plain or TLS schemes (the HTTP
// source: http, https; the MQTT server: mqtt, tcp, mqtts, ssl, tls).
type ListenerSyntax struct {
	Plain, TLS []string
}

// Parse reads one entry.
func (x ListenerSyntax) Parse(s string) (Listener, error) {
	s = strings.TrimSpace(s)
	l := Listener{Addr: s}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return l, fmt.Errorf("listener %q is not %s: %v", s, x.forms(), err)
		}
		scheme := strings.ToLower(u.Scheme)
		switch {
		case slices.Contains(x.Plain, scheme):
		case slices.Contains(x.TLS, scheme):
			l.TLS = true
		default:
			return l, fmt.Errorf("listener %q: scheme %s is none of %s", s, u.Scheme, strings.Join(slices.Concat(x.Plain, x.TLS), ", "))
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return l, fmt.Errorf("listener %q: only a scheme, host and port may be given", s)
		}
		l.Addr = u.Host
	}
	_, port, err := net.SplitHostPort(l.Addr)
	if err != nil {
		return l, fmt.Errorf("listener %q is not %s: %v", s, x.forms(), err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return l, fmt.Errorf("listener %q: port %q is not a number from 0 to 65535", s, port)
	}
	return l, nil
}

// forms names the accepted forms: "host:port, http://host:port or
// https://host:port".
func (x ListenerSyntax) forms() string {
	return fmt.Sprintf("host:port, %s://host:port or %s://host:port", x.Plain[0], x.TLS[0])
}

// Validator checks a listeners key: at least one entry, each parsed.
func (x ListenerSyntax) Validator() connect.Validator {
	return connect.ValidatorFunc{Desc: "list of " + x.forms(), Fn: func(_ string, v any) string {
		items, _ := v.([]string)
		if len(items) == 0 {
			return "at least one listener is required"
		}
		for _, s := range items {
			if _, err := x.Parse(s); err != nil {
				return err.Error()
			}
		}
		return ""
	}}
}
