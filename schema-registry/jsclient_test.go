package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// jsClientDir is the npm project of testdata/jsclient, installed once per
// package-lock.json into the user's cache directory (npm ci), with the
// scripts copied next to its node_modules so Node resolves their imports.
func jsClientDir(t *testing.T) string {
	t.Helper()
	testenv.RequireBinary(t, "node")
	npm := testenv.RequireBinary(t, "npm")
	lock, err := os.ReadFile("testdata/jsclient/package-lock.json")
	require.NoError(t, err)
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "sluice-test", "jsclient-"+hex.EncodeToString(sum[:6]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@confluentinc", "schemaregistry")); err != nil {
		require.NoError(t, os.MkdirAll(filepath.Dir(dir), 0o755))
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
		require.NoError(t, err)
		defer os.RemoveAll(tmp)
		for _, f := range []string{"package.json", "package-lock.json"} {
			copyFile(t, filepath.Join("testdata/jsclient", f), filepath.Join(tmp, f))
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			if testenv.RequireServers() {
				t.Fatalf("npm ci for the JavaScript client failed and SLUICE_REQUIRE_SERVERS=1: %v\n%s", err, out)
			}
			t.Skipf("npm ci for the JavaScript client failed (is the npm registry reachable?): %v\n%s", err, out)
		}
		// Another test run may have installed it meanwhile; either copy
		// is complete.
		if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
			_, statErr := os.Stat(dir)
			require.NoError(t, statErr, "install the JavaScript client: %v", err)
		}
	}
	copyFile(t, "testdata/jsclient/protobuf.mjs", filepath.Join(dir, "protobuf.mjs"))
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(to, b, 0o644))
}

// TestConfluentJSClientProtobuf runs Confluent's JavaScript client
// (@confluentinc/schemaregistry) against the registry: its Protobuf
// serializer registers a schema and its reference (subject
// "srtest/money.proto", URL-encoded by the client) in the serialized
// format, and its deserializer reads the record back through
// GET /schemas/ids/{id}?format=serialized (which ended in "premature
// EOF" when the text came back instead).
func TestConfluentJSClientProtobuf(t *testing.T) {
	dir := jsClientDir(t)
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	money := ResolvedReference{Reference: Reference{Name: "srtest/money.proto"}, Type: TypeProtobuf, Schema: moneyProto}
	// The referenced file registered as text first (as a Java client
	// would): the JavaScript client's serialized form is the same schema.
	runSteps(t, in, []step{{"money as text", "POST", "/subjects/srtest%2Fmoney.proto/versions", protoBody(moneyProto), 200, `{"id":1}`, 0}})
	cmd := exec.Command("node", "protobuf.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"SR_URL="+in.url,
		"MONEY_FDP="+serialize(t, moneyProto, "srtest/money.proto"),
		"ORDER_FDP="+serialize(t, orderProto, "srtest/order.proto", money),
	)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("node protobuf.mjs: %v\n%s", err, exit.Stderr)
	}
	require.NoError(t, err)
	var got struct {
		Header      []int    `json:"header"`
		ID          string   `json:"id"`
		Units       string   `json:"units"`
		Currency    string   `json:"currency"`
		Subjects    []string `json:"subjects"`
		MoneySchema string   `json:"moneySchema"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, []int{0, 0, 0, 0, 2, 0}, got.Header, "magic byte, schema id 2, message index [0]")
	assert.Equal(t, "o-1", got.ID)
	assert.Equal(t, "42", got.Units)
	assert.Equal(t, "EUR", got.Currency)
	assert.Equal(t, []string{"orders-value", "srtest/money.proto"}, got.Subjects)
	assert.Contains(t, got.MoneySchema, "message Money {", "stored and served as .proto text")

	runSteps(t, in, []step{
		{"subjects as named", "GET", "/subjects", nil, 200, `["orders-value","srtest/money.proto"]`, 0},
		{"money: one version", "GET", "/subjects/srtest%2Fmoney.proto/versions", nil, 200, `[1]`, 0},
	})
	_, body := in.call(t, "GET", "/subjects/orders-value/versions/1", nil)
	assert.Contains(t, body, `"references":[{"name":"srtest/money.proto","subject":"srtest/money.proto","version":1}]`)
}
