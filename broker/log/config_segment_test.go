package log

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// segment.bytes has Kafka 4.0's 1 MiB minimum (KIP-1030); tests get small
// segments through internal.segment.bytes, which DescribeConfigs does not
// list.
func TestSegmentBytesMinimumAndInternalOverride(t *testing.T) {
	_, err := ParseConfig(nil, map[string]string{"segment.bytes": "1048575"})
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "at least 1048576")

	c, err := ParseConfig(nil, map[string]string{"segment.bytes": "1048576"})
	require.NoError(t, err)
	assert.Equal(t, int64(1048576), c.SegmentBytes)

	c, err = ParseConfig(nil, map[string]string{"segment.bytes": "1048576", "internal.segment.bytes": "1000"})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), c.SegmentBytes, "internal.segment.bytes wins")

	_, err = ParseConfig(nil, map[string]string{"internal.segment.bytes": "10"})
	require.ErrorIs(t, err, ErrInvalidConfig)

	for _, d := range TopicConfigDefs() {
		assert.NotEqual(t, "internal.segment.bytes", d.Name, "internal configs are not listed")
	}
	_, ok := LookupTopicConfig("internal.segment.bytes")
	assert.True(t, ok)
}
