package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TestUpOnAFullDisk runs `sluice up` with its data on a small tmpfs and
// fills it: creating a connector and registering a schema fail within
// seconds with errors that say why (no 90 s timeouts, no write that never
// answers), /health says what is wrong, and once space is freed everything
// works again without a restart.
func TestUpOnAFullDisk(t *testing.T) {
	mnt := testenv.MountTmpfs(t, 64<<20)
	dir := filepath.Join(mnt, "data")
	addr, restAddr, regAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	out := &procLog{}
	dumpOnFailure(t, "sluice up", out)
	p := startProcUntil(t, out, workerReady, "up", "--data-dir", dir, "--broker-addr", addr, "--rest-addr", restAddr, "--registry-addr", regAddr)
	restURL, regURL := "http://"+restAddr, "http://"+regAddr

	connector := func(name string) map[string]any {
		return map[string]any{"name": name, "config": map[string]string{
			"connector.class": "FileStreamSource", "topic": "lines", "file": "/dev/null",
			// Larger than the free part of a page the last write left.
			"note": strings.Repeat("x", 256<<10),
		}}
	}
	require.Equal(t, http.StatusCreated, rest(t, "POST", restURL+"/connectors", connector("before"), nil))
	code, body := srCall(t, "POST", regURL+"/subjects/before-value/versions", schemaBody(t, `"string"`))
	require.Equal(t, http.StatusOK, code, body)
	require.Equal(t, http.StatusOK, healthCode(t, restURL))

	filler := testenv.FillDisk(t, mnt)

	var failed struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	start := time.Now()
	code = rest(t, "POST", restURL+"/connectors", connector("during"), &failed)
	took := time.Since(start)
	t.Logf("POST /connectors on a full disk: %d after %s: %s", code, took.Round(time.Millisecond), failed.Message)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Less(t, took, 15*time.Second, "fails fast, not after the 90 s request timeout")
	assert.Contains(t, failed.Message, "write to config topic connect-configs: KAFKA_STORAGE_ERROR")
	assert.NotContains(t, failed.Message, mnt, "no server path reaches a client")

	// As large as a connector's config, for the same reason.
	big := fmt.Sprintf(`{"type":"record","name":"Big","doc":%q,"fields":[]}`, strings.Repeat("x", 256<<10))
	start = time.Now()
	code, body = srCall(t, "POST", regURL+"/subjects/during-value/versions", schemaBody(t, big))
	took = time.Since(start)
	t.Logf("register a schema on a full disk: %d after %s: %.300s", code, took.Round(time.Millisecond), body)
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Contains(t, body, `"error_code":50002`)
	assert.Less(t, took, 5*time.Second, "the registry answers after kafkastore.timeout.ms")

	hcode, health := healthOf(t, restURL)
	t.Logf("/health on a full disk: %d %s", hcode, health)
	assert.Equal(t, http.StatusInternalServerError, hcode)
	assert.Contains(t, health, "no space left on device")

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool {
		return rest(t, "POST", restURL+"/connectors", connector("after"), nil) == http.StatusCreated
	}, 60*time.Second, 500*time.Millisecond, "creating a connector works again once space is freed")
	require.Eventually(t, func() bool {
		code, _ := srCall(t, "POST", regURL+"/subjects/after-value/versions", schemaBody(t, `"long"`))
		return code == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "registering a schema works again once space is freed")
	require.Eventually(t, func() bool { return healthCode(t, restURL) == http.StatusOK }, 30*time.Second, 200*time.Millisecond,
		"/health is healthy again")
	var names []string
	require.Equal(t, http.StatusOK, rest(t, "GET", restURL+"/connectors", nil, &names))
	assert.ElementsMatch(t, []string{"before", "after"}, names)

	p.terminate(t, 30*time.Second)
}

// healthOf returns GET /health's status code and its status and message.
func healthOf(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/health")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var st struct{ Status, Message string }
	require.NoError(t, json.Unmarshal(b, &st), "%s", b)
	return resp.StatusCode, fmt.Sprintf("%s: %s", st.Status, st.Message)
}

func healthCode(t *testing.T, base string) int {
	code, _ := healthOf(t, base)
	return code
}
