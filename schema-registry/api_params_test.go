package registry

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
)

// TestAPISubjectNamesAnyCharacters registers under subjects holding "/",
// "%", spaces, "+" and non-ASCII letters, sent escaped as clients send
// them, and reads each back under its own name.
func TestAPISubjectNamesAnyCharacters(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	subjects := []struct{ name, escaped string }{
		{"srtest/money.proto", "srtest%2Fmoney.proto"},
		{"lower/escape", "lower%2fescape"},
		{"100%", "100%25"},
		{"x%2Fy", "x%252Fy"}, // a literal "%2F", not a slash
		{"with space", "with%20space"},
		{"a+b", "a+b"},
		{"ünï/名前", url.PathEscape("ünï/名前")},
	}
	var names []string
	for i, s := range subjects {
		schema := fmt.Sprintf(`{"type":"record","name":"r%d","fields":[]}`, i)
		runSteps(t, in, []step{
			{s.name + " register", "POST", "/subjects/" + s.escaped + "/versions", schemaBody(schema), 200, fmt.Sprintf(`{"id":%d}`, i+1), 0},
			{s.name + " versions", "GET", "/subjects/" + s.escaped + "/versions", nil, 200, `[1]`, 0},
			{s.name + " version", "GET", "/subjects/" + s.escaped + "/versions/1", nil, 200,
				fmt.Sprintf(`{"subject":%s,"version":1,"id":%d,"schema":%q}`, jsonString(t, s.name), i+1, schema), 0},
			{s.name + " lookup", "POST", "/subjects/" + s.escaped, schemaBody(schema), 200, "", 0},
			{s.name + " id subjects", "GET", fmt.Sprintf("/schemas/ids/%d/subjects", i+1), nil, 200, "[" + jsonString(t, s.name) + "]", 0},
			{s.name + " config", "PUT", "/config/" + s.escaped, map[string]string{"compatibility": "NONE"}, 200, "", 0},
			{s.name + " config read", "GET", "/config/" + s.escaped, nil, 200, `{"compatibilityLevel":"NONE"}`, 0},
		})
		names = append(names, s.name)
	}
	_, body := in.call(t, "GET", "/subjects", nil)
	var listed []string
	require.NoError(t, json.Unmarshal([]byte(body), &listed))
	assert.ElementsMatch(t, names, listed)

	runSteps(t, in, []step{
		{"an unescaped slash is another path", "GET", "/subjects/srtest/money.proto/versions", nil, 404, "", 404},
		{"prefix with a slash", "GET", "/subjects?subjectPrefix=" + url.QueryEscape("srtest/"), nil, 200, `["srtest/money.proto"]`, 0},
		{"delete", "DELETE", "/subjects/srtest%2Fmoney.proto", nil, 200, `[1]`, 0},
		{"deleted", "GET", "/subjects/srtest%2Fmoney.proto/versions", nil, 404, "", 40401},
	})
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}

