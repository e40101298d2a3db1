package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registryReady is what the registry logs once it serves requests.
const registryReady = "sluice schema registry listening"

// srCall sends a Schema Registry request and returns status and body.
func srCall(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func schemaBody(t testing.TB, schema string) string {
	b, err := json.Marshal(map[string]string{"schema": schema})
	require.NoError(t, err)
	return string(b)
}

// TestRegistryRebuildsFromSchemasTopic runs `sluice registry` against
// `sluice broker`: ids survive a restart of the registry, which rebuilds
// its state from _schemas, and an incompatible change is refused.
func TestRegistryRebuildsFromSchemasTopic(t *testing.T) {
	dir, brokerAddr, regAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	blog := &procLog{}
	dumpOnFailure(t, "sluice broker", blog)
	startBroker(t, blog, filepath.Join(dir, "data"), brokerAddr)
	rlog := &procLog{}
	dumpOnFailure(t, "sluice registry", rlog)
	args := []string{"registry", "--bootstrap-servers", brokerAddr, "--listen", regAddr}
	p := startProcUntil(t, rlog, registryReady, args...)
	base := "http://" + regAddr

	v1 := `{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}`
	v2 := `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}`
	bad := `{"type":"record","name":"User","fields":[{"name":"id","type":"string"}]}`
	code, body := srCall(t, "POST", base+"/subjects/users-value/versions", schemaBody(t, v1))
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":1}`, body)
	code, body = srCall(t, "POST", base+"/subjects/users-value/versions", schemaBody(t, v2))
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":2}`, body)
	code, body = srCall(t, "POST", base+"/subjects/users-value/versions", schemaBody(t, bad))
	require.Equal(t, 409, code, body)
	assert.Contains(t, body, "incompatible")

	p.terminate(t, 20e9)
	startProcUntil(t, rlog, registryReady, args...)
	code, body = srCall(t, "GET", base+"/subjects/users-value/versions/latest", "")
	require.Equal(t, 200, code, body)
	var latest struct {
		Subject string
		Version int
		ID      int
		Schema  string
	}
	require.NoError(t, json.Unmarshal([]byte(body), &latest))
	assert.Equal(t, 2, latest.Version)
	assert.Equal(t, 2, latest.ID)
	code, body = srCall(t, "GET", base+"/schemas/ids/1", "")
	require.Equal(t, 200, code, body)
	assert.Contains(t, body, `"name\":\"User\"`)
	code, body = srCall(t, "POST", base+"/subjects/users-value/versions", schemaBody(t, v1))
	require.Equal(t, 200, code, body)
	assert.JSONEq(t, `{"id":1}`, body, "registering a known schema returns its id")
}
