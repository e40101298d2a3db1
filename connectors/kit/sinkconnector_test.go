package kit

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSinkConnector(t *testing.T) {
	c := &SinkConnector{Check: func(cfg map[string]string) error {
		if cfg["topics"] == "" {
			return errors.New("topics is empty")
		}
		return nil
	}}
	require.EqualError(t, c.Start(nil, map[string]string{}), "topics is empty")
	cfg := map[string]string{"topics": "t", "x": "1"}
	require.NoError(t, c.Start(nil, cfg))
	got, err := c.TaskConfigs(3)
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, g := range got {
		assert.Equal(t, cfg, g)
	}
	got[0]["x"] = "2" // each task's config is its own copy
	assert.Equal(t, "1", got[1]["x"])
	assert.Equal(t, "1", cfg["x"])
	require.NoError(t, c.Stop())
}
