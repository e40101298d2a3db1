package transform

import (
	"regexp"

	"github.com/sluicehq/sluice/runtime/connect"
)

// topicNameMatches is
// org.apache.kafka.connect.transforms.predicates.TopicNameMatches: true when
// the whole topic matches pattern.
type topicNameMatches struct {
	re *regexp.Regexp
}

var topicNameMatchesConfig = connect.ConfigDef{
	{Name: "pattern", Type: connect.ConfigString, Default: connect.NoDefault,
		Validator: composite(nonEmptyString, javaRegex), Importance: connect.Medium,
		Doc: "Regular expression the whole topic name must match."},
}

func (p *topicNameMatches) Configure(props map[string]string) error {
	cfg, err := topicNameMatchesConfig.Parse(props)
	if err != nil {
		return err
	}
	p.re = regexp.MustCompile(`^(?:` + cfg.String("pattern") + `)$`)
	return nil
}

func (p *topicNameMatches) Test(r *connect.Record) bool { return p.re.MatchString(r.Topic) }

// hasHeaderKey is org.apache.kafka.connect.transforms.predicates.HasHeaderKey:
// true when the record has at least one header with the name.
type hasHeaderKey struct {
	name string
}

var hasHeaderKeyConfig = connect.ConfigDef{
	{Name: "name", Type: connect.ConfigString, Default: connect.NoDefault, Validator: nonEmptyString,
		Importance: connect.Medium, Doc: "The header name."},
}

func (p *hasHeaderKey) Configure(props map[string]string) error {
	cfg, err := hasHeaderKeyConfig.Parse(props)
	if err != nil {
		return err
	}
	p.name = cfg.String("name")
	return nil
}

func (p *hasHeaderKey) Test(r *connect.Record) bool {
	_, ok := r.Headers.Last(p.name)
	return ok
}

// recordIsTombstone is
// org.apache.kafka.connect.transforms.predicates.RecordIsTombstone: true
// when the value is null.
type recordIsTombstone struct{}

func (recordIsTombstone) Configure(map[string]string) error { return nil }

func (recordIsTombstone) Test(r *connect.Record) bool { return r.Value == nil }
