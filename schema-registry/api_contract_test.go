package registry

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// withContract is a register request carrying metadata and a rule set
// (either may be nil).
func withContract(schema string, metadata, ruleSet any) map[string]any {
	body := schemaBody(schema)
	if metadata != nil {
		body["metadata"] = metadata
	}
	if ruleSet != nil {
		body["ruleSet"] = ruleSet
	}
	return body
}

func props(kv ...string) map[string]any {
	p := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return map[string]any{"properties": p}
}

func domainRules(rules ...map[string]any) map[string]any {
	return map[string]any{"domainRules": rules}
}

func celRule(name, expr string) map[string]any {
	return map[string]any{"name": name, "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": expr}
}

// TestAPIContractStoredAndServed registers versions with metadata and
// rules and reads them back on every endpoint Confluent serves them on;
// a change of metadata or rules alone is a new version with a new id.
func TestAPIContractStoredAndServed(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	metadata := map[string]any{
		"tags":       map[string][]string{"User.name": {"PII", "NAME", "PII"}},
		"properties": map[string]string{"owner": "team-a"},
		"sensitive":  []string{"s2", "s1"},
	}
	rules := domainRules(celRule("positiveId", "message.id > 0"),
		map[string]any{"name": "maskName", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD",
			"tags": []string{"PII"}, "expr": "name == 'name' ; 'XXX'", "params": map[string]string{"b": "2", "a": "1"}})
	// Sets come back sorted and deduplicated, maps with sorted keys,
	// disabled always written: Confluent's shapes.
	wantContract := `"metadata":{"tags":{"User.name":["NAME","PII"]},"properties":{"owner":"team-a"},"sensitive":["s1","s2"]},` +
		`"ruleSet":{"domainRules":[{"name":"positiveId","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"message.id \u003e 0","disabled":false},` +
		`{"name":"maskName","kind":"TRANSFORM","mode":"WRITE","type":"CEL_FIELD","tags":["PII"],"params":{"a":"1","b":"2"},"expr":"name == 'name' ; 'XXX'","disabled":false}]}`
	v1 := fmt.Sprintf(`{"subject":"s","version":1,"id":1,%s,"schema":%q}`, wantContract, userV1)
	registered := fmt.Sprintf(`{"id":1,"version":1,%s,"schema":%q}`, wantContract, userV1)
	runSteps(t, in, []step{
		{"register", "POST", "/subjects/s/versions", withContract(userV1, metadata, rules), 200, registered, 0},
		{"again: same version", "POST", "/subjects/s/versions", withContract(userV1, metadata, rules), 200, registered, 0},
		{"versions", "GET", "/subjects/s/versions", nil, 200, `[1]`, 0},
		{"version", "GET", "/subjects/s/versions/1", nil, 200, v1, 0},
		{"latest", "GET", "/subjects/s/versions/latest", nil, 200, v1, 0},
		{"by id", "GET", "/schemas/ids/1", nil, 200, fmt.Sprintf(`{%s,"schema":%q}`, wantContract, userV1), 0},
		{"listing", "GET", "/schemas", nil, 200, "[" + v1 + "]", 0},
		{"lookup with the contract", "POST", "/subjects/s", withContract(userV1, metadata, rules), 200, v1, 0},
		{"lookup without: the latest's contract applies", "POST", "/subjects/s", schemaBody(userV1), 200, v1, 0},
		{"lookup other metadata", "POST", "/subjects/s", withContract(userV1, props("owner", "x"), nil), 404, "", 40403},

		{"metadata alone changes: new version", "POST", "/subjects/s/versions", withContract(userV1, props("owner", "team-b"), nil), 200, "", 0},
		{"rules alone change: new version", "POST", "/subjects/s/versions",
			withContract(userV1, props("owner", "team-b"), domainRules(celRule("positiveId", "message.id >= 0"))), 200, "", 0},
		{"three versions", "GET", "/subjects/s/versions", nil, 200, `[1,2,3]`, 0},
		{"empty metadata differs from none", "POST", "/subjects/plain/versions", withContract(userV1, map[string]any{}, nil), 200, "", 0},
		{"no contract: another id", "POST", "/subjects/plain2/versions", schemaBody(userV1), 200, `{"id":5}`, 0},
	})
	ids := map[int]bool{}
	for v := 1; v <= 3; v++ {
		_, body := in.call(t, "GET", fmt.Sprintf("/subjects/s/versions/%d", v), nil)
		var got subjectSchema
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		ids[got.ID] = true
	}
	assert.Len(t, ids, 3, "each contract is its own schema id")
	// Without metadata or rules in the request, a registration inherits
	// the latest version's, finds version 3 and answers in full.
	status, body := in.call(t, "POST", "/subjects/s/versions", schemaBody(userV1))
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, `"version":3`)
	assert.Contains(t, body, `"message.id \u003e= 0"`)
}

