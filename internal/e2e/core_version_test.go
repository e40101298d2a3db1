package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersion: `sluice version`, --version and -version print one line
// with what `go version -m` reads from the binary (module version, commit,
// commit time, Go version, platform), and GET / of `sluice up` reports the
// same version and commit.
func TestVersion(t *testing.T) {
	want, version, commit := versionFromGo(t)
	t.Logf("expect %q", want)
	for _, arg := range []string{"version", "--version", "-version"} {
		out, err := exec.Command(sluiceBin, arg).Output()
		require.NoError(t, err, arg)
		assert.Equal(t, want+"\n", string(out), arg)
	}

	dir, addr, restAddr, regAddr := t.TempDir(), freeAddr(t), freeAddr(t), freeAddr(t)
	out := &procLog{}
	dumpOnFailure(t, "sluice up", out)
	p := startProcUntil(t, out, workerReady, "up", "--data-dir", dir, "--broker-addr", addr, "--rest-addr", restAddr, "--registry-addr", regAddr)
	var root map[string]string
	require.Equal(t, 200, rest(t, "GET", "http://"+restAddr+"/", nil, &root))
	assert.Equal(t, version, root["version"])
	assert.Equal(t, commit, root["commit"])
	assert.NotEmpty(t, root["kafka_cluster_id"])
	p.terminate(t, 10*time.Second)
}

// versionFromGo builds the expected version line, version and commit from
// `go version -m` of the binary under test.
func versionFromGo(t *testing.T) (line, version, commit string) {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", sluiceBin).Output()
	require.NoError(t, err)
	lines := strings.Split(string(out), "\n")
	_, goVer, _ := strings.Cut(lines[0], ": ")
	build := map[string]string{}
	version = "(devel)"
	for _, l := range lines[1:] {
		f := strings.Split(strings.TrimSpace(l), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod":
			version = f[2]
		case len(f) == 2 && f[0] == "build":
			k, v, _ := strings.Cut(f[1], "=")
			build[k] = v
		}
	}
	line = "sluice " + version + " "
	commit = "unknown"
	if rev := build["vcs.revision"]; rev != "" {
		commit = rev[:16]
		if build["vcs.modified"] == "true" {
			commit += "+dirty"
		}
		line += "(" + commit + ", " + build["vcs.time"] + ") "
	}
	line += strings.TrimSpace(goVer) + " " + build["GOOS"] + "/" + build["GOARCH"]
	return line, version, commit
}
