package worker

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// KeyAdvertisedListener is rest.advertised.listener: the protocol other
// workers use to reach this one.
const KeyAdvertisedListener = "rest.advertised.listener"

// listenerPattern is Kafka's RestServer.LISTENER_PATTERN: protocol, host
// (empty for every interface, an IPv6 address in brackets) and port.
var listenerPattern = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// errHTTPS is what a worker configured for HTTPS is told.
var errHTTPS = errors.New("HTTPS is not supported yet; use an http:// listener (and a TLS-terminating proxy in front of it)")

// restListen parses the listeners list as Kafka does and returns the
// host:port to serve. Sluice serves one HTTP listener; every problem is
// reported, each naming the key.
func restListen(listeners []string) (string, error) {
	if len(listeners) == 0 {
		listeners = []string{defaultAdvertisedListener}
	}
	var errs []error
	var hostport string
	for _, l := range listeners {
		hp, err := parseListener(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", KeyListeners, l, err))
			continue
		}
		if hostport == "" {
			hostport = hp
		}
	}
	if len(listeners) > 1 {
		errs = append(errs, fmt.Errorf("%s %q: Sluice serves one REST listener; list only one", KeyListeners, strings.Join(listeners, ",")))
	}
	return hostport, errors.Join(errs...)
}

// parseListener reads one protocol://host:port entry.
func parseListener(l string) (string, error) {
	m := listenerPattern.FindStringSubmatch(strings.TrimSpace(l))
	if m == nil {
		return "", errors.New("Listener doesn't have the right format (protocol://hostname:port).")
	}
	switch strings.ToLower(m[1]) {
	case "http":
	case "https":
		return "", errHTTPS
	default:
		return "", errors.New(`Listener protocol must be either "http" or "https".`)
	}
	port, err := strconv.Atoi(m[3])
	if err != nil || port < 0 || port > 65535 {
		return "", fmt.Errorf("port %s is not between 0 and 65535", m[3])
	}
	return net.JoinHostPort(m[2], m[3]), nil
}

// advertisedListenerError checks rest.advertised.listener: only http.
func advertisedListenerError(props map[string]string) error {
	v, ok := props[KeyAdvertisedListener]
	if !ok {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "http":
		return nil
	case "https":
		return fmt.Errorf("%s=%s: %w", KeyAdvertisedListener, v, errHTTPS)
	}
	return fmt.Errorf("%s=%s: must be http or https", KeyAdvertisedListener, v)
}
