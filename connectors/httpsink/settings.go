package httpsink

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// frontEnd is the key set a connector was configured with, chosen by the
// class the user named in connector.class.
type frontEnd int

const (
	// confluent is Confluent's keys, also taken by Sluice's own class.
	confluent frontEnd = iota
	// aiven is Aiven's keys.
	aiven
)

func (f frontEnd) class() string {
	if f == aiven {
		return AivenClass
	}
	return ConfluentClass
}

// frontEndOf returns the front-end the connector.class in config names:
// Aiven's class (full name) picks Aiven's keys; anything else, Sluice's
// class, Confluent's, a simple name or none, picks Confluent's.
func frontEndOf(config map[string]string) frontEnd {
	if strings.TrimSpace(config["connector.class"]) == AivenClass {
		return aiven
	}
	return confluent
}

// bodyKind is how one record becomes text in a body.
type bodyKind int

const (
	bodyString bodyKind = iota // Confluent request.body.format=string: the value's text
	bodyJSON                   // Confluent request.body.format=json: the value as JSON
	bodyAiven                  // Aiven: strings verbatim, everything else as JSON
)

// settings is everything the engine needs, both front-ends reduced to one
// request model: method, URL template, headers, body = prefix +
// join(separator) + suffix, batch key.
type settings struct {
	front      frontEnd
	connector  string // the connector's name, for ${connector}
	method     string
	url        *template
	headers    http.Header
	body       bodyKind
	json       *convert.JSONConverter // schemaless, decimals per the decimal format key
	prefix     string
	separator  string
	suffix     string
	batchKey   *template // nil: every record in one group
	byHeaders  bool      // records with different Kafka headers are not batched together
	maxRecords int
	maxBytes   int64
	rewrites   []rewrite

	nullPolicy     string // ignore, delete, log, fail (Aiven: fail)
	deletesInOrder bool
	onError        string // fail, log, ignore

	maxRetries int
	backoff    kit.Backoff
	retryable  func(status int) bool
	success    func(status int) bool
	renewOn    map[int]bool

	reporter *reporterSettings
}

// rewrite is one of Confluent's regex.patterns with its replacement.
type rewrite struct {
	re   *regexp.Regexp
	repl string
}

// resolve reads config under the front-end its class names and returns
// the settings, or every problem found, each naming its key.
func resolve(config map[string]string) (*settings, connect.Config, error) {
	cfg, err := Config.Parse(config)
	if err != nil {
		return nil, cfg, err
	}
	front := frontEndOf(config)
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.NewConfigError(key, "%s: %s", key, fmt.Sprintf(format, args...)))
	}
	other, otherClass := aivenOnly, AivenClass
	if front == aiven {
		other, otherClass = confluentOnly, ConfluentClass
	}
	for k := range config {
		if other[k] {
			bad(k, "is a key of %s, not of %s (the class this connector was created with); use that class or this one's keys", otherClass, front.class())
		}
	}
	for _, k := range unsupportedTLSKeys {
		if _, ok := config[k]; ok {
			bad(k, "is not supported by Sluice's HTTP sink")
		}
	}
	s := &settings{front: front, connector: config["name"]}
	if front == aiven {
		resolveAiven(cfg, s, bad)
	} else {
		resolveConfluent(cfg, s, bad)
	}
	if v := batchMaxBytes.Get(cfg); v < 1 {
		bad(batchMaxBytes.Name(), "must be at least 1, got %d", v)
	}
	s.maxBytes = batchMaxBytes.Get(cfg)
	if s.maxRecords < 1 {
		bad(batchMaxSize.Name(), "must be at least 1, got %d", s.maxRecords)
	}
	if s.maxRetries < 0 {
		bad(maxRetries.Name(), "must be at least 0, got %d", s.maxRetries)
	}
	if d := retryBackoff.Get(cfg); d < 0 {
		bad(retryBackoff.Name(), "must be at least 0, got %s", d)
	}
	return s, cfg, errors.Join(errs...)
}

// orDefault returns the key's value when set, else def.
func orDefault[T any](cfg connect.Config, k kit.Key[T], def T) T {
	if k.IsNull(cfg) {
		return def
	}
	return k.Get(cfg)
}

