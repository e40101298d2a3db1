package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionLine(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-compiler", Value: "gc"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "a58ccf6420de6357fd68dd4d797cabb225c1f315"},
			{Key: "vcs.time", Value: "2026-12-07T14:32:24Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	for _, tc := range []struct {
		name       string
		bi         *debug.BuildInfo
		line       string
		commit     string
		versionStr string
	}{
		{"checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261207143224-a58ccf6420de"}, Settings: vcs("false")},
			"sluice v0.0.0-20261207143224-a58ccf6420de (a58ccf6420de6357, 2026-12-07T14:32:24Z) go1.26.8 linux/amd64", "a58ccf6420de6357", "v0.0.0-20261207143224-a58ccf6420de"},
		{"modified checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("true")},
			"sluice (devel) (a58ccf6420de6357+dirty, 2026-12-07T14:32:24Z) go1.26.8 linux/amd64", "a58ccf6420de6357+dirty", "(devel)"},
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			"sluice v1.2.3 go1.26.8 linux/amd64", "unknown", "v1.2.3"},
		{"no version stamped", &debug.BuildInfo{GoVersion: "go1.26.8"},
			"sluice (devel) go1.26.8 linux/amd64", "unknown", "(devel)"},
		{"no build info", nil, "sluice (devel) go1.26.0 linux/amd64", "unknown", "(devel)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := versionFrom(tc.bi, "go1.26.0", "linux/amd64")
			assert.Equal(t, tc.line, v.String())
			assert.Equal(t, tc.commit, v.commit())
			assert.Equal(t, tc.versionStr, v.version)
		})
	}
}

// `sluice version`, --version and -version print the one line and exit 0.
func TestVersionCommands(t *testing.T) {
	line := regexp.MustCompile(`^sluice \S+ (\(\S+, \S+\) )?go1\.\d+\S* \w+/\w+\n$`)
	for _, arg := range []string{"version", "--version", "-version"} {
		var out bytes.Buffer
		require.NoError(t, run(context.Background(), []string{arg}, &out, io.Discard), arg)
		assert.Regexp(t, line, out.String(), arg)
		assert.Equal(t, readBuildVersion().String()+"\n", out.String())
	}
	assert.ErrorContains(t, run(context.Background(), []string{"version", "x"}, io.Discard, io.Discard), `version takes no arguments, got "x"`)
}
