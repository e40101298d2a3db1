package transform

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func newPredicateFor(t *testing.T, class string, props map[string]string) connect.Predicate {
	t.Helper()
	p := connect.FindPlugin(Plugins(), connect.PluginPredicate, class)
	require.NotNil(t, p, class)
	pred := p.NewPredicate()
	require.NoError(t, pred.Configure(props))
	return pred
}

func TestPredicates(t *testing.T) {
	r := valueRecord(nil, "v")
	r.Topic = "orders-raw"
	r.Headers = connect.Headers{{Key: "trace", Value: "1"}}
	tomb := valueRecord(nil, nil)

	assert.True(t, newPredicateFor(t, "TopicNameMatches", map[string]string{"pattern": ".*-raw"}).Test(r))
	assert.False(t, newPredicateFor(t, "TopicNameMatches", map[string]string{"pattern": "raw"}).Test(r), "the whole topic must match")
	assert.True(t, newPredicateFor(t, "HasHeaderKey", map[string]string{"name": "trace"}).Test(r))
	assert.False(t, newPredicateFor(t, "HasHeaderKey", map[string]string{"name": "other"}).Test(r))
	assert.False(t, newPredicateFor(t, "RecordIsTombstone", nil).Test(r))
	assert.True(t, newPredicateFor(t, "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone", nil).Test(tomb))

	for class, tc := range map[string]struct {
		props map[string]string
		msg   string
	}{
		"TopicNameMatches": {map[string]string{"pattern": "("}, "Invalid value ( for configuration pattern: Invalid regex"},
		"HasHeaderKey":     {map[string]string{"name": ""}, "Invalid value  for configuration name: String must be non-empty"},
	} {
		p := connect.FindPlugin(Plugins(), connect.PluginPredicate, class)
		err := p.NewPredicate().Configure(tc.props)
		require.ErrorIs(t, err, connect.ErrConfig)
		assert.Contains(t, err.Error(), tc.msg)
	}
	err := connect.FindPlugin(Plugins(), connect.PluginPredicate, "TopicNameMatches").NewPredicate().Configure(map[string]string{"pattern": ""})
	assert.ErrorContains(t, err, "String must be non-empty")
}

func TestPluginsList(t *testing.T) {
	var transforms, predicates []string
	for _, p := range Plugins() {
		assert.Equal(t, connect.BuiltinVersion, p.Version)
		assert.NotEmpty(t, p.Doc)
		require.NoError(t, p.Check())
		switch p.Type {
		case connect.PluginTransformation:
			transforms = append(transforms, p.Class)
			assert.NotNil(t, p.NewTransform(), p.Class)
		case connect.PluginPredicate:
			predicates = append(predicates, p.Class)
			assert.NotNil(t, p.NewPredicate(), p.Class)
		}
	}
	assert.Len(t, transforms, 28, "16 Kafka SMTs, 10 of them with $Key and $Value, and Debezium's ExtractNewRecordState and outbox EventRouter")
	assert.Contains(t, transforms, "org.apache.kafka.connect.transforms.Cast$Value")
	assert.Contains(t, transforms, "org.apache.kafka.connect.transforms.ValueToKey")
	assert.Len(t, predicates, 3)
	a := Plugins()[0].NewTransform()
	b := Plugins()[0].NewTransform()
	assert.NotSame(t, a, b, "fresh instances")
}

