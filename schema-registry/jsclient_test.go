package registry

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// jsClientDir is the npm project of testdata/jsclient, installed once
// per package-lock.json, with the scripts next to its node_modules.
func jsClientDir(t *testing.T) string {
	t.Helper()
	return testenv.NPMProject(t, "testdata/jsclient", "testdata/jsclient/protobuf.mjs", "testdata/jsclient/contracts.mjs")
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

// TestConfluentJSClientContracts runs Confluent's JavaScript client with
// a data contract: the metadata and rule set it registers come back on
// the register answer and on use.latest.with.metadata's
// GET /subjects/{s}/metadata, and its serdes execute the rules the
// registry serves (the CEL_FIELD rule masks the PII field, the CEL
// condition refuses a record naming the rule).
func TestConfluentJSClientContracts(t *testing.T) {
	dir := jsClientDir(t)
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	cmd := exec.Command("node", "contracts.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SR_URL="+in.url)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("node contracts.mjs: %v\n%s", err, exit.Stderr)
	}
	require.NoError(t, err)
	var got struct {
		ID            int            `json:"id"`
		Version       int            `json:"version"`
		Metadata      Metadata       `json:"metadata"`
		Rules         []string       `json:"rules"`
		LatestVersion int            `json:"latestVersion"`
		LatestRules   []string       `json:"latestRules"`
		Back          map[string]any `json:"back"`
		Refused       string         `json:"refused"`
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, 1, got.ID)
	assert.Equal(t, 1, got.Version)
	assert.Equal(t, map[string]string{"major": "1", "owner": "team-a"}, got.Metadata.Properties)
	assert.Equal(t, []string{"checkAge", "maskSSN"}, got.Rules)
	assert.Equal(t, 1, got.LatestVersion)
	assert.Equal(t, []string{"checkAge", "maskSSN"}, got.LatestRules)
	assert.Equal(t, map[string]any{"name": "ada", "ssn": "XXX", "age": float64(36)}, got.Back)
	assert.Contains(t, got.Refused, "checkAge")
}
