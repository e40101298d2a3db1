package s3

import (
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPluginDeclaresUnsupportedKeys guards the order of initialization:
// the plugin's definition, which /config/validate and the docs read, holds
// the refused keys too.
func TestPluginDeclaresUnsupportedKeys(t *testing.T) {
	k := Plugin.Config.Key("shutdown.timeout.ms")
	require.NotNil(t, k)
	assert.NotEmpty(t, k.Unsupported)
	_, err := Plugin.Config.Parse(map[string]string{
		"storage.class": S3StorageClass, "format.class": JSONFormatClass, "flush.size": "1",
		"s3.bucket.name": "b", "shutdown.timeout.ms": "5000",
	})
	assert.ErrorContains(t, err, "shutdown.timeout.ms")
}

// TestOpenAfterStop: the worker may report an assignment while the task
// stops; Open must not panic on the released state.
func TestOpenAfterStop(t *testing.T) {
	task := newSinkTask()
	require.NoError(t, task.Open([]connect.TopicPartition{{Topic: "t"}}))
	require.NoError(t, task.Stop())
	require.NoError(t, task.Open([]connect.TopicPartition{{Topic: "t"}}))
	require.NoError(t, task.Close([]connect.TopicPartition{{Topic: "t"}}))
}