// TestAPIContractConfig covers defaultMetadata, overrideMetadata,
// defaultRuleSet and overrideRuleSet with Confluent's merge at
// registration, and PUT /config's partial updates.
func TestAPIContractConfig(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	latestContract := func(subject string) string {
		t.Helper()
		_, body := in.call(t, "GET", "/subjects/"+subject+"/versions/latest", nil)
		var v struct {
			Metadata json.RawMessage `json:"metadata"`
			RuleSet  json.RawMessage `json:"ruleSet"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &v), body)
		return string(v.Metadata) + " " + string(v.RuleSet)
	}
	runSteps(t, in, []step{
		{"defaults", "PUT", "/config/s", map[string]any{"defaultMetadata": props("owner", "team-a", "tier", "1"),
			"defaultRuleSet": domainRules(celRule("a", "true"))}, 200,
			`{"defaultMetadata":{"properties":{"owner":"team-a","tier":"1"}},"defaultRuleSet":{"domainRules":[{"name":"a","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true","disabled":false}]}}`, 0},
		{"level falls back", "GET", "/config/s", nil, 200,
			`{"compatibilityLevel":"BACKWARD","defaultMetadata":{"properties":{"owner":"team-a","tier":"1"}},"defaultRuleSet":{"domainRules":[{"name":"a","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true","disabled":false}]}}`, 0},
		{"a field left out is kept", "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, 200, "", 0},
		{"register without: defaults apply", "POST", "/subjects/s/versions", schemaBody(userV1), 200, "", 0},
	})
	assert.Equal(t, `{"properties":{"owner":"team-a","tier":"1"}} {"domainRules":[{"name":"a","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true","disabled":false}]}`, latestContract("s"))

	runSteps(t, in, []step{
		{"request merges over the default", "POST", "/subjects/s/versions",
			withContract(userV2, props("owner", "team-b"), domainRules(celRule("a", "false"), celRule("b", "true"))), 200, "", 0},
	})
	assert.Equal(t, `{"properties":{"owner":"team-b","tier":"1"}} {"domainRules":[{"name":"a","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"false","disabled":false},{"name":"b","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"true","disabled":false}]}`,
		latestContract("s"))

	runSteps(t, in, []step{
		{"overrides", "PUT", "/config/s", map[string]any{"overrideMetadata": props("owner", "enforced"),
			"overrideRuleSet": domainRules(celRule("b", "1 == 1"))}, 200, "", 0},
		{"config keeps every field", "GET", "/config/s", nil, 200, "", 0},
		{"without a contract: the previous version's, then the override", "POST", "/subjects/s/versions", schemaBody(userV3), 200, "", 0},
	})
	assert.Equal(t, `{"properties":{"owner":"enforced","tier":"1"}} {"domainRules":[{"name":"a","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"false","disabled":false},{"name":"b","kind":"CONDITION","mode":"WRITE","type":"CEL","expr":"1 == 1","disabled":false}]}`,
		latestContract("s"))
	_, cfg := in.call(t, "GET", "/config/s", nil)
	for _, want := range []string{`"compatibilityLevel":"NONE"`, `"defaultMetadata"`, `"overrideMetadata"`, `"defaultRuleSet"`, `"overrideRuleSet"`} {
		assert.Contains(t, cfg, want)
	}

	runSteps(t, in, []step{
		{"null clears", "PUT", "/config/s", `{"overrideMetadata":null,"overrideRuleSet":null,"defaultRuleSet":null,"defaultMetadata":null}`, 200, `{"compatibility":"NONE"}`, 0},
		{"global defaults", "PUT", "/config", map[string]any{"defaultMetadata": props("global", "yes")}, 200, "", 0},
		{"apply without a subject config", "POST", "/subjects/g/versions", schemaBody(userV1), 200, "", 0},
		{"a subject config", "PUT", "/config/s2", map[string]any{"compatibility": "NONE"}, 200, "", 0},
		{"global defaults do not apply under it", "POST", "/subjects/s2/versions", schemaBody(`"int"`), 200, `{"id":5}`, 0},
	})
	assert.Equal(t, `{"properties":{"global":"yes"}} `, latestContract("g"))
	assert.Equal(t, ` `, latestContract("s2"))
}

// TestAPICompatibilityGroup checks compatibility only among versions
// whose group property has the same value.
func TestAPICompatibilityGroup(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	major := func(v string) map[string]any { return props("major", v) }
	runSteps(t, in, []step{
		{"group", "PUT", "/config/s", map[string]any{"compatibility": "BACKWARD", "compatibilityGroup": "major"}, 200,
			`{"compatibility":"BACKWARD","compatibilityGroup":"major"}`, 0},
		{"v1 in 1", "POST", "/subjects/s/versions", withContract(userV1, major("1"), nil), 200, "", 0},
		{"incompatible in 1", "POST", "/subjects/s/versions", withContract(userBad, major("1"), nil), 409, "", 409},
		{"incompatible check in 1", "POST", "/compatibility/subjects/s/versions/latest", withContract(userBad, major("1"), nil), 200, `{"is_compatible":false}`, 0},
		{"check in 2", "POST", "/compatibility/subjects/s/versions", withContract(userBad, major("2"), nil), 200, `{"is_compatible":true}`, 0},
		{"new group 2", "POST", "/subjects/s/versions", withContract(userBad, major("2"), nil), 200, "", 0},
		{"compatible in 1 again", "POST", "/subjects/s/versions", withContract(userV2, major("1"), nil), 200, "", 0},
		{"no group value: its own group", "POST", "/subjects/s/versions", withContract(`"string"`, props("other", "x"), nil), 200, "", 0},
		{"versions", "GET", "/subjects/s/versions", nil, 200, `[1,2,3,4]`, 0},
		{"without a group, BACKWARD refuses", "PUT", "/config/t", map[string]any{"compatibility": "BACKWARD"}, 200, "", 0},
		{"t v1", "POST", "/subjects/t/versions", withContract(userV1, major("1"), nil), 200, "", 0},
		{"t incompatible", "POST", "/subjects/t/versions", withContract(userBad, major("2"), nil), 409, "", 409},
	})
}

// TestAPILatestWithMetadata covers GET /subjects/{s}/metadata.
func TestAPILatestWithMetadata(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"none", "PUT", "/config/s", map[string]any{"compatibility": "NONE"}, 200, "", 0},
		{"v1", "POST", "/subjects/s/versions", withContract(userV1, props("major", "1", "env", "prod"), nil), 200, "", 0},
		{"v2", "POST", "/subjects/s/versions", withContract(userV2, props("major", "1"), nil), 200, "", 0},
		{"v3", "POST", "/subjects/s/versions", withContract(userBad, props("major", "2"), nil), 200, "", 0},
		{"v4", "POST", "/subjects/s/versions", withContract(`"int"`, nil, domainRules(celRule("r", "true"))), 200, "", 0},
	})
	get := func(query string) (int, string) {
		t.Helper()
		status, body := in.call(t, "GET", "/subjects/s/metadata?"+query, nil)
		if status != 200 {
			return status, body
		}
		var v subjectSchema
		require.NoError(t, json.Unmarshal([]byte(body), &v), body)
		return v.Version, body
	}
	tests := []struct {
		query string
		want  int // version, or an HTTP status with code
		code  int
	}{
		{"key=major&value=1", 2, 0},
		{"key=major&value=2", 4, 0}, // version 4 inherited version 3's metadata
		{"key=major&value=1&key=env&value=prod", 1, 0},
		{"key=major&value=3", 404, codeSchemaNotFound},
		{"", 4, 0},
	}
	for _, tt := range tests {
		got, body := get(tt.query)
		require.Equal(t, tt.want, got, "%s: %s", tt.query, body)
		if tt.code != 0 {
			assert.Equal(t, tt.code, errorCode(t, body))
			assert.Contains(t, body, "Schema not found")
		}
	}
	runSteps(t, in, []step{
		{"unknown subject", "GET", "/subjects/nope/metadata?key=major&value=1", nil, 404, "", codeSubjectNotFound},
		{"soft delete v2", "DELETE", "/subjects/s/versions/2", nil, 200, "", 0},
	})
	got, _ := get("key=major&value=1")
	assert.Equal(t, 1, got, "a soft-deleted version is skipped")
	got, _ = get("key=major&value=1&deleted=true")
	assert.Equal(t, 2, got, "deleted=true includes it")
}

// TestAPIRuleSetValidation refuses bad rules at registration and in
// /config with Confluent's codes and messages, and CEL that does not
// compile with the compiler's message.
func TestAPIRuleSetValidation(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	rule := func(kv ...string) map[string]any {
		r := map[string]any{"name": "r", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "true"}
		for i := 0; i+1 < len(kv); i += 2 {
			r[kv[i]] = kv[i+1]
		}
		return r
	}
	tests := []struct {
		name   string
		rules  map[string]any
		status int
		code   int
		msg    string
	}{
		{"unknown kind", domainRules(rule("kind", "VALIDATE")), 400, 400,
			"Cannot deserialize value of type `RuleKind` from String \"VALIDATE\": not one of the values accepted for Enum class: [CONDITION, TRANSFORM]"},
		{"unknown mode", domainRules(rule("mode", "SOMETIMES")), 400, 400,
			"Cannot deserialize value of type `RuleMode` from String \"SOMETIMES\": not one of the values accepted for Enum class: [DOWNGRADE, READ, UPGRADE, UPDOWN, WRITE, WRITEREAD]"},
		{"domain rule with a migration mode", domainRules(rule("mode", "UPGRADE")), 422, codeInvalidRuleSet, "Domain rules can only be WRITE, READ, WRITEREAD"},
		{"migration rule with a domain mode", map[string]any{"migrationRules": []any{rule("type", "JSONATA")}}, 422, codeInvalidRuleSet,
			"Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN"},
		{"duplicate name", domainRules(rule(), rule()), 422, codeInvalidRuleSet, "Found rule with duplicate name 'r'"},
		{"missing name", domainRules(rule("name", "")), 422, codeInvalidRuleSet, "Missing rule name"},
		{"bad name", domainRules(rule("name", "1r")), 422, codeInvalidRuleSet, "Illegal initial character in rule name: 1r"},
		{"missing type", domainRules(rule("type", "")), 422, codeInvalidRuleSet, "Missing rule type"},
		{"two actions on WRITE", domainRules(rule("onFailure", "DLQ,ERROR")), 422, codeInvalidRuleSet, "Multiple actions only valid with WRITEREAD and UPDOWN"},
		{"CEL syntax", domainRules(rule("expr", "message.id >")), 422, codeInvalidRuleSet, "Syntax error"},
		{"CEL unknown variable", domainRules(rule("expr", "msg.id > 0")), 422, codeInvalidRuleSet, "undeclared reference to 'msg'"},
		{"CEL_FIELD guard", domainRules(rule("type", "CEL_FIELD", "kind", "TRANSFORM", "expr", "typeName == 'STRING' && ; value")), 422, codeInvalidRuleSet, "Syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/subjects/s/versions", "/config/s"} {
				body := withContract(userV1, nil, tt.rules)
				if path == "/config/s" {
					body = map[string]any{"defaultRuleSet": tt.rules}
				}
				status, got := in.call(t, "POST", path, body)
				if path == "/config/s" {
					status, got = in.call(t, "PUT", path, body)
				}
				require.Equal(t, tt.status, status, "%s: %s", path, got)
				var e struct {
					Code    int    `json:"error_code"`
					Message string `json:"message"`
				}
				require.NoError(t, json.Unmarshal([]byte(got), &e), got)
				assert.Equal(t, tt.code, e.Code, got)
				assert.Contains(t, e.Message, tt.msg)
			}
		})
	}
	runSteps(t, in, []step{
		{"nothing registered", "GET", "/subjects", nil, 200, `[]`, 0},
		{"valid CEL and CEL_FIELD", "POST", "/subjects/s/versions", withContract(userV1, nil, domainRules(
			rule("expr", "message.id > 0 && size(message.name) < 10"),
			rule("name", "mask", "kind", "TRANSFORM", "type", "CEL_FIELD", "expr", "'PII' in tags ; value.size() > 0 ? 'XXX' : value"))), 200, "", 0},
		{"JSONATA is not compiled here", "POST", "/subjects/j/versions", withContract(userV1, nil, map[string]any{"migrationRules": []any{
			rule("mode", "UPGRADE", "type", "JSONATA", "kind", "TRANSFORM", "expr", "$merge([$sift($, function($v, $k) {$k != 'x'})])")}}), 200, "", 0},
		{"a disabled rule is not compiled", "POST", "/subjects/d/versions", withContract(userV1, nil, domainRules(
			map[string]any{"name": "off", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "((", "disabled": true})), 200, "", 0},
		{"lookup with an unknown kind", "POST", "/subjects/s", withContract(userV1, nil, domainRules(rule("kind", "X"))), 400, "", 400},
	})
}

