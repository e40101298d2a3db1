package httpsource

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/kit"
	"github.com/sluicehq/sluice/runtime/connect"
)

// config is a task's parsed configuration.
type config struct {
	listeners   []kit.Listener
	tls         kit.TLS
	topic       string
	format      template // nil: always topic
	keyField    string
	metaLoc     string // headers, value or none
	metaField   string
	keepHeaders []string // canonical header names
	protocols   []string
	settings    Settings

	tokens              []string
	basicUser, basicPwd string

	maxBytes  int64
	maxEvents int
	// maxEventBytes bounds one event's record (max.event.bytes).
	maxEventBytes int64
	maxRequests   int
	maxConns      int
	timeout       time.Duration
	bodyTimeout   time.Duration // request.body.timeout.ms
	retryAfter    time.Duration
	queueRecords  int
	queueBytes    int64
}

// parseConfig reads and checks a connector or task config.
func parseConfig(props map[string]string) (*config, error) {
	cfg, err := Config.Parse(props)
	if err != nil {
		return nil, err
	}
	return settingsOf(cfg)
}

// settingsOf reads a parsed config, checking what crosses keys.
func settingsOf(cfg connect.Config) (*config, error) {
	c := &config{
		tls:           tlsKeys.Values(cfg),
		topic:         topicKey.Get(cfg),
		keyField:      keyFieldKey.Get(cfg),
		metaLoc:       strings.ToLower(metaLocationKey.Get(cfg)),
		metaField:     metaFieldKey.Get(cfg),
		maxBytes:      maxBytesKey.Get(cfg),
		maxEvents:     int(maxEventsKey.Get(cfg)),
		maxEventBytes: maxEventBytesKey.Get(cfg),
		maxRequests:   int(maxRequestsKey.Get(cfg)),
		maxConns:      int(maxConnsKey.Get(cfg)),
		timeout:       timeoutKey.Get(cfg),
		bodyTimeout:   bodyTimeoutKey.Get(cfg),
		retryAfter:    time.Duration(retryAfterKey.Get(cfg)) * time.Second,
		queueRecords:  int(queueRecordsKey.Get(cfg)),
		queueBytes:    queueBytesKey.Get(cfg),
		basicUser:     basicUserKey.Get(cfg),
		basicPwd:      basicPassKey.Get(cfg),
		settings: Settings{
			ESVersion:      esVersionKey.Get(cfg),
			ESBusyItems:    strings.EqualFold(esBusyKey.Get(cfg), esBusyItems),
			HECAck:         hecAckKey.Get(cfg),
			JSONPaths:      jsonPathsKey.Get(cfg),
			TimestampField: jsonTimestampKey.Get(cfg),
			MaxEvents:      int(maxEventsKey.Get(cfg)),
		},
	}
	for _, s := range listenersKey.Get(cfg) {
		l, err := listenerSyntax.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: listeners: %v", connect.ErrConfig, err)
		}
		if l.TLS && c.tls.Cert == "" {
			return nil, fmt.Errorf("%w: listeners: %s needs %s and %s", connect.ErrConfig, s, tlsKeys.Cert, tlsKeys.Key)
		}
		c.listeners = append(c.listeners, l)
	}
	var err error
	if c.format, err = parseTemplate(topicFormatKey.Get(cfg)); err != nil {
		return nil, fmt.Errorf("%w: topic.format: %v", connect.ErrConfig, err)
	}
	for _, h := range headersKeepKey.Get(cfg) {
		if h = strings.TrimSpace(h); h != "" {
			c.keepHeaders = append(c.keepHeaders, http.CanonicalHeaderKey(h))
		}
	}
	for _, p := range protocolsKey.Get(cfg) {
		c.protocols = append(c.protocols, strings.ToLower(strings.TrimSpace(p)))
	}
	for _, t := range strings.Split(tokensKey.Get(cfg), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.tokens = append(c.tokens, t)
		}
	}
	if c.basicUser != "" && c.basicPwd == "" {
		return nil, fmt.Errorf("%w: auth.basic.password is required with auth.basic.username", connect.ErrConfig)
	}
	return c, nil
}

// template is a parsed topic.format: literal text and ${field}
// references, alternating.
type template []part

type part struct {
	lit   string
	field string // set for a reference
}

// parseTemplate parses s; an empty s is the nil template.
func parseTemplate(s string) (template, error) {
	if s == "" {
		return nil, nil
	}
	var t template
	for s != "" {
		i := strings.Index(s, "${")
		if i < 0 {
			t = append(t, part{lit: s})
			break
		}
		if i > 0 {
			t = append(t, part{lit: s[:i]})
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: ${ without a closing }", s)
		}
		name := s[i+2 : i+end]
		if name == "" {
			return nil, fmt.Errorf("%q: an empty ${}", s)
		}
		t = append(t, part{field: name})
		s = s[i+end+1:]
	}
	return t, nil
}

// expand fills t from e's metadata; ok is false when a field is missing.
func (t template) expand(e *Event) (string, bool) {
	var b strings.Builder
	for _, p := range t {
		if p.field == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := e.Get(p.field)
		if !ok || v == "" {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}
