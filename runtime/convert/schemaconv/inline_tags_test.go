package schemaconv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/rules"
)

// inlineTagged are schemas tagging fields inline, with no metadata.tags:
// the user's ssn and the address's street (a nested record) are PII.
var inlineTagged = []struct {
	newConv func() *Converter
	text    string
}{
	{NewAvroConverter, `{"type":"record","name":"User","namespace":"com.acme","fields":[
		{"name":"name","type":"string"},
		{"name":"ssn","type":"string","confluent:tags":["PII"]},
		{"name":"home","type":{"type":"record","name":"Address","fields":[
			{"name":"street","type":"string","confluent:tags":["PII"]},
			{"name":"city","type":"string"}]}},
		{"name":"others","type":{"type":"array","items":{"type":"record","name":"Other","fields":[
			{"name":"street","type":"string","confluent:tags":["PII"]},
			{"name":"city","type":"string"}]}}}]}`},
	{NewJSONSchemaConverter, `{"type":"object","title":"com.acme.User","properties":{
		"name":{"type":"string","connect.index":0},
		"ssn":{"type":"string","confluent:tags":["PII"],"connect.index":1},
		"home":{"type":"object","title":"com.acme.Address","connect.index":2,"properties":{
			"street":{"type":"string","confluent:tags":["PII"],"connect.index":0},
			"city":{"type":"string","connect.index":1}}},
		"others":{"type":"array","connect.index":3,"items":{"type":"object","title":"com.acme.Address","properties":{
			"street":{"type":"string","confluent:tags":["PII"],"connect.index":0},
			"city":{"type":"string","connect.index":1}}}}}}`},
	{NewProtobufConverter, `syntax = "proto3";
package acme;
import "confluent/meta.proto";
message User {
  string name = 1;
  string ssn = 2 [(confluent.field_meta).tags = "PII"];
  Address home = 3;
  repeated Address others = 4;
  message Address {
    string street = 1 [(confluent.field_meta) = { tags: ["PII"] }];
    string city = 2;
  }
}
`},
}

// Fields tagged inline in the schema (Avro's and JSON Schema's
// "confluent:tags", Protobuf's (confluent.field_meta).tags) are selected
// by CEL_FIELD rules on write and on read, as Confluent merges them with
// metadata.tags; untagged fields are untouched and the Connect schemas
// sinks see carry no tags.
func TestContractInlineTags(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	contract := map[string]any{
		"ruleSet": map[string]any{"domainRules": []map[string]any{
			{"name": "mask", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD", "tags": []string{"PII"}, "expr": "'***'"},
			{"name": "mark", "kind": "TRANSFORM", "mode": "READ", "type": "CEL_FIELD", "tags": []string{"PII"}, "expr": "value + '!'"},
		}},
	}
	for _, tc := range inlineTagged {
		w := tc.newConv()
		name := w.fmt.name()
		t.Run(name, func(t *testing.T) {
			topic := "inline-" + w.fmt.schemaType().String()
			registerWithContract(t, url, topic+"-value", w.fmt.schemaType().String(), tc.text, contract)
			require.NoError(t, w.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false",
				UseLatestVersionConfig: "true"}, false))
			cd, err := w.fmt.parse(tc.text)
			require.NoError(t, err)
			s := cd.connectSchema()
			require.NotNil(t, s)
			address := func(as *connect.Schema, street string) *connect.Struct {
				return connect.NewStruct(as).MustPut("street", street).MustPut("city", "Springfield")
			}
			v := connect.NewStruct(s).MustPut("name", "ann").MustPut("ssn", "123-45-6789").
				MustPut("home", address(s.Field("home").Schema, "1 Main St")).
				MustPut("others", []any{address(s.Field("others").Schema.ValueSchema, "2 Side St")})
			data, err := w.FromConnect(topic, nil, s, v)
			require.NoError(t, err)
			for _, secret := range []string{"123-45-6789", "1 Main St", "2 Side St"} {
				assert.NotContains(t, string(data), secret, "masked on write")
			}
			assert.Contains(t, string(data), "Springfield", "untagged field kept")

			r := tc.newConv()
			require.NoError(t, r.Configure(map[string]string{RegistryURLConfig: url}, false))
			rs, rv, err := r.ToConnect(topic, nil, data)
			require.NoError(t, err)
			st := rv.(*connect.Struct)
			assert.Equal(t, "ann", st.GetWithoutDefault("name"), "untagged field untouched on read")
			assert.Equal(t, "***!", st.GetWithoutDefault("ssn"), "READ rule on an inline-tagged field")
			home := st.GetWithoutDefault("home").(*connect.Struct)
			assert.Equal(t, "***!", home.GetWithoutDefault("street"), "READ rule in a nested record")
			assert.Equal(t, "Springfield", home.GetWithoutDefault("city"))
			others := st.GetWithoutDefault("others").([]any)
			assert.Equal(t, "***!", others[0].(*connect.Struct).GetWithoutDefault("street"), "READ rule in a list of records")
			assert.Empty(t, rs.Field("ssn").Schema.Parameters[rules.TagsParameter], "the Connect schema carries no tags")
		})
	}
}

// Two schemas without metadata tagging different fields inline, written
// by one converter from one Connect schema, each mask their own fields:
// the rules' tag cache does not mix them up.
func TestContractInlineTagsPerSchema(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	contract := map[string]any{"ruleSet": map[string]any{"domainRules": []map[string]any{
		{"name": "mask", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD", "tags": []string{"PII"}, "expr": "'***'"},
	}}}
	text := func(tagged string) string {
		field := func(name string) string {
			if name == tagged {
				return `{"name":"` + name + `","type":"string","confluent:tags":["PII"]}`
			}
			return `{"name":"` + name + `","type":"string"}`
		}
		return `{"type":"record","name":"User","namespace":"com.acme","fields":[` + field("name") + `,` + field("ssn") + `]}`
	}
	registerWithContract(t, url, "tag-ssn-value", "AVRO", text("ssn"), contract)
	registerWithContract(t, url, "tag-name-value", "AVRO", text("name"), contract)
	w := NewAvroConverter()
	require.NoError(t, w.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false",
		UseLatestVersionConfig: "true"}, false))
	cd, err := w.fmt.parse(text(""))
	require.NoError(t, err)
	s := cd.connectSchema()
	v := connect.NewStruct(s).MustPut("name", "ann").MustPut("ssn", "123-45-6789")

	data, err := w.FromConnect("tag-ssn", nil, s, v)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "123-45-6789")
	assert.Contains(t, string(data), "ann")

	data, err = w.FromConnect("tag-name", nil, s, v)
	require.NoError(t, err)
	assert.Contains(t, string(data), "123-45-6789", "the other schema's tags do not apply")
	assert.NotContains(t, string(data), "ann")
}