// TestAPIContractProtobufEquivalence: a Protobuf schema sent as text and
// as a serialized descriptor is one schema only with the same metadata
// and rules.
func TestAPIContractProtobufEquivalence(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	serialized := serialize(t, moneyProto, "srtest/money.proto")
	with := func(schema string, metadata any) map[string]any {
		body := protoBody(schema)
		body["metadata"] = metadata
		return body
	}
	runSteps(t, in, []step{
		{"text", "POST", "/subjects/s/versions", with(moneyProto, props("owner", "a")), 200, "", 0},
		{"serialized, same metadata: same version", "POST", "/subjects/s/versions", with(serialized, props("owner", "a")), 200, "", 0},
		{"one version", "GET", "/subjects/s/versions", nil, 200, `[1]`, 0},
		{"lookup serialized", "POST", "/subjects/s", with(serialized, props("owner", "a")), 200, "", 0},
		{"serialized, other metadata: new version", "POST", "/subjects/s/versions", with(serialized, props("owner", "b")), 200, "", 0},
		{"two versions", "GET", "/subjects/s/versions", nil, 200, `[1,2]`, 0},
		{"lookup text with other metadata misses", "POST", "/subjects/s", with(moneyProto, props("owner", "c")), 404, "", codeSchemaNotFound},
	})
	_, body := in.call(t, "GET", "/subjects/s/versions/2", nil)
	assert.True(t, strings.Contains(body, `"owner":"b"`), body)
}

