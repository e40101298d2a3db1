package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

const (
	userV1 = `{"type":"record","name":"User","fields":[{"name":"id","type":"int"}]}`
	userV2 = `{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"name","type":"string","default":""}]}`
	userV3 = `{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"name","type":"string","default":""},{"name":"age","type":"int","default":0}]}`
	// userBad adds a field without a default: not BACKWARD compatible.
	userBad = `{"type":"record","name":"User","fields":[{"name":"id","type":"int"},{"name":"email","type":"string"}]}`
)

// step is one request of an API scenario and what must come back: the
// exact body, or with code the error code only.
type step struct {
	name, method, path string
	body               any
	status             int
	want               string
	code               int
}

func runSteps(t *testing.T, in *instance, steps []step) {
	t.Helper()
	for _, s := range steps {
		status, body := in.call(t, s.method, s.path, s.body)
		require.Equal(t, s.status, status, "%s: %s %s -> %s", s.name, s.method, s.path, body)
		switch {
		case s.code != 0:
			require.Equal(t, s.code, errorCode(t, body), "%s: %s", s.name, body)
		case s.want != "":
			require.Equal(t, s.want, body, s.name)
		}
	}
}

func TestAPISubjectsAndVersions(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	v1, v2 := schemaBody(userV1), schemaBody(userV2)
	runSteps(t, in, []step{
		{"root", "GET", "/", nil, 200, `{}`, 0},
		{"types", "GET", "/schemas/types", nil, 200, "", 0},
		{"no subjects", "GET", "/subjects", nil, 200, `[]`, 0},
		{"unknown subject versions", "GET", "/subjects/u/versions", nil, 404, "", 40401},
		{"unknown subject version", "GET", "/subjects/u/versions/1", nil, 404, "", 40401},
		{"register", "POST", "/subjects/u-value/versions", v1, 200, `{"id":1}`, 0},
		{"register again: same id", "POST", "/subjects/u-value/versions", v1, 200, `{"id":1}`, 0},
		{"whitespace is insignificant", "POST", "/subjects/u-value/versions", schemaBody(strings.ReplaceAll(userV1, ",", " , ")), 200, `{"id":1}`, 0},
		{"same schema, other subject: same id", "POST", "/subjects/other/versions", v1, 200, `{"id":1}`, 0},
		{"v2", "POST", "/subjects/u-value/versions", v2, 200, `{"id":2}`, 0},
		{"incompatible", "POST", "/subjects/u-value/versions", schemaBody(userBad), 409, "", 409},
		{"invalid schema", "POST", "/subjects/u-value/versions", schemaBody(`{"type":"nope"}`), 422, "", 42201},
		{"invalid schema type", "POST", "/subjects/u-value/versions", map[string]any{"schema": "{}", "schemaType": "XML"}, 422, "", 42201},
		{"malformed body", "POST", "/subjects/u-value/versions", `{"schema":`, 422, "", 422},
		{"subjects", "GET", "/subjects", nil, 200, `["other","u-value"]`, 0},
		{"prefix", "GET", "/subjects?subjectPrefix=u-", nil, 200, `["u-value"]`, 0},
		{"versions", "GET", "/subjects/u-value/versions", nil, 200, `[1,2]`, 0},
		{"version 1", "GET", "/subjects/u-value/versions/1", nil, 200,
			fmt.Sprintf(`{"subject":"u-value","version":1,"id":1,"schema":%q}`, userV1), 0},
		{"latest", "GET", "/subjects/u-value/versions/latest", nil, 200,
			fmt.Sprintf(`{"subject":"u-value","version":2,"id":2,"schema":%q}`, userV2), 0},
		{"-1", "GET", "/subjects/u-value/versions/-1", nil, 200, "", 0},
		{"raw schema", "GET", "/subjects/u-value/versions/1/schema", nil, 200, userV1, 0},
		{"version 0", "GET", "/subjects/u-value/versions/0", nil, 422, "", 42202},
		{"version -2", "GET", "/subjects/u-value/versions/-2", nil, 422, "", 42202},
		{"version abc", "GET", "/subjects/u-value/versions/abc", nil, 422, "", 42202},
		{"version 9", "GET", "/subjects/u-value/versions/9", nil, 404, "", 40402},
		{"lookup", "POST", "/subjects/u-value", v1, 200,
			fmt.Sprintf(`{"subject":"u-value","version":1,"id":1,"schema":%q}`, userV1), 0},
		{"lookup miss", "POST", "/subjects/u-value", schemaBody(userV3), 404, "", 40403},
		{"lookup unknown subject", "POST", "/subjects/nope", v1, 404, "", 40401},
		{"by id", "GET", "/schemas/ids/1", nil, 200, fmt.Sprintf(`{"schema":%q}`, userV1), 0},
		{"by id raw", "GET", "/schemas/ids/2/schema", nil, 200, userV2, 0},
		{"by id and subject", "GET", "/schemas/ids/2?subject=other", nil, 404, "", 40403},
		{"unknown id", "GET", "/schemas/ids/99", nil, 404, "", 40403},
		{"id versions", "GET", "/schemas/ids/1/versions", nil, 200,
			`[{"subject":"other","version":1},{"subject":"u-value","version":1}]`, 0},
		{"id subjects", "GET", "/schemas/ids/1/subjects", nil, 200, `["other","u-value"]`, 0},
		{"unknown path", "GET", "/nope", nil, 404, "", 404},
	})
}