func resolveConfluent(cfg connect.Config, s *settings, bad func(key, format string, args ...any)) {
	if apiURL.IsNull(cfg) || apiURL.Get(cfg) == "" {
		bad(apiURL.Name(), "is required")
	} else if t, err := parseURLTemplate(apiURL.Get(cfg)); err != nil {
		bad(apiURL.Name(), "%v", err)
	} else {
		s.url = t
	}
	s.method = strings.ToUpper(requestMethod.Get(cfg))
	hs, err := parseHeaders(orDefault(cfg, headersKey, ""), headerSeparator.Get(cfg))
	if err != nil {
		bad(headersKey.Name(), "%v", err)
	}
	s.headers = hs
	s.body = bodyString
	if strings.EqualFold(bodyFormat.Get(cfg), "json") {
		s.body = bodyJSON
		if s.headers.Get("Content-Type") == "" {
			s.headers.Set("Content-Type", "application/json")
		}
	}
	if s.json, err = jsonWriter(jsonDecimalFormat.Get(cfg)); err != nil {
		bad(jsonDecimalFormat.Name(), "%v", err)
	}
	sep := orDefault(cfg, batchSeparator, orDefault(cfg, batchSeperator, ","))
	s.prefix, s.separator, s.suffix = orDefault(cfg, batchPrefix, ""), sep, orDefault(cfg, batchSuffix, "")
	if jsonAsArray.Get(cfg) {
		for _, k := range []kit.Key[string]{batchPrefix, batchSuffix, batchSeparator, batchSeperator} {
			if !k.IsNull(cfg) {
				bad(k.Name(), "is not used with batch.json.as.array=true (the batch is a JSON array); set batch.json.as.array=false to use it")
			}
		}
		s.prefix, s.separator, s.suffix = "[", ",", "]"
	}
	if t, err := parseTemplate(batchKeyPattern.Get(cfg)); err != nil {
		bad(batchKeyPattern.Name(), "%v", err)
	} else {
		s.batchKey = t
	}
	s.byHeaders = true
	s.maxRecords = int(orDefault(cfg, batchMaxSize, 1))
	s.rewrites = parseRewrites(cfg, bad)
	s.nullPolicy = strings.ToLower(nullValues.Get(cfg))
	s.deletesInOrder = deletesInOrder.Get(cfg)
	s.onError = strings.ToLower(behaviorOnError.Get(cfg))
	s.maxRetries = int(orDefault(cfg, maxRetries, 5))
	base := retryBackoff.Get(cfg)
	s.backoff = kit.Backoff{Initial: base, Max: min(32*base, 5*time.Minute), Multiplier: 2}
	if base == 0 {
		s.backoff = kit.Backoff{Initial: time.Nanosecond, Max: time.Nanosecond, Jitter: -1}
	}
	codes, err := parseStatusRanges(retryCodes.Get(cfg))
	if err != nil {
		bad(retryCodes.Name(), "%v", err)
	}
	s.retryable = codes
	s.success = func(st int) bool { return st >= 200 && st < 300 }
	s.renewOn = map[int]bool{http.StatusUnauthorized: true}
	if jwtEnabled.Get(cfg) {
		bad(jwtEnabled.Name(), "JWT client assertions are not supported by Sluice's HTTP sink")
	}
	if csfleEnabled.Get(cfg) {
		bad(csfleEnabled.Name(), "client-side field level encryption is not supported by Sluice's HTTP sink")
	}
	s.reporter = resolveReporter(cfg, s.connector, bad)
}

