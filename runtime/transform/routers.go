package transform

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sluicehq/sluice/runtime/connect"
)

// regexRouter is org.apache.kafka.connect.transforms.RegexRouter: when the
// whole topic matches regex, the topic becomes the replacement, in which
// $1 and ${name} refer to groups as in java.util.regex. Go's RE2 syntax
// stands in for Java's.
type regexRouter struct {
	re       *regexp.Regexp
	template string
}

var regexRouterConfig = connect.ConfigDef{
	{Name: "regex", Type: connect.ConfigString, Default: connect.NoDefault, Validator: javaRegex,
		Importance: connect.High, Doc: "Regular expression the whole topic must match."},
	{Name: "replacement", Type: connect.ConfigString, Default: connect.NoDefault, Importance: connect.High,
		Doc: "Replacement topic; $n and ${name} insert capture groups."},
}

func (t *regexRouter) Configure(props map[string]string) error {
	cfg, err := regexRouterConfig.Parse(props)
	if err != nil {
		return err
	}
	// Matcher.matches() must match the whole topic.
	t.re = regexp.MustCompile(`^(?:` + cfg.String("regex") + `)$`)
	t.template, err = javaReplacement(cfg.String("replacement"), t.re)
	if err != nil {
		return connect.NewConfigError("replacement", "Invalid value %s for configuration replacement: %s", cfg.String("replacement"), err)
	}
	return nil
}

func (t *regexRouter) Apply(r *connect.Record) (*connect.Record, error) {
	m := t.re.FindStringSubmatchIndex(r.Topic)
	if m == nil {
		return r, nil
	}
	c := r.Copy()
	c.Topic = string(t.re.ExpandString(nil, t.template, r.Topic, m))
	return c, nil
}

// javaReplacement translates a Matcher.appendReplacement string into a Go
// Expand template: "\x" is a literal x, "$12" takes as many digits as still
// name a group, "${name}" a named group, and a literal "$" becomes "$$".
func javaReplacement(repl string, re *regexp.Regexp) (string, error) {
	groups := re.NumSubexp()
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i == len(repl) {
				return "", fmt.Errorf("character to be escaped is missing")
			}
			if repl[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(repl[i])
			}
		case '$':
			i++
			if i == len(repl) {
				return "", fmt.Errorf("Illegal group reference: group index is missing")
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return "", fmt.Errorf("named capturing group is missing trailing '}'")
				}
				name := repl[i+1 : i+end]
				if re.SubexpIndex(name) < 0 {
					return "", fmt.Errorf("No group with name {%s}", name)
				}
				b.WriteString("${" + name + "}")
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return "", fmt.Errorf("Illegal group reference")
			}
			ref := int(repl[i] - '0')
			if ref > groups {
				return "", fmt.Errorf("No group %d", ref)
			}
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' && ref*10+int(repl[i+1]-'0') <= groups {
				ref = ref*10 + int(repl[i+1]-'0')
				i++
			}
			fmt.Fprintf(&b, "${%d}", ref)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// timestampRouter is org.apache.kafka.connect.transforms.TimestampRouter:
// the topic becomes topic.format with ${topic} and ${timestamp} filled in,
// the record timestamp formatted by a SimpleDateFormat pattern in UTC.
type timestampRouter struct {
	topicFormat string
	format      *javaDateFormat
}

var timestampRouterConfig = connect.ConfigDef{
	{Name: "topic.format", Type: connect.ConfigString, Default: "${topic}-${timestamp}", Importance: connect.High,
		Doc: "Topic name template: ${topic} is the original topic, ${timestamp} the formatted record timestamp."},
	{Name: "timestamp.format", Type: connect.ConfigString, Default: "yyyyMMdd", Importance: connect.High,
		Doc: "SimpleDateFormat pattern for the timestamp."},
}

func (t *timestampRouter) Configure(props map[string]string) error {
	cfg, err := timestampRouterConfig.Parse(props)
	if err != nil {
		return err
	}
	t.topicFormat = cfg.String("topic.format")
	if t.format, err = newJavaDateFormat(cfg.String("timestamp.format")); err != nil {
		return connect.NewConfigError("timestamp.format", "Invalid value %s for configuration timestamp.format: %s", cfg.String("timestamp.format"), err)
	}
	return nil
}

func (t *timestampRouter) Apply(r *connect.Record) (*connect.Record, error) {
	if r.Timestamp.IsZero() {
		return nil, fmt.Errorf("%w: Timestamp missing on record: %s", connect.ErrData, r)
	}
	c := r.Copy()
	topic := strings.ReplaceAll(t.topicFormat, "${topic}", r.Topic)
	c.Topic = strings.ReplaceAll(topic, "${timestamp}", t.format.Format(r.Timestamp))
	return c, nil
}