func TestAPIDeletes(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"v1", "POST", "/subjects/s/versions", schemaBody(userV1), 200, `{"id":1}`, 0},
		{"v2", "POST", "/subjects/s/versions", schemaBody(userV2), 200, `{"id":2}`, 0},
		{"permanent before soft", "DELETE", "/subjects/s/versions/2?permanent=true", nil, 404, "", 40407},
		{"soft delete v2", "DELETE", "/subjects/s/versions/2", nil, 200, `2`, 0},
		{"v2 gone", "GET", "/subjects/s/versions/2", nil, 404, "", 40402},
		{"v2 with deleted", "GET", "/subjects/s/versions/2?deleted=true", nil, 200, "", 0},
		{"listing", "GET", "/subjects/s/versions", nil, 200, `[1]`, 0},
		{"listing with deleted", "GET", "/subjects/s/versions?deleted=true", nil, 200, `[1,2]`, 0},
		{"latest skips deleted", "GET", "/subjects/s/versions/latest", nil, 200, "", 0},
		{"soft delete again", "DELETE", "/subjects/s/versions/2", nil, 404, "", 40402},
		// A soft-deleted version is not compared against: userBad is
		// incompatible with v2 only... and with v1; so check a v3 that
		// is compatible with v1.
		{"new version after delete is 3", "POST", "/subjects/s/versions", schemaBody(userV3), 200, `{"id":3}`, 0},
		{"versions", "GET", "/subjects/s/versions", nil, 200, `[1,3]`, 0},
		{"permanent v2", "DELETE", "/subjects/s/versions/2?permanent=true", nil, 200, `2`, 0},
		{"v2 really gone", "GET", "/subjects/s/versions/2?deleted=true", nil, 404, "", 40402},
		{"id 2 gone", "GET", "/schemas/ids/2", nil, 404, "", 40403},
		{"permanent subject first", "DELETE", "/subjects/s?permanent=true", nil, 404, "", 40405},
		{"soft delete subject", "DELETE", "/subjects/s", nil, 200, `[1,3]`, 0},
		{"subject hidden", "GET", "/subjects", nil, 200, `[]`, 0},
		{"subject listed with deleted", "GET", "/subjects?deleted=true", nil, 200, `["s"]`, 0},
		{"soft delete twice", "DELETE", "/subjects/s", nil, 404, "", 40404},
		{"id still readable", "GET", "/schemas/ids/1", nil, 200, "", 0},
		{"permanent subject", "DELETE", "/subjects/s?permanent=true", nil, 200, `[1,3]`, 0},
		{"subject gone", "GET", "/subjects?deleted=true", nil, 200, `[]`, 0},
		{"unknown subject", "DELETE", "/subjects/s", nil, 404, "", 40401},
		{"re-register starts at 1", "POST", "/subjects/s/versions", schemaBody(userV1), 200, "", 0},
		{"version 1 again", "GET", "/subjects/s/versions", nil, 200, `[1]`, 0},
	})
}