func resolveAiven(cfg connect.Config, s *settings, bad func(key, format string, args ...any)) {
	if aivenURL.IsNull(cfg) || aivenURL.Get(cfg) == "" {
		bad(aivenURL.Name(), "is required")
	} else if u := aivenURL.Get(cfg); strings.Contains(u, "${") {
		bad(aivenURL.Name(), "is a static URL in the Aiven front-end (no templating); use %s with http.api.url for ${topic}/${key}", ConfluentClass)
	} else if t, err := parseURLTemplate(u); err != nil {
		bad(aivenURL.Name(), "%v", err)
	} else {
		s.url = t
	}
	if aivenAuthType.IsNull(cfg) {
		bad(aivenAuthType.Name(), "is required: none, static or oauth2")
	} else if v := strings.ToLower(aivenAuthType.Get(cfg)); v != "none" && v != "static" && v != "oauth2" {
		bad(aivenAuthType.Name(), "must be none, static or oauth2, got %q", aivenAuthType.Get(cfg))
	}
	s.method = http.MethodPost
	s.headers = http.Header{}
	for _, item := range aivenHeaders.Get(cfg) {
		name, value, ok := strings.Cut(item, ":")
		if !ok || strings.TrimSpace(name) == "" {
			bad(aivenHeaders.Name(), "item %q is not Name:Value", item)
			continue
		}
		s.headers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if !aivenContentType.IsNull(cfg) {
		s.headers.Set("Content-Type", aivenContentType.Get(cfg))
	}
	s.body = bodyAiven
	var err error
	if s.json, err = jsonWriter(aivenDecimalFormat.Get(cfg)); err != nil {
		bad(aivenDecimalFormat.Name(), "%v", err)
	}
	s.prefix = unescape(orDefault(cfg, batchPrefix, ""))
	s.separator = unescape(orDefault(cfg, batchSeparator, "\n"))
	s.suffix = unescape(orDefault(cfg, batchSuffix, "\n"))
	s.maxRecords = 1
	if aivenBatching.Get(cfg) {
		s.maxRecords = int(orDefault(cfg, batchMaxSize, 500))
	} else if !batchMaxSize.IsNull(cfg) {
		bad(batchMaxSize.Name(), "has no effect with batching.enabled=false (one request per record); set batching.enabled=true")
	}
	s.nullPolicy = "fail"
	s.onError = "fail"
	s.maxRetries = int(orDefault(cfg, maxRetries, 1))
	s.backoff = kit.Backoff{Initial: retryBackoff.Get(cfg), Max: retryBackoff.Get(cfg), Multiplier: 1, Jitter: -1}
	if retryBackoff.Get(cfg) == 0 {
		s.backoff = kit.Backoff{Initial: time.Nanosecond, Max: time.Nanosecond, Jitter: -1}
	}
	s.retryable = func(st int) bool { return st >= 400 }
	s.success = func(st int) bool { return st < 400 }
	s.renewOn = map[int]bool{}
	for _, c := range aivenRenewOn.Get(cfg) {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 100 || n > 599 {
			bad(aivenRenewOn.Name(), "%q is not an HTTP status", c)
			continue
		}
		s.renewOn[n] = true
	}
	if !aivenKafkaRetry.IsNull(cfg) {
		bad(aivenKafkaRetry.Name(), "is not supported by Sluice's HTTP sink: raise max.retries and retry.backoff.ms instead")
	}
}

// unescape turns Aiven's escapes (\n, \t, \r, \\) in batch texts into
// the characters.
func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r", `\t`, "\t").Replace(s)
}

// parseHeaders splits Confluent's headers value: Name:Value pairs
// separated by sep.
func parseHeaders(v, sep string) (http.Header, error) {
	h := http.Header{}
	if strings.TrimSpace(v) == "" {
		return h, nil
	}
	if sep == "" {
		sep = "|"
	}
	for _, pair := range strings.Split(v, sep) {
		name, value, ok := strings.Cut(pair, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%q is not Name:Value", pair)
		}
		h.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return h, nil
}

// parseStatusRanges parses retry.on.status.codes: comma-separated codes
// and inclusive ranges, "500-" meaning 500 and above.
func parseStatusRanges(v string) (func(int) bool, error) {
	type span struct{ lo, hi int }
	var spans []span
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("%q is not a status code or range", part)
		}
		b := a
		if isRange {
			b = 999
			if strings.TrimSpace(hi) != "" {
				if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
					return nil, fmt.Errorf("%q is not a status code or range", part)
				}
			}
		}
		spans = append(spans, span{a, b})
	}
	return func(st int) bool {
		for _, s := range spans {
			if st >= s.lo && st <= s.hi {
				return true
			}
		}
		return false
	}, nil
}

func parseRewrites(cfg connect.Config, bad func(key, format string, args ...any)) []rewrite {
	if regexPatterns.IsNull(cfg) {
		if !regexReplacements.IsNull(cfg) {
			bad(regexReplacements.Name(), "needs regex.patterns")
		}
		return nil
	}
	sep := regexSeparator.Get(cfg)
	pats := strings.Split(regexPatterns.Get(cfg), sep)
	repls := strings.Split(orDefault(cfg, regexReplacements, ""), sep)
	if len(repls) != len(pats) {
		bad(regexReplacements.Name(), "has %d replacements for %d patterns", len(repls), len(pats))
		return nil
	}
	out := make([]rewrite, 0, len(pats))
	for i, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			bad(regexPatterns.Name(), "pattern %d: %v", i+1, err)
			continue
		}
		out = append(out, rewrite{re: re, repl: repls[i]})
	}
	return out
}

// jsonWriter returns the JSON form of record values: Kafka's JsonConverter
// with schemas.enable=false, as both connectors render a value, with
// decimals in format (BASE64 or NUMERIC).
func jsonWriter(format string) (*convert.JSONConverter, error) {
	c := convert.NewJSONConverter()
	if err := c.Configure(map[string]string{"schemas.enable": "false", "decimal.format": strings.ToUpper(format)}, false); err != nil {
		return nil, err
	}
	return c, nil
}