func chainProps(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestChainOrderAndPredicates(t *testing.T) {
	props := chainProps(
		"transforms", "hoist, tag,route,drop",
		"transforms.hoist.type", "HoistField$Value",
		"transforms.hoist.field", "wrapped",
		"transforms.route.type", "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex", "(.*)-raw",
		"transforms.route.replacement", "$1",
		"transforms.route.predicate", "isRaw",
		"transforms.tag.type", "InsertHeader",
		"transforms.tag.header", "routed",
		"transforms.tag.value.literal", "no",
		"transforms.tag.predicate", "isRaw",
		"transforms.tag.negate", "true",
		"transforms.drop.type", "Filter",
		"transforms.drop.predicate", "tomb",
		"predicates", "isRaw,tomb",
		"predicates.isRaw.type", "TopicNameMatches",
		"predicates.isRaw.pattern", ".*-raw",
		"predicates.tomb.type", "HasHeaderKey",
		"predicates.tomb.name", "drop-me",
	)
	c, err := NewChain(props, Plugins(), nil)
	require.NoError(t, err)
	assert.Equal(t, 4, c.Len())

	r := valueRecord(nil, "v")
	r.Topic = "orders-raw"
	out, err := c.Apply(r)
	require.NoError(t, err)
	assert.Equal(t, "orders", out.Topic, "predicate matched the original topic")
	assert.Equal(t, map[string]any{"wrapped": "v"}, out.Value, "hoist ran first")
	assert.Empty(t, out.Headers, "negated predicate: tag skipped for raw topics")

	r = valueRecord(nil, "v")
	r.Topic = "orders"
	out, err = c.Apply(r)
	require.NoError(t, err)
	assert.Equal(t, "orders", out.Topic)
	require.Len(t, out.Headers, 1)
	assert.Equal(t, "routed", out.Headers[0].Key)

	r.Headers = connect.Headers{{Key: "drop-me"}}
	out, err = c.Apply(r)
	require.NoError(t, err)
	assert.Nil(t, out, "Filter with predicate drops")
	assert.Equal(t, "v", r.Value, "input untouched")
}

func TestChainStopsAtDrop(t *testing.T) {
	c, err := NewChain(chainProps("transforms", "f,fail", "transforms.f.type", "Filter",
		"transforms.fail.type", "ValueToKey", "transforms.fail.fields", "x"), Plugins(), nil)
	require.NoError(t, err)
	out, err := c.Apply(valueRecord(nil, nil))
	assert.NoError(t, err, "the failing stage after a drop never runs")
	assert.Nil(t, out)
}

func TestChainStageError(t *testing.T) {
	c, err := NewChain(chainProps("transforms", "ok,extract", "transforms.ok.type", "InsertHeader",
		"transforms.ok.header", "h", "transforms.ok.value.literal", "x",
		"transforms.extract.type", "ExtractField$Value", "transforms.extract.field", "f"), Plugins(), nil)
	require.NoError(t, err)
	_, err = c.Apply(valueRecord(nil, "not a map"))
	var se *StageError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "extract", se.Alias)
	assert.Equal(t, "org.apache.kafka.connect.transforms.ExtractField$Value", se.Class)
	assert.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "transformation extract (org.apache.kafka.connect.transforms.ExtractField$Value): ")
}

func TestChainEmptyAndNil(t *testing.T) {
	c, err := NewChain(map[string]string{}, Plugins(), nil)
	require.NoError(t, err)
	assert.Equal(t, 0, c.Len())
	r := valueRecord(nil, "v")
	out, err := c.Apply(r)
	require.NoError(t, err)
	assert.Same(t, r, out)
	var nilChain *Chain
	out, err = nilChain.Apply(r)
	require.NoError(t, err)
	assert.Same(t, r, out)
	assert.Equal(t, 0, nilChain.Len())
}

func TestChainConfigErrors(t *testing.T) {
	props := chainProps(
		"transforms", "a,b,c,d,e,a",
		"transforms.a.type", "NoSuchTransform",
		"transforms.c.type", "Cast$Value",
		"transforms.d.type", "Filter",
		"transforms.d.negate", "true",
		"transforms.e.type", "Filter",
		"transforms.e.predicate", "missing",
		"predicates", "p",
		"predicates.p.type", "TopicNameMatches",
	)
	_, err := NewChain(props, Plugins(), nil)
	require.Error(t, err)
	require.ErrorIs(t, err, connect.ErrConfig)
	msg := err.Error()
	for _, want := range []string{
		"Invalid value a,b,c,d,e,a for configuration transforms: Duplicate alias provided.",
		"Invalid value NoSuchTransform for configuration transforms.a.type: Class NoSuchTransform could not be found.",
		`Missing required configuration "transforms.b.type" which has no default value.`,
		`configure transformation c (org.apache.kafka.connect.transforms.Cast$Value): Missing required configuration "spec"`,
		"Config 'transforms.d.negate' was provided but there is no config 'transforms.d.predicate' defining a predicate to be negated.",
		"Unknown configuration 'predicates.missing.type'",
		`configure predicate p (org.apache.kafka.connect.transforms.predicates.TopicNameMatches): Missing required configuration "pattern"`,
	} {
		assert.Contains(t, msg, want)
	}
	_, err = NewChain(chainProps("transforms", "x", "transforms.x.type", "Filter", "transforms.x.predicate", "p",
		"transforms.x.negate", "maybe", "predicates", "p", "predicates.p.type", "RecordIsTombstone"), Plugins(), nil)
	assert.ErrorContains(t, err, "Invalid value maybe for configuration transforms.x.negate: Expected value to be either true or false")
	_, err = NewChain(chainProps("predicates", "p", "predicates.p.type", "Cast$Value"), Plugins(), nil)
	assert.ErrorContains(t, err, "Class Cast$Value could not be found.", "a transform is not a predicate")
}

