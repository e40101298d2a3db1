package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// develVersion is the version of a binary built from a checkout rather
// than installed as a tagged module, as the Go toolchain names it.
const develVersion = "(devel)"

// unknownCommit is Kafka's commit id when it has none (AppInfoParser).
const unknownCommit = "unknown"

// buildVersion says which Sluice a binary is, from what the Go toolchain
// stamped into it (runtime/debug.ReadBuildInfo).
type buildVersion struct {
	version  string // module version: a tag, a pseudo-version, or (devel)
	revision string // vcs.revision, "" when not built from a checkout
	time     string // vcs.time, the commit's time
	modified bool   // vcs.modified: the checkout had uncommitted changes
	goVer    string
	platform string // GOOS/GOARCH
}

// readBuildVersion describes the running binary.
func readBuildVersion() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// versionFrom reads a build's version; bi may be nil (no build info).
func versionFrom(bi *debug.BuildInfo, goVer, platform string) buildVersion {
	v := buildVersion{version: develVersion, goVer: goVer, platform: platform}
	if bi == nil {
		return v
	}
	if bi.Main.Version != "" {
		v.version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.goVer = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.revision = s.Value
		case "vcs.time":
			v.time = s.Value
		case "vcs.modified":
			v.modified = s.Value == "true"
		}
	}
	return v
}

// commit is the revision as Kafka shows its commit id (16 hex digits),
// marked +dirty when built from a modified checkout; "unknown" without one.
func (v buildVersion) commit() string {
	if v.revision == "" {
		return unknownCommit
	}
	c := v.revision[:min(16, len(v.revision))]
	if v.modified {
		c += "+dirty"
	}
	return c
}

// String is the one line `sluice version` prints:
//
//	sluice v0.5.0 (0123456789abcdef, 2026-12-07T14:32:24Z) go1.26.8 linux/amd64
func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sluice %s ", v.version)
	if v.revision != "" {
		fmt.Fprintf(&b, "(%s", v.commit())
		if v.time != "" {
			fmt.Fprintf(&b, ", %s", v.time)
		}
		b.WriteString(") ")
	}
	fmt.Fprintf(&b, "%s %s", v.goVer, v.platform)
	return b.String()
}

// runVersion is `sluice version` (also --version and -version).
func runVersion(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("version takes no arguments, got %q", args[0])
	}
	_, err := fmt.Fprintln(stdout, readBuildVersion())
	return err
}
