package convert

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Parsing header strings as Kafka's Values.parseString does. The string is
// cut into tokens at the delimiters : , { } [ ] and " (a backslash escapes
// the next character and stays in the token); arrays and maps are parsed
// from the tokens, and a token on its own is tried as a literal, a
// temporal value, then a number. Whatever fails to parse stays a string.
//
// Where Kafka returns the leading part of a string that merely starts
// with a number or an array ("12:30" → 12), the whole input stays a
// string here.

var errNotParsed = errors.New("not a value")

// parsedValue is a parse result; a nil *parsedValue is a null.
type parsedValue struct {
	schema *connect.Schema
	value  any
}

// parseValuesString infers the schema and value of a header string.
func parseValuesString(s string) (*connect.Schema, any) {
	if s == "" {
		return connect.StringSchema, s
	}
	p := &valuesParser{src: s, toks: tokenize(s)}
	p.last = len(p.toks) - 1
	for p.last >= 0 && javaTrim(p.toks[p.last]) == "" {
		p.last--
	}
	r, err := p.parse(false)
	if err != nil || (r != nil && p.hasNext()) {
		return connect.StringSchema, s
	}
	if r == nil {
		return nil, nil
	}
	return r.schema, r.value
}

var literals = []struct {
	token string
	value *parsedValue
}{
	{"null", nil},
	{"true", &parsedValue{connect.BooleanSchema, true}},
	{"false", &parsedValue{connect.BooleanSchema, false}},
}

type valuesParser struct {
	src   string
	toks  []string
	at    int
	last  int // the last token that is not whitespace
	depth int
}

// tokenize splits s as Kafka's Values.Parser does.
func tokenize(s string) []string {
	var toks []string
	start, escaped := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			escaped = !escaped
		case strings.IndexByte(`:,{}[]"`, c) >= 0 && !escaped:
			if start < i {
				toks = append(toks, s[start:i])
			}
			toks = append(toks, s[i:i+1])
			start = i + 1
		default:
			escaped = false
		}
	}
	if start < len(s) {
		toks = append(toks, s[start:])
	}
	return toks
}

func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// hasNext reports whether anything but whitespace is left.
func (p *valuesParser) hasNext() bool { return p.at <= p.last }

// canConsume consumes the next token if, trimmed, it is want; whitespace
// tokens before it are skipped either way.
func (p *valuesParser) canConsume(want string) bool {
	for p.at < len(p.toks)-1 && javaTrim(p.toks[p.at]) == "" {
		p.at++
	}
	if p.at < len(p.toks) && javaTrim(p.toks[p.at]) == want {
		p.at++
		return true
	}
	return false
}

func (p *valuesParser) next() string {
	t := p.toks[p.at]
	p.at++
	return t
}

func (p *valuesParser) parse(embedded bool) (*parsedValue, error) {
	if p.at >= len(p.toks) {
		return nil, nil
	}
	if p.depth >= maxJSONDepth {
		return nil, errNotParsed
	}
	p.depth++
	defer func() { p.depth-- }()
	if embedded && p.canConsume(`"`) {
		return p.quoted(), nil
	}
	for _, lit := range literals {
		mark := p.at
		if p.canConsume(lit.token) && (embedded || !p.hasNext()) {
			return lit.value, nil
		}
		p.at = mark
	}
	start := p.at
	if p.canConsume("[") {
		if r, err := p.array(); err == nil {
			return r, nil
		}
		p.at = start
	} else if p.canConsume("{") {
		if r, err := p.mapValue(); err == nil {
			return r, nil
		}
		p.at = start
	}
	return p.scalar(embedded)
}

// quoted reads a string up to the closing quote; only temporal values
// are parsed out of quotes.
func (p *valuesParser) quoted() *parsedValue {
	var sb strings.Builder
	for p.at < len(p.toks) && !p.canConsume(`"`) {
		if p.at < len(p.toks) {
			sb.WriteString(p.next())
		}
	}
	content := sb.String()
	if s, v := parseValuesString(content); s != nil && isTemporal(s) {
		return &parsedValue{s, v}
	}
	return &parsedValue{connect.StringSchema, content}
}

func isTemporal(s *connect.Schema) bool {
	return s.Name == connect.DateName || s.Name == connect.TimeName || s.Name == connect.TimestampName
}

// scalar parses one token as a temporal value or a number; otherwise an
// embedded token is an error and a top-level one a string.
func (p *valuesParser) scalar(embedded bool) (*parsedValue, error) {
	raw := p.next()
	token := javaTrim(raw)
	if token == "" {
		return &parsedValue{connect.StringSchema, raw}, nil
	}
	first := token[0]
	isDigit := first >= '0' && first <= '9'
	if isDigit {
		if r := p.temporal(token); r != nil {
			return r, nil
		}
	}
	if isDigit || first == '+' || first == '-' {
		if r := parseNumberToken(token); r != nil {
			return r, nil
		}
	}
	if embedded {
		return nil, errNotParsed
	}
	return &parsedValue{connect.StringSchema, p.src}, nil
}

// temporal tries the token joined with the next four (a time's colons
// are delimiters), then the token alone.
func (p *valuesParser) temporal(token string) *parsedValue {
	mark := p.at
	if p.at+4 <= len(p.toks) {
		joined := token + strings.Join(p.toks[p.at:p.at+4], "")
		if r := parseTemporal(joined); r != nil {
			p.at += 4
			return r
		}
	}
	p.at = mark
	return parseTemporal(token)
}

func parseTemporal(s string) *parsedValue {
	s = strings.ReplaceAll(s, `\:`, ":")
	var layout string
	var schema *connect.Schema
	switch len(s) {
	case len(isoTime):
		layout, schema = isoTime, connect.TimeSchema().Build()
	case len(isoTimestamp):
		layout, schema = isoTimestamp, connect.TimestampSchema().Build()
	case len(isoDate):
		layout, schema = isoDate, connect.DateSchema().Build()
	default:
		return nil
	}
	t, err := time.ParseInLocation(layout, s, time.UTC)
	if err != nil {
		return nil
	}
	return &parsedValue{schema, t}
}

// parseNumberToken classifies a number as Kafka does: the smallest of
// INT8..INT64 that holds it exactly, else FLOAT32 or FLOAT64 when it has
// a fraction or exponent and fits, else a Decimal of its own scale.
func parseNumberToken(token string) *parsedValue {
	p, ok := parseDecimal([]byte(token))
	if !ok {
		return nil
	}
	r, exactErr := p.rat()
	if exactErr == nil && r.IsInt() && r.Num().IsInt64() {
		return smallestInt(r.Num().Int64())
	}
	if f, _ := strconv.ParseFloat(token, 32); !math.IsInf(f, 0) && p.scale != 0 {
		return &parsedValue{connect.Float32Schema, float32(f)}
	}
	if f, _ := strconv.ParseFloat(token, 64); !math.IsInf(f, 0) && p.scale != 0 {
		return &parsedValue{connect.Float64Schema, f}
	}
	if exactErr != nil {
		return nil
	}
	return &parsedValue{connect.DecimalSchema(int(p.scale)).Build(), r}
}

func smallestInt(v int64) *parsedValue {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return &parsedValue{connect.Int8Schema, int8(v)}
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return &parsedValue{connect.Int16Schema, int16(v)}
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return &parsedValue{connect.Int32Schema, int32(v)}
	}
	return &parsedValue{connect.Int64Schema, v}
}
