package worker_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// rawLine is a value already in the form the JsonConverter writes.
const rawLine = `{"log":"x","id":1}`

// rawCommits counts the CommitRecord calls with the very record Poll
// returned, by probe.
var rawCommits sync.Map // probe → *rawProbe

type rawProbe struct {
	mu   sync.Mutex
	sent *connect.Record
	same int
}

// rawTask returns one record whose value is a connect.RawJSON.
type rawTask struct {
	probe *rawProbe
	topic string
	done  bool
}

func (t *rawTask) Start(_ connect.SourceTaskContext, cfg map[string]string) error {
	p, _ := rawCommits.LoadOrStore(cfg["probe"], &rawProbe{})
	t.probe, t.topic = p.(*rawProbe), cfg["topic"]
	return nil
}

func (t *rawTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	if t.done {
		<-ctx.Done()
		return nil, nil
	}
	t.done = true
	r := connect.NewSourceRecord(nil, nil, t.topic, nil, nil, nil, connect.RawJSON(rawLine))
	t.probe.mu.Lock()
	t.probe.sent = r
	t.probe.mu.Unlock()
	return []*connect.Record{r}, nil
}

func (t *rawTask) CommitRecord(r *connect.Record) error {
	t.probe.mu.Lock()
	defer t.probe.mu.Unlock()
	if r == t.probe.sent {
		t.probe.same++
	}
	return nil
}

func (t *rawTask) Commit([]connect.SourceOffset) error { return nil }
func (t *rawTask) Stop() error                         { return nil }

var rawPlugin = connect.ConnectorPlugin{
	Class: "test.RawJSONSourceConnector",
	Config: connect.ConfigDef{
		{Name: "probe", Type: connect.ConfigString, Default: connect.NoDefault},
		{Name: "topic", Type: connect.ConfigString, Default: connect.NoDefault},
	},
	NewConnector:  func() connect.Connector { return &flakyConnector{} },
	NewSourceTask: func() connect.SourceTask { return &rawTask{} },
}

// A connect.RawJSON value is written as it is by the JsonConverter (in
// the null-schema envelope with schemas.enable), and decoded first for
// transforms and for other converters: each sees the map decoding the
// JSON gives. The task's CommitRecord gets its own record back.
func TestRawJSONValue(t *testing.T) {
	decoded := map[string]any{"log": "x", "id": int64(1)}
	asString, err := convert.NewStringConverter().FromConnect("raw", nil, nil, decoded)
	require.NoError(t, err)
	cases := []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"verbatim", map[string]string{"value.converter.schemas.enable": "false"}, rawLine},
		{"envelope", map[string]string{"value.converter.schemas.enable": "true"}, `{"schema":null,"payload":` + rawLine + `}`},
		{"transformed", map[string]string{
			"value.converter.schemas.enable": "false",
			"transforms":                     "add", "transforms.add.type": "org.apache.kafka.connect.transforms.InsertField$Value",
			"transforms.add.static.field": "env", "transforms.add.static.value": "prod",
		}, `{"log":"x","id":1,"env":"prod"}`},
		{"string converter", map[string]string{"value.converter": "org.apache.kafka.connect.storage.StringConverter"}, string(asString)},
	}
	w := connecttest.StartWorker(t, nil, []connect.ConnectorPlugin{rawPlugin}, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			probe := t.Name()
			cfg := map[string]string{"probe": probe, "value.converter": "org.apache.kafka.connect.json.JsonConverter"}
			for k, v := range tc.config {
				cfg[k] = v
			}
			topic := "raw-" + strings.ReplaceAll(tc.name, " ", "-")
			cfg["topic"] = topic
			w.Create(topic, rawPlugin.Class, cfg)
			recs := connecttest.Consume(t, w.Broker, topic, 1, 10*time.Second)
			if tc.name == "transformed" {
				assert.JSONEq(t, tc.want, string(recs[0].Value))
			} else {
				assert.Equal(t, tc.want, string(recs[0].Value), "byte for byte")
			}
			p, _ := rawCommits.LoadOrStore(probe, &rawProbe{})
			assert.Eventually(t, func() bool {
				p.(*rawProbe).mu.Lock()
				defer p.(*rawProbe).mu.Unlock()
				return p.(*rawProbe).same == 1
			}, 10*time.Second, 10*time.Millisecond)
		})
	}
}