func TestAPIReferences(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	addr := `{"type":"record","name":"Addr","namespace":"x","fields":[{"name":"street","type":"string"}]}`
	user := `{"type":"record","name":"U","fields":[{"name":"a","type":"x.Addr"}]}`
	withRef := map[string]any{"schema": user, "references": []Reference{{Name: "x.Addr", Subject: "addr", Version: 1}}}
	runSteps(t, in, []step{
		{"unresolved name", "POST", "/subjects/u/versions", schemaBody(user), 422, "", 42201},
		{"missing reference", "POST", "/subjects/u/versions", withRef, 422, "", 42201},
		{"addr", "POST", "/subjects/addr/versions", schemaBody(addr), 200, `{"id":1}`, 0},
		{"user", "POST", "/subjects/u/versions", withRef, 200, `{"id":2}`, 0},
		{"by id has references", "GET", "/schemas/ids/2", nil, 200,
			fmt.Sprintf(`{"references":[{"name":"x.Addr","subject":"addr","version":1}],"schema":%q}`, user), 0},
		{"referenced by", "GET", "/subjects/addr/versions/1/referencedby", nil, 200, `[2]`, 0},
		{"cannot delete referenced version", "DELETE", "/subjects/addr/versions/1", nil, 422, "", 42206},
		{"cannot delete referenced subject", "DELETE", "/subjects/addr", nil, 422, "", 42206},
		{"lookup with references", "POST", "/subjects/u", withRef, 200, "", 0},
	})
}