// TestAPIContexts: the default context's qualifier ":.:" names the same
// subject; any other context is refused with 42208 saying so.
func TestAPIContexts(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"register qualified", "POST", "/subjects/:.:orders/versions", schemaBody(userV1), 200, `{"id":1}`, 0},
		{"listed unqualified", "GET", "/subjects", nil, 200, `["orders"]`, 0},
		{"read unqualified", "GET", "/subjects/orders/versions", nil, 200, `[1]`, 0},
		{"read qualified", "GET", "/subjects/:.:orders/versions/1", nil, 200,
			fmt.Sprintf(`{"subject":"orders","version":1,"id":1,"schema":%q}`, userV1), 0},
		{"register unqualified: same subject", "POST", "/subjects/orders/versions", schemaBody(userV2), 200, `{"id":2}`, 0},
		{"escaped qualifier", "GET", "/subjects/%3A.%3Aorders/versions", nil, 200, `[1,2]`, 0},
		{"reference qualified", "POST", "/subjects/refs/versions", map[string]any{"schema": `{"type":"record","name":"Holder","fields":[{"name":"u","type":"User"}]}`,
			"references": []Reference{{Name: "User", Subject: ":.:orders", Version: 1}}}, 200, `{"id":3}`, 0},
		{"reference stored unqualified", "GET", "/schemas/ids/3", nil, 200, "", 0},
		{"id restricted to a qualified subject", "GET", "/schemas/ids/1?subject=:.:orders", nil, 200, "", 0},
		{"config qualified", "PUT", "/config/:.:orders", map[string]string{"compatibility": "FULL"}, 200, "", 0},
		{"config read unqualified", "GET", "/config/orders", nil, 200, `{"compatibilityLevel":"FULL"}`, 0},
		{"wildcard prefix: every context", "GET", "/subjects?subjectPrefix=:*:", nil, 200, `["orders","refs"]`, 0},
		{"default context prefix", "GET", "/subjects?subjectPrefix=:.:ord", nil, 200, `["orders"]`, 0},
		{"other context prefix: none", "GET", "/subjects?subjectPrefix=:.other:", nil, 200, `[]`, 0},
		{"default context by URL", "GET", "/contexts/./subjects/orders/versions", nil, 200, `[1,2]`, 0},
		{"default context by URL, qualified", "GET", "/contexts/:.:/subjects", nil, 200, `["orders","refs"]`, 0},
		{"default context by URL, escaped", "GET", "/contexts/%3A.%3A/schemas/ids/1/versions", nil, 200, `[{"subject":"orders","version":1}]`, 0},
		{"other context by URL", "GET", "/contexts/.other/subjects", nil, 422, "", codeInvalidSubject},
		{"contexts", "GET", "/contexts", nil, 200, `["."]`, 0},
		{"contexts prefix", "GET", "/contexts?contextPrefix=.other", nil, 200, `[]`, 0},
		{"contexts page", "GET", "/contexts?offset=1", nil, 200, `[]`, 0},
		{"other context register", "POST", "/subjects/:.other:orders/versions", schemaBody(userV1), 422, "", codeInvalidSubject},
		{"other context read", "GET", "/subjects/:.other:orders/versions", nil, 422, "", codeInvalidSubject},
		{"other context config", "PUT", "/config/:.other:orders", map[string]string{"compatibility": "NONE"}, 422, "", codeInvalidSubject},
		{"other context reference", "POST", "/subjects/refs2/versions", map[string]any{"schema": `{"type":"record","name":"H2","fields":[{"name":"u","type":"User"}]}`,
			"references": []Reference{{Name: "User", Subject: ":.other:orders", Version: 1}}}, 422, "", codeInvalidSubject},
	})
	_, body := in.call(t, "GET", "/schemas/ids/3", nil)
	assert.Contains(t, body, `"subject":"orders"`)
	// referenceFormat=qualified qualifies references with a non-default
	// context only: in the default context they stay as they are.
	for _, path := range []string{"/schemas/ids/3?referenceFormat=qualified", "/subjects/refs/versions/1?referenceFormat=qualified"} {
		_, qualified := in.call(t, "GET", path, nil)
		assert.Contains(t, qualified, `"references":[{"name":"User","subject":"orders","version":1}]`, path)
	}
	// Avro's format=resolved writes the referenced type out in full.
	_, resolved := in.call(t, "GET", "/subjects/refs/versions/1/schema?format=resolved", nil)
	assert.Equal(t, `{"name":"Holder","type":"record","fields":[{"name":"u","type":{"name":"User","type":"record","fields":[{"name":"id","type":"int"}]}}]}`, resolved)
	_, body = in.call(t, "GET", "/subjects/:.other:orders/versions", nil)
	assert.Contains(t, body, "schema context '.other'")
}

