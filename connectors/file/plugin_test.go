package file

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

func errorsOf(results []connect.ConfigValue, key string) []string {
	for _, r := range results {
		if r.Name == key {
			return r.Errors
		}
	}
	return nil
}

func TestSourceConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		key   string
		want  string
	}{
		{"missing topic", map[string]string{FileConfig: "/tmp/x"}, TopicConfig,
			`Missing required configuration "topic" which has no default value.`},
		{"empty topic", map[string]string{TopicConfig: ""}, TopicConfig,
			"Invalid value  for configuration topic: String must be non-empty"},
		{"two topics", map[string]string{TopicConfig: "a,b"}, TopicConfig,
			"Invalid value a,b for configuration topic: 'topic' in FileStreamSourceConnector configuration requires definition of a single topic"},
		{"bad batch size", map[string]string{TopicConfig: "a", BatchSizeConfig: "many"}, BatchSizeConfig,
			"Invalid value many for configuration batch.size: Not a number of type INT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := errorsOf(Source.Config.Validate(tc.props), tc.key)
			require.Len(t, errs, 1)
			assert.Contains(t, errs[0], tc.want)
			assert.Error(t, Source.NewConnector().Start(connecttest.NewConnectorContext(t), tc.props))
		})
	}
	for _, r := range Source.Config.Validate(map[string]string{TopicConfig: "lines"}) {
		assert.Empty(t, r.Errors, r.Name)
	}
}

func TestTaskConfigs(t *testing.T) {
	props := map[string]string{FileConfig: "/tmp/in", TopicConfig: "lines"}
	src := Source.NewConnector()
	require.NoError(t, src.Start(connecttest.NewConnectorContext(t), props))
	cfgs, err := src.TaskConfigs(4)
	require.NoError(t, err)
	assert.Equal(t, []map[string]string{props}, cfgs, "a file source always runs one task")

	sink := Sink.NewConnector()
	require.NoError(t, sink.Start(connecttest.NewConnectorContext(t), map[string]string{"topics": "t"}))
	cfgs, err = sink.TaskConfigs(3)
	require.NoError(t, err)
	assert.Len(t, cfgs, 3)
}

func TestPluginNames(t *testing.T) {
	for _, name := range []string{"FileStreamSource", "FileStreamSourceConnector", "org.apache.kafka.connect.file.FileStreamSourceConnector"} {
		assert.True(t, connect.MatchesClass(Source.Class, Source.Aliases, name), name)
	}
	for _, name := range []string{"FileStreamSink", "FileStreamSinkConnector"} {
		assert.True(t, connect.MatchesClass(Sink.Class, Sink.Aliases, name), name)
	}
	assert.Equal(t, connect.PluginSource, Source.Type())
	assert.Equal(t, connect.PluginSink, Sink.Type())
}