// upper is a transform from another package, plugged in by being listed.
type upper struct{}

func (upper) Configure(map[string]string) error { return nil }
func (upper) Apply(r *connect.Record) (*connect.Record, error) {
	c := r.Copy()
	c.Topic = "UPPER"
	return c, nil
}

func TestChainExternalPlugin(t *testing.T) {
	plugins := append(Plugins(), connect.Plugin{Class: "io.example.Upper", Aliases: []string{"io.debezium.Upper"},
		Type: connect.PluginTransformation, NewTransform: func() connect.Transform { return upper{} }})
	c, err := NewChain(chainProps("transforms", "u", "transforms.u.type", "io.debezium.Upper"), plugins, nil)
	require.NoError(t, err)
	out, err := c.Apply(valueRecord(nil, "v"))
	require.NoError(t, err)
	assert.Equal(t, "UPPER", out.Topic)
}

func TestStageErrorUnwrap(t *testing.T) {
	inner := errors.New("boom")
	err := error(&StageError{Alias: "a", Class: "C", Err: inner})
	assert.ErrorIs(t, err, inner)
	assert.Equal(t, "transformation a (C): boom", err.Error())
}

// logged is a transform and predicate from another package that wants a
// logger; it notes whether it had one when configured.
type logged struct {
	logger         *slog.Logger
	loggedAtConfig bool
}

func (l *logged) SetLogger(lg *slog.Logger) { l.logger = lg }
func (l *logged) Configure(map[string]string) error {
	l.loggedAtConfig = l.logger != nil
	l.logger.Info("configured")
	return nil
}
func (l *logged) Apply(r *connect.Record) (*connect.Record, error) { return r, nil }
func (l *logged) Test(*connect.Record) bool                        { return true }

// The chain gives each transform and predicate that wants one the logger
// for its class, before Configure; the worker names the connector and
// task in it.
func TestChainGivesPluginsTheirLogger(t *testing.T) {
	plugins := append(Plugins(),
		connect.Plugin{Class: "io.example.Logged", Type: connect.PluginTransformation, NewTransform: func() connect.Transform { return &logged{} }},
		connect.Plugin{Class: "io.example.LoggedPredicate", Type: connect.PluginPredicate, NewPredicate: func() connect.Predicate { return &logged{} }})
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, nil))
	loggerFor := func(class string) *slog.Logger { return base.With("logger", class, "connector", "c", "task", 0) }
	c, err := NewChain(chainProps("transforms", "l,outbox", "transforms.l.type", "io.example.Logged", "transforms.l.predicate", "p",
		"transforms.outbox.type", "io.debezium.transforms.outbox.EventRouter",
		"predicates", "p", "predicates.p.type", "io.example.LoggedPredicate"), plugins, loggerFor)
	require.NoError(t, err)
	assert.True(t, c.stages[0].transform.(*logged).loggedAtConfig)
	assert.True(t, c.stages[0].predicate.(*logged).loggedAtConfig)
	assert.Contains(t, buf.String(), `msg=configured logger=io.example.Logged connector=c task=0`)
	assert.Contains(t, buf.String(), `msg=configured logger=io.example.LoggedPredicate connector=c task=0`)

	_, err = c.Apply(outboxEvent("u", orderCreated(outboxRow)))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), `level=WARN msg="Unexpected update message received and ignored" logger=io.debezium.transforms.outbox.EventRouter connector=c task=0 topic=dbserver1.inventory.outboxevent`)

	// Without a logger function, plugins get one that discards.
	buf.Reset()
	c, err = NewChain(chainProps("transforms", "l", "transforms.l.type", "io.example.Logged"), plugins, nil)
	require.NoError(t, err)
	assert.True(t, c.stages[0].transform.(*logged).loggedAtConfig)
	assert.Empty(t, buf.String())
}