// TestAPIListingFilters covers deleted, deletedOnly, deletedAsNegative
// and offset/limit on every listing that has them.
func TestAPIListingFilters(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"a v1", "POST", "/subjects/a/versions", schemaBody(userV1), 200, `{"id":1}`, 0},
		{"a v2", "POST", "/subjects/a/versions", schemaBody(userV2), 200, `{"id":2}`, 0},
		{"a v3", "POST", "/subjects/a/versions", schemaBody(userV3), 200, `{"id":3}`, 0},
		{"b v1", "POST", "/subjects/b/versions", schemaBody(userV1), 200, `{"id":1}`, 0},
		{"c v1", "POST", "/subjects/c/versions", schemaBody(userV1), 200, `{"id":1}`, 0},
		{"soft delete a v2", "DELETE", "/subjects/a/versions/2", nil, 200, `2`, 0},
		{"soft delete b", "DELETE", "/subjects/b", nil, 200, `[1]`, 0},

		{"subjects", "GET", "/subjects", nil, 200, `["a","c"]`, 0},
		{"subjects deleted", "GET", "/subjects?deleted=true", nil, 200, `["a","b","c"]`, 0},
		{"subjects deletedOnly", "GET", "/subjects?deletedOnly=true", nil, 200, `["a","b"]`, 0},
		{"deletedOnly wins", "GET", "/subjects?deleted=true&deletedOnly=true", nil, 200, `["a","b"]`, 0},
		{"subjects offset", "GET", "/subjects?deleted=true&offset=1", nil, 200, `["b","c"]`, 0},
		{"subjects limit", "GET", "/subjects?deleted=true&limit=2", nil, 200, `["a","b"]`, 0},
		{"subjects page", "GET", "/subjects?deleted=true&offset=1&limit=1", nil, 200, `["b"]`, 0},
		{"offset past the end", "GET", "/subjects?offset=9", nil, 200, `[]`, 0},
		{"limit not positive: all", "GET", "/subjects?limit=-1", nil, 200, `["a","c"]`, 0},
		{"bad offset", "GET", "/subjects?offset=x", nil, 422, "", codeUnprocessable},
		{"negative offset", "GET", "/subjects?offset=-1", nil, 422, "", codeUnprocessable},

		{"versions", "GET", "/subjects/a/versions", nil, 200, `[1,3]`, 0},
		{"versions deleted", "GET", "/subjects/a/versions?deleted=true", nil, 200, `[1,2,3]`, 0},
		{"versions deletedOnly", "GET", "/subjects/a/versions?deletedOnly=true", nil, 200, `[2]`, 0},
		{"versions deletedAsNegative", "GET", "/subjects/a/versions?deletedAsNegative=true", nil, 200, `[1,-2,3]`, 0},
		{"versions page", "GET", "/subjects/a/versions?deleted=true&offset=1&limit=1", nil, 200, `[2]`, 0},
		{"deleted subject versions", "GET", "/subjects/b/versions", nil, 404, "", 40401},
		{"deleted subject deletedOnly", "GET", "/subjects/b/versions?deletedOnly=true", nil, 200, `[1]`, 0},

		{"id subjects page", "GET", "/schemas/ids/1/subjects?offset=1&limit=1", nil, 200, `["c"]`, 0},
		{"id versions page", "GET", "/schemas/ids/1/versions?deleted=true&offset=1", nil, 200,
			`[{"subject":"b","version":1},{"subject":"c","version":1}]`, 0},
	})

	// GET /schemas lists versions, paged.
	runSteps(t, in, []step{
		{"schemas", "GET", "/schemas", nil, 200, fmt.Sprintf(
			`[{"subject":"a","version":1,"id":1,"schema":%q},{"subject":"a","version":3,"id":3,"schema":%q},{"subject":"c","version":1,"id":1,"schema":%q}]`,
			userV1, userV3, userV1), 0},
		{"schemas deleted latestOnly", "GET", "/schemas?deleted=true&latestOnly=true", nil, 200, fmt.Sprintf(
			`[{"subject":"a","version":3,"id":3,"schema":%q},{"subject":"b","version":1,"id":1,"schema":%q},{"subject":"c","version":1,"id":1,"schema":%q}]`,
			userV3, userV1, userV1), 0},
		{"schemas prefix page", "GET", "/schemas?subjectPrefix=a&offset=1&limit=1", nil, 200, fmt.Sprintf(
			`[{"subject":"a","version":3,"id":3,"schema":%q}]`, userV3), 0},
	})

	// referencedby pages too.
	holder := func(name string) map[string]any {
		return map[string]any{"schema": fmt.Sprintf(`{"type":"record","name":%q,"fields":[{"name":"u","type":"User"}]}`, name),
			"references": []Reference{{Name: "User", Subject: "c", Version: 1}}}
	}
	runSteps(t, in, []step{
		{"ref 1", "POST", "/subjects/h1/versions", holder("H1"), 200, `{"id":4}`, 0},
		{"ref 2", "POST", "/subjects/h2/versions", holder("H2"), 200, `{"id":5}`, 0},
		{"referencedby", "GET", "/subjects/c/versions/1/referencedby", nil, 200, `[4,5]`, 0},
		{"referencedby page", "GET", "/subjects/c/versions/1/referencedby?offset=1&limit=5", nil, 200, `[5]`, 0},
	})
}