func TestAPICompatibilityEndpoints(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"no subject, latest: compatible", "POST", "/compatibility/subjects/s/versions/latest", schemaBody(userBad), 200, `{"is_compatible":true}`, 0},
		{"v1", "POST", "/subjects/s/versions", schemaBody(userV1), 200, "", 0},
		{"compatible", "POST", "/compatibility/subjects/s/versions/latest", schemaBody(userV2), 200, `{"is_compatible":true}`, 0},
		{"compatible verbose", "POST", "/compatibility/subjects/s/versions/latest?verbose=true", schemaBody(userV2), 200, `{"is_compatible":true,"messages":[]}`, 0},
		{"incompatible", "POST", "/compatibility/subjects/s/versions/1", schemaBody(userBad), 200, `{"is_compatible":false}`, 0},
		{"all versions", "POST", "/compatibility/subjects/s/versions", schemaBody(userBad), 200, `{"is_compatible":false}`, 0},
		{"unknown version", "POST", "/compatibility/subjects/s/versions/7", schemaBody(userV2), 404, "", 40402},
		{"invalid version", "POST", "/compatibility/subjects/s/versions/0", schemaBody(userV2), 422, "", 42202},
		{"invalid schema", "POST", "/compatibility/subjects/s/versions/1", schemaBody(`{`), 422, "", 42201},
	})
	status, body := in.call(t, "POST", "/compatibility/subjects/s/versions/1?verbose=true", schemaBody(userBad))
	require.Equal(t, 200, status)
	var resp struct {
		IsCompatible bool     `json:"is_compatible"`
		Messages     []string `json:"messages"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	assert.False(t, resp.IsCompatible)
	assert.Contains(t, resp.Messages[0], "READER_FIELD_MISSING_DEFAULT_VALUE")
	assert.Contains(t, resp.Messages, "{oldSchemaVersion: 1}")
	assert.Contains(t, resp.Messages, "{compatibility: 'BACKWARD'}")

	status, body = in.call(t, "POST", "/compatibility/subjects/s/versions/1?verbose=true", schemaBody(`{`))
	require.Equal(t, 200, status, body)
	assert.Contains(t, body, `"is_compatible":false`)
}

func TestAPIConfigAndMode(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	runSteps(t, in, []step{
		{"global default", "GET", "/config", nil, 200, `{"compatibilityLevel":"BACKWARD"}`, 0},
		{"subject none", "GET", "/config/s", nil, 404, "", 40408},
		{"subject default to global", "GET", "/config/s?defaultToGlobal=true", nil, 200, `{"compatibilityLevel":"BACKWARD"}`, 0},
		{"invalid level", "PUT", "/config", map[string]string{"compatibility": "SIDEWAYS"}, 422, "", 42203},
		{"set global", "PUT", "/config", map[string]string{"compatibility": "full"}, 200, `{"compatibility":"FULL"}`, 0},
		{"global set", "GET", "/config", nil, 200, `{"compatibilityLevel":"FULL"}`, 0},
		{"set subject", "PUT", "/config/s", map[string]string{"compatibility": "NONE"}, 200, `{"compatibility":"NONE"}`, 0},
		{"subject set", "GET", "/config/s", nil, 200, `{"compatibilityLevel":"NONE"}`, 0},
		{"v1", "POST", "/subjects/s/versions", schemaBody(userV1), 200, "", 0},
		{"NONE lets anything in", "POST", "/subjects/s/versions", schemaBody(userBad), 200, "", 0},
		{"delete subject config", "DELETE", "/config/s", nil, 200, `{"compatibilityLevel":"NONE"}`, 0},
		{"delete missing subject config", "DELETE", "/config/s", nil, 404, "", 40401},
		{"FULL now applies", "POST", "/subjects/s/versions", schemaBody(userV3), 409, "", 409},
		{"delete global config", "DELETE", "/config", nil, 200, `{"compatibilityLevel":"FULL"}`, 0},
		{"global back to default", "GET", "/config", nil, 200, `{"compatibilityLevel":"BACKWARD"}`, 0},

		{"mode default", "GET", "/mode", nil, 200, `{"mode":"READWRITE"}`, 0},
		{"subject mode none", "GET", "/mode/s", nil, 404, "", 40409},
		{"subject mode default to global", "GET", "/mode/s?defaultToGlobal=true", nil, 200, `{"mode":"READWRITE"}`, 0},
		{"invalid mode", "PUT", "/mode", map[string]string{"mode": "SOMETIMES"}, 422, "", 42204},
		{"read only subject", "PUT", "/mode/s", map[string]string{"mode": "READONLY"}, 200, `{"mode":"READONLY"}`, 0},
		{"write refused", "POST", "/subjects/s/versions", schemaBody(userV2), 422, "", 42205},
		{"delete refused", "DELETE", "/subjects/s/versions/1", nil, 422, "", 42205},
		{"other subjects writable", "POST", "/subjects/t/versions", schemaBody(userV2), 200, "", 0},
		{"read write", "DELETE", "/mode/s", nil, 200, `{"mode":"READONLY"}`, 0},
		{"import needs force", "PUT", "/mode", map[string]string{"mode": "IMPORT"}, 422, "", 42205},
		{"import forced", "PUT", "/mode?force=true", map[string]string{"mode": "IMPORT"}, 200, `{"mode":"IMPORT"}`, 0},
		{"import keeps id and version", "POST", "/subjects/imp/versions",
			map[string]any{"schema": userBad, "id": 100, "version": 7}, 200, `{"id":100}`, 0},
		{"imported version", "GET", "/subjects/imp/versions/7", nil, 200, "", 0},
		{"import id clash", "POST", "/subjects/imp2/versions",
			map[string]any{"schema": userV3, "id": 100, "version": 1}, 422, "", 42207},
		{"back to read write", "PUT", "/mode", map[string]string{"mode": "READWRITE"}, 200, "", 0},
		{"next id after import", "POST", "/subjects/n/versions", schemaBody(userV3), 200, `{"id":101}`, 0},
	})
}

func TestAPIContentTypes(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	for _, tt := range []struct {
		contentType string
		status      int
	}{
		{"application/vnd.schemaregistry.v1+json", 200},
		{"application/vnd.schemaregistry+json", 200},
		{"application/json; charset=utf-8", 200},
		{"application/octet-stream", 200},
		{"text/plain", 415},
	} {
		t.Run(tt.contentType, func(t *testing.T) {
			body, _ := json.Marshal(schemaBody(userV1))
			resp, err := http.Post(in.url+"/subjects/s/versions", tt.contentType, bytes.NewReader(body))
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Equal(t, "application/vnd.schemaregistry.v1+json", resp.Header.Get("Content-Type"))
		})
	}
}

// TestAPIOtherFormats registers JSON Schema and Protobuf schemas through
// the API: the formats plug in through Formats.
func TestAPIOtherFormats(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	jsonV1 := `{"type":"object","properties":{"a":{"type":"string"}}}`
	proto := `syntax = "proto3"; package p; message M { string a = 1; }`
	runSteps(t, in, []step{
		{"types", "GET", "/schemas/types", nil, 200, `["JSON","PROTOBUF","AVRO"]`, 0},
		{"json", "POST", "/subjects/j/versions", map[string]any{"schema": jsonV1, "schemaType": "JSON"}, 200, `{"id":1}`, 0},
		{"json by id", "GET", "/schemas/ids/1", nil, 200, "", 0},
		{"invalid json schema", "POST", "/subjects/j/versions", map[string]any{"schema": `{"type":5}`, "schemaType": "JSON"}, 422, "", 42201},
		{"protobuf", "POST", "/subjects/p/versions", map[string]any{"schema": proto, "schemaType": "PROTOBUF"}, 200, `{"id":2}`, 0},
		{"type change refused", "POST", "/subjects/p/versions", map[string]any{"schema": jsonV1, "schemaType": "JSON"}, 409, "", 409},
	})
	status, body := in.call(t, "GET", "/subjects/p/versions/1", nil)
	require.Equal(t, 200, status)
	assert.Contains(t, body, `"schemaType":"PROTOBUF"`)
}

// TestAPINormalize: with ?normalize=true equivalent texts are one schema.
func TestAPINormalize(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	a := `{"type":"record","name":"r","fields":[{"name":"f","type":{"type":"int"}}]}`
	b := `{"name":"r","type":"record","fields":[{"type":"int","name":"f"}]}`
	runSteps(t, in, []step{
		{"a", "POST", "/subjects/s/versions?normalize=true", schemaBody(a), 200, `{"id":1}`, 0},
		{"b is the same", "POST", "/subjects/s/versions?normalize=true", schemaBody(b), 200, `{"id":1}`, 0},
		{"stored normalized", "GET", "/subjects/s/versions/1/schema", nil, 200, `{"name":"r","type":"record","fields":[{"name":"f","type":"int"}]}`, 0},
		{"lookup normalized", "POST", "/subjects/s?normalize=true", schemaBody(b), 200, "", 0},
		{"lookup raw misses", "POST", "/subjects/s", schemaBody(b), 404, "", 40403},
		{"normalize by config", "PUT", "/config/s", map[string]any{"compatibility": "BACKWARD", "normalize": true}, 200, `{"compatibility":"BACKWARD","normalize":true}`, 0},
		{"lookup by config", "POST", "/subjects/s", schemaBody(b), 200, "", 0},
	})
}

// TestHandlerBeforeRun: reads answer from the empty state, writes fail
// with a store error instead of panicking.
func TestHandlerBeforeRun(t *testing.T) {
	srv, err := New(Options{ClientOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
	require.NoError(t, err)
	for _, tt := range []struct {
		method, path, body string
		status, code       int
	}{
		{"GET", "/subjects", "", 200, 0},
		{"POST", "/subjects/s/versions", `{"schema":"\"int\""}`, 500, 50001},
		{"PUT", "/config", `{"compatibility":"NONE"}`, 500, 50001},
		{"PATCH", "/config", "", 405, 405},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.code != 0 {
				assert.Equal(t, tt.code, errorCode(t, w.Body.String()))
			}
		})
	}
	_, err = New(Options{})
	assert.Error(t, err)
}
