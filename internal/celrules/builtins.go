package celrules

import (
	"net/mail"
	"net/netip"
	"net/url"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// builtins are the string checks Confluent's CEL executors declare
// (BuiltinLibrary in its Java client): s.isEmail(), s.isHostname(),
// s.isIpv4(), s.isIpv6(), s.isUri(), s.isUriRef(), s.isUuid(). Like
// Confluent's, each is false for the empty string.
func builtins() []cel.EnvOption {
	checks := []struct {
		name string
		ok   func(string) bool
	}{
		{"isEmail", isEmail},
		{"isHostname", isHostname},
		{"isIpv4", func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Is4() }},
		{"isIpv6", func(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Is6() }},
		{"isUri", func(s string) bool { u, err := url.Parse(s); return isURIRef(s) && err == nil && u.IsAbs() }},
		{"isUriRef", isURIRef},
		{"isUuid", isUUID},
	}
	opts := make([]cel.EnvOption, 0, len(checks))
	for _, c := range checks {
		ok := c.ok
		opts = append(opts, cel.Function(c.name,
			cel.MemberOverload("string_"+c.name, []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, isStr := v.(types.String)
					return types.Bool(isStr && s != "" && ok(string(s)))
				}))))
	}
	return opts
}

// isEmail checks an addr-spec (no display name, no angle brackets) whose
// domain is a host name with a top-level domain of letters, or an address
// literal: Confluent's check (Apache Commons' EmailValidator) refuses
// local names such as jane@localhost, and so does this one.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || strings.ContainsRune(s, '<') {
		return false
	}
	domain := s[strings.LastIndexByte(s, '@')+1:]
	if ip, ok := strings.CutPrefix(domain, "["); ok {
		ip, ok = strings.CutSuffix(ip, "]")
		_, err := netip.ParseAddr(ip)
		return ok && err == nil
	}
	dot := strings.LastIndexByte(domain, '.')
	if dot < 0 || !isHostname(domain) {
		return false
	}
	tld := domain[dot+1:]
	return len(tld) >= 2 && strings.IndexFunc(tld, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') }) < 0
}

// isURIRef is url.Parse with the characters a URI may not hold refused
// (spaces, controls, and "<>\^`{|}), as Java's URI, which Confluent's
// check uses, refuses them; other non-ASCII characters pass, as there.
func isURIRef(s string) bool {
	for _, c := range s {
		if c <= ' ' || c == 0x7f || strings.ContainsRune("\"<>\\^`{|}", c) {
			return false
		}
	}
	_, err := url.Parse(s)
	return err == nil
}

// isHostname checks RFC 1123 host names: dot-separated labels of letters,
// digits and inner hyphens, at most 63 characters each and 253 in all.
func isHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// isUUID checks the 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