// TestAPICompatibilityLevels sets each level on a subject and registers
// a candidate that the level must refuse while the default (BACKWARD)
// or a weaker level would accept, or that the level must accept while
// the default refuses: each row fails if its level were ignored.
func TestAPICompatibilityLevels(t *testing.T) {
	const (
		base         = `{"type":"record","name":"r","fields":[{"name":"a","type":"int"}]}`
		addNoDefault = `{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}`
		addDefault   = `{"type":"record","name":"r","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":0}]}`
		promote      = `{"type":"record","name":"r","fields":[{"name":"a","type":"long"}]}`
		empty        = `{"type":"record","name":"r","fields":[]}`
		// onlyX: readable by the empty reader, not by base's (a has no default).
		onlyX = `{"type":"record","name":"r","fields":[{"name":"x","type":"string","default":""}]}`
	)
	tests := []struct {
		level      string
		prev       []string
		candidate  string
		compatible bool
	}{
		{LevelNone, []string{base}, addNoDefault, true},                            // BACKWARD would refuse
		{LevelBackward, []string{base}, addNoDefault, false},                       // NONE would accept
		{LevelBackwardTransitive, []string{base, addDefault}, addNoDefault, false}, // BACKWARD would accept
		{LevelForward, []string{base}, promote, false},                             // BACKWARD would accept
		{LevelForward, []string{base}, addNoDefault, true},                         // BACKWARD would refuse
		{LevelForwardTransitive, []string{base, empty}, onlyX, false},              // FORWARD would accept
		{LevelFull, []string{base}, promote, false},                                // BACKWARD would accept
		{LevelFull, []string{base}, addNoDefault, false},                           // FORWARD would accept
		{LevelFullTransitive, []string{base, empty}, onlyX, false},                 // FULL would accept
	}
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	for i, tt := range tests {
		subject := fmt.Sprintf("level-%d", i)
		steps := []step{{"seed without checks", "PUT", "/config/" + subject, map[string]string{"compatibility": "NONE"}, 200, "", 0}}
		for _, p := range tt.prev {
			steps = append(steps, step{"seed", "POST", "/subjects/" + subject + "/versions", schemaBody(p), 200, "", 0})
		}
		steps = append(steps, step{"set level", "PUT", "/config/" + subject, map[string]string{"compatibility": strings.ToLower(tt.level)}, 200, "", 0})
		want := fmt.Sprintf(`{"is_compatible":%t}`, tt.compatible)
		steps = append(steps, step{tt.level + " check", "POST", "/compatibility/subjects/" + subject + "/versions", schemaBody(tt.candidate), 200, want, 0})
		if tt.compatible {
			steps = append(steps, step{tt.level + " register", "POST", "/subjects/" + subject + "/versions", schemaBody(tt.candidate), 200, "", 0})
		} else {
			steps = append(steps, step{tt.level + " register", "POST", "/subjects/" + subject + "/versions", schemaBody(tt.candidate), 409, "", 409})
		}
		t.Run(fmt.Sprintf("%s/%d", tt.level, i), func(t *testing.T) { runSteps(t, in, steps) })
	}
	// The global level applies to subjects without their own.
	runSteps(t, in, []step{
		{"global FORWARD", "PUT", "/config", map[string]string{"compatibility": "FORWARD"}, 200, "", 0},
		{"v1", "POST", "/subjects/global/versions", schemaBody(base), 200, "", 0},
		{"refused by FORWARD", "POST", "/subjects/global/versions", schemaBody(promote), 409, "", 409},
		{"global FORWARD_TRANSITIVE", "PUT", "/config", map[string]string{"compatibility": "FORWARD_TRANSITIVE"}, 200, "", 0},
		{"v2", "POST", "/subjects/global/versions", schemaBody(addNoDefault), 200, "", 0},
	})
}
