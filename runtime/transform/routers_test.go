package transform

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

func TestRegexRouter(t *testing.T) {
	for _, tc := range []struct {
		regex, replacement, topic, want string
	}{
		{"(.*)", "prefix-$1", "orig", "prefix-orig"},
		{"(.*)", "$1-suffix", "orig", "orig-suffix"},
		{"(.*)", "$1x", "orig", "origx"},
		{"(.*)-(.*)", "$2_$1", "a-b", "b_a"},
		{"(?P<name>.*)", "${name}!", "orig", "orig!"},
		{"(.*)", "\\$1", "orig", "$1"},
		{"(.*)", "cost\\$", "orig", "cost$"},
		{"orig", "new", "orig", "new"},
		{"orig", "new", "origin", "origin"},
		{"rig", "new", "orig", "orig"},
		{"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "$11$12", "abcdefghijk", "ka2"},
		{"(.*)", "$10", "orig", "orig0"},
	} {
		t.Run(tc.regex+"→"+tc.replacement, func(t *testing.T) {
			tr := newTransform(t, "RegexRouter", map[string]string{"regex": tc.regex, "replacement": tc.replacement})
			r := valueRecord(nil, "v")
			r.Topic = tc.topic
			out := apply(t, tr, r)
			assert.Equal(t, tc.want, out.Topic)
			assert.Equal(t, tc.topic, r.Topic)
		})
	}
	for _, tc := range []struct {
		props map[string]string
		msg   string
	}{
		{map[string]string{"regex": "(", "replacement": "x"}, "Invalid value ( for configuration regex: Invalid regex"},
		{map[string]string{"regex": "(.*)", "replacement": "$2"}, "No group 2"},
		{map[string]string{"regex": "(.*)", "replacement": "$x"}, "Illegal group reference"},
		{map[string]string{"regex": "(.*)", "replacement": "${nope}"}, "No group with name {nope}"},
		{map[string]string{"regex": "(.*)", "replacement": "x\\"}, "character to be escaped is missing"},
		{map[string]string{"regex": "(.*)"}, `Missing required configuration "replacement"`},
	} {
		assert.Contains(t, configureErr(t, "RegexRouter", tc.props).Error(), tc.msg)
	}
}

func TestTimestampRouter(t *testing.T) {
	r := valueRecord(nil, "v")
	r.Timestamp = time.Date(2017, 11, 23, 22, 0, 0, 0, time.UTC)
	out := apply(t, newTransform(t, "TimestampRouter", nil), r)
	assert.Equal(t, "test-20171123", out.Topic)
	assert.Equal(t, "test", r.Topic)

	out = apply(t, newTransform(t, "TimestampRouter", map[string]string{
		"topic.format": "${timestamp}/${topic}/${topic}", "timestamp.format": "yyyy-MM-dd'T'HH 'h' '' EEE"}), r)
	assert.Equal(t, "2017-11-23T22 h ' Thu/test/test", out.Topic)

	r.Timestamp = time.Time{}
	err := applyErr(t, newTransform(t, "TimestampRouter", nil), r)
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "Timestamp missing on record: SinkRecord{topic=test, partition=0, offset=42}")
	assert.Contains(t, configureErr(t, "TimestampRouter", map[string]string{"timestamp.format": "yyyy-qq"}).Error(), "Illegal pattern character 'q'")
}