// TestAPIContractImportKeepsWhatIsGiven: in IMPORT mode the config's
// defaults and the previous version's contract are not applied.
func TestAPIContractImportKeepsWhatIsGiven(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	imported := func(schema string, id, version int, metadata any) map[string]any {
		body := withContract(schema, metadata, nil)
		body["id"], body["version"] = id, version
		return body
	}
	runSteps(t, in, []step{
		{"defaults", "PUT", "/config/imp", map[string]any{"defaultMetadata": props("owner", "a")}, 200, "", 0},
		{"import mode", "PUT", "/mode/imp", map[string]string{"mode": "IMPORT"}, 200, "", 0},
		{"v1 with metadata", "POST", "/subjects/imp/versions", imported(userV1, 100, 1, props("major", "1")), 200, "", 0},
		{"v2 without", "POST", "/subjects/imp/versions", imported(userV2, 101, 2, nil), 200, `{"id":101}`, 0},
		{"v1 as given", "GET", "/subjects/imp/versions/1", nil, 200,
			fmt.Sprintf(`{"subject":"imp","version":1,"id":100,"metadata":{"properties":{"major":"1"}},"schema":%q}`, userV1), 0},
		{"v2 as given", "GET", "/subjects/imp/versions/2", nil, 200,
			fmt.Sprintf(`{"subject":"imp","version":2,"id":101,"schema":%q}`, userV2), 0},
	})
}

// TestAPIConfluentVersionProperty: once a version's metadata carries
// confluent:version, each new version inherits it set to its own number,
// while registering an existing schema again finds it.
func TestAPIConfluentVersionProperty(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"v1", "POST", "/subjects/s/versions", withContract(userV1, props("confluent:version", "1", "owner", "a"), nil), 200, "", 0},
		{"v2 inherits", "POST", "/subjects/s/versions", schemaBody(userV2), 200, "", 0},
		{"v2 again: same version", "POST", "/subjects/s/versions", schemaBody(userV2), 200, "", 0},
		{"v1 again: same version", "POST", "/subjects/s/versions", withContract(userV1, props("confluent:version", "1", "owner", "a"), nil), 200, "", 0},
		{"versions", "GET", "/subjects/s/versions", nil, 200, `[1,2]`, 0},
		{"v2's property", "GET", "/subjects/s/metadata?key=confluent:version&value=2", nil, 200, "", 0},
		{"owner inherited", "GET", "/subjects/s/metadata?key=owner&value=a&key=confluent:version&value=2", nil, 200, "", 0},
	})
}
