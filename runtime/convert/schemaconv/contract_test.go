package schemaconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/rules"
)

var contractUser = connect.StructBuilder().Name("com.acme.User").
	Field("name", connect.StringSchema).Field("age", connect.Int32Schema).Field("ssn", connect.StringSchema).Build()

func contractUserValue(name string, age int32, ssn string) *connect.Struct {
	return connect.NewStruct(contractUser).MustPut("name", name).MustPut("age", age).MustPut("ssn", ssn)
}

// userContract is a data contract on contractUser: adults only and the
// PII field masked on the way in, the name marked on the way out.
func userContract(adultAction string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{
			"tags":       map[string][]string{"**.ssn": {"PII"}, "$.ssn": {"PII"}, "**.name": {"OUT"}, "$.name": {"OUT"}},
			"properties": map[string]string{"major": "1"},
		},
		"ruleSet": map[string]any{"domainRules": []map[string]any{
			{"name": "adult", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "message.age >= 18",
				"onFailure": adultAction},
			{"name": "maskSSN", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD", "tags": []string{"PII"},
				"expr": "'***'"},
			{"name": "markName", "kind": "TRANSFORM", "mode": "READ", "type": "CEL_FIELD", "tags": []string{"OUT"},
				"expr": "value + '!'"},
		}},
	}
}

// registerWithContract registers text under subject with the contract, as
// a data steward would (Confluent's REST API), and returns the id.
func registerWithContract(t *testing.T, url, subject, schemaType, text string, contract map[string]any) int {
	t.Helper()
	body := map[string]any{"schema": text}
	if schemaType != "AVRO" {
		body["schemaType"] = schemaType
	}
	for k, v := range contract {
		body[k] = v
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(url+"/subjects/"+subject+"/versions", "application/vnd.schemaregistry.v1+json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		ID      int    `json:"id"`
		Message string `json:"message"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, http.StatusOK, resp.StatusCode, out.Message)
	return out.ID
}

var contractFormats = []func() *Converter{NewAvroConverter, NewJSONSchemaConverter, NewProtobufConverter}

// The converters run the registered contract: FromConnect masks the PII
// field and refuses a record breaking the condition, naming the rule and
// its expression; ToConnect runs the READ rules of the writer's schema.
func TestConvertersRunContractRules(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	for _, newConv := range contractFormats {
		c := newConv()
		name := c.fmt.name()
		t.Run(name, func(t *testing.T) {
			topic := "users-" + name
			text, err := c.fmt.fromConnect(contractUser)
			require.NoError(t, err)
			id := registerWithContract(t, url, topic+"-value", c.fmt.schemaType().String(), text, userContract(""))

			// auto.register.schemas=false: the record's schema is looked up
			// and the contract of that version applies.
			require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false"}, false))
			data, err := c.FromConnect(topic, nil, contractUser, contractUserValue("ann", 30, "123-45-6789"))
			require.NoError(t, err)
			assert.Equal(t, []byte{0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}, data[:5])
			assert.NotContains(t, string(data), "123-45-6789", "masked before serializing")

			_, err = c.FromConnect(topic, nil, contractUser, contractUserValue("kid", 9, "000"))
			require.ErrorIs(t, err, connect.ErrData)
			var re *rules.RuleError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, "adult", re.Rule.Name)
			assert.Equal(t, rules.ActionError, re.Action)
			assert.Contains(t, err.Error(), "condition adult failed")
			assert.Contains(t, err.Error(), "message.age >= 18")

			r := newConv()
			require.NoError(t, r.Configure(map[string]string{RegistryURLConfig: url}, false))
			_, v, err := r.ToConnect(topic, nil, data)
			require.NoError(t, err)
			st := v.(*connect.Struct)
			assert.Equal(t, "***", st.GetWithoutDefault("ssn"))
			assert.Equal(t, "ann!", st.GetWithoutDefault("name"), "READ transform of the writer's schema")
			assert.Equal(t, int32(30), st.GetWithoutDefault("age"))
		})
	}
}

// A schema auto-registered by the converter without a contract, in a
// subject whose latest version has one, inherits it (Confluent's
// registry carries metadata and rules over to a new version); a subject
// without a contract writes as before.
func TestConverterAutoRegisteredInheritsContract(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	c := NewAvroConverter()
	text, err := c.fmt.fromConnect(contractUser)
	require.NoError(t, err)
	registerWithContract(t, url, "users-value", "AVRO", text, userContract(""))
	require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url}, false))
	_, err = c.FromConnect("users", nil, contractUser, contractUserValue("kid", 9, "000"))
	var re *rules.RuleError
	require.ErrorAs(t, err, &re)

	data, err := c.FromConnect("plain", nil, contractUser, contractUserValue("kid", 9, "000"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "000")
}

// Action DLQ fails the record like ERROR, carrying the rule's action and
// dlq.topic, for the worker's dead letter queue; NONE lets it through.
func TestConverterRuleActions(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	c := NewAvroConverter()
	text, err := c.fmt.fromConnect(contractUser)
	require.NoError(t, err)
	dlq := userContract("DLQ")
	dlq["ruleSet"].(map[string]any)["domainRules"].([]map[string]any)[0]["params"] = map[string]string{"dlq.topic": "bad-users"}
	registerWithContract(t, url, "dlq-value", "AVRO", text, dlq)
	registerWithContract(t, url, "none-value", "AVRO", text, userContract("NONE"))
	require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false"}, false))

	_, err = c.FromConnect("dlq", nil, contractUser, contractUserValue("kid", 9, "000"))
	require.ErrorIs(t, err, connect.ErrData)
	var re *rules.RuleError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, rules.ActionDLQ, re.Action)
	assert.Equal(t, "bad-users", re.DLQTopic)
	assert.Contains(t, err.Error(), "errors.deadletterqueue.topic.name", "says where the record goes")
	var ce *rules.RuleConditionError
	assert.True(t, errors.As(err, &ce))

	data, err := c.FromConnect("none", nil, contractUser, contractUserValue("kid", 9, "000"))
	require.NoError(t, err, "onFailure NONE")
	assert.NotContains(t, string(data), "000", "the later rules still ran")
}

// use.latest.with.metadata writes with the latest version whose metadata
// has the pairs, running its rules; a reader with it runs that version's
// READ rules, and refuses one with migration rules.
func TestConverterUseLatestWithMetadata(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	c := NewAvroConverter()
	text, err := c.fmt.fromConnect(contractUser)
	require.NoError(t, err)
	v1 := registerWithContract(t, url, "md-value", "AVRO", text, userContract(""))
	// A later version without the property (compatible: same text, other metadata).
	registerWithContract(t, url, "md-value", "AVRO", text, map[string]any{"metadata": map[string]any{
		"properties": map[string]string{"major": "2"}}, "ruleSet": map[string]any{"domainRules": []map[string]any{}}})

	w := NewAvroConverter()
	require.NoError(t, w.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false",
		UseLatestWithMetadataConfig: "major=1"}, false))
	data, err := w.FromConnect("md", nil, contractUser, contractUserValue("ann", 30, "123"))
	require.NoError(t, err)
	assert.Equal(t, byte(v1), data[4], "the version with major=1")
	assert.NotContains(t, string(data), "123")

	// Readers: the READ rules of the version with the metadata, not the
	// writer's.
	for major, want := range map[string]string{"1": "ann!", "2": "ann"} {
		r := NewAvroConverter()
		require.NoError(t, r.Configure(map[string]string{RegistryURLConfig: url, UseLatestWithMetadataConfig: "major=" + major}, false))
		_, v, err := r.ToConnect("md", nil, data)
		require.NoError(t, err)
		assert.Equal(t, want, v.(*connect.Struct).GetWithoutDefault("name"), "major=%s", major)
	}

	none := NewAvroConverter()
	require.NoError(t, none.Configure(map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false",
		UseLatestWithMetadataConfig: "major=3"}, false))
	_, err = none.FromConnect("md", nil, contractUser, contractUserValue("ann", 30, "123"))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "major=3")

	require.Error(t, none.Configure(map[string]string{RegistryURLConfig: url, UseLatestWithMetadataConfig: "major"}, false))
}

// A reader whose target version has migration rules is refused with the
// engine's message: Sluice does not run JSONata migrations.
func TestConverterRefusesMigrationRules(t *testing.T) {
	ct := &contract{rs: &rules.RuleSet{MigrationRules: []rules.Rule{{Name: "up", Type: "JSONATA", Mode: rules.ModeUpgrade}}}}
	err := checkMigration(ct, "s-value")
	require.ErrorIs(t, err, rules.ErrMigrationUnsupported)
	assert.Contains(t, err.Error(), "migration rules of type JSONATA are not supported")
	assert.NoError(t, checkMigration(&contract{rs: &rules.RuleSet{}}, "s"))
}

// Field full names follow the format, as the rule engine's tag patterns
// expect: JSON paths for JSON Schema, record names for Avro and Protobuf.
func TestContractFieldNames(t *testing.T) {
	assert.Equal(t, rules.JSONPathFieldNames, fieldNames(jsonSchemaFormat{}))
	assert.Equal(t, rules.RecordFieldNames, fieldNames(avroFormat{}))
	assert.Equal(t, rules.RecordFieldNames, fieldNames(defaultProtobufFormat))
}

func TestParseLatestWithMetadata(t *testing.T) {
	got, err := parsePairs(" major=2, app = billing ")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"major": "2", "app": "billing"}, got)
	got, err = parsePairs("")
	require.NoError(t, err)
	assert.Nil(t, got)
	_, err = parsePairs("major")
	assert.ErrorContains(t, err, UseLatestWithMetadataConfig)
}

// An unreachable registry is worth a retry; the worker's errors.retry
// settings apply.
func TestContractFetchRetriable(t *testing.T) {
	c := NewAvroConverter()
	require.NoError(t, c.Configure(map[string]string{RegistryURLConfig: "http://127.0.0.1:1"}, false))
	c.reg.cache("t-value", mustAvro(t, contractUser), 5) // the id is known, its contract is not
	_, err := c.FromConnect("t", nil, contractUser, contractUserValue("ann", 30, "1"))
	require.ErrorIs(t, err, connect.ErrRetriable)
	assert.Contains(t, err.Error(), "data contract of schema id 5")
}

// protoPersonText is a Protobuf schema in a package, whose contract tags
// fields by the messages' full names: a top-level field, a nested
// message's field and a oneof member.
const protoPersonText = `syntax = "proto3";
package srtest;

message Person {
  message Address {
    string street = 1;
    string city = 2;
  }
  string name = 1;
  string ssn = 2;
  Address home = 3;
  repeated Address others = 4;
  oneof contact {
    string phone = 5;
    string email = 6;
  }
}
`

// Protobuf contract tags name a field by its message's full name
// ("srtest.Person.ssn"), as Confluent's rules see the message itself:
// CEL_FIELD rules select those fields on write and on read whether or not
// the Connect schemas carry the package (enhanced.protobuf.schema.support),
// and the Connect schemas stay as they were.
func TestProtobufContractTagsByFullName(t *testing.T) {
	url := registrytest.Start(t, testenv.StartBroker(t, nil).Addr)
	contract := map[string]any{
		"metadata": map[string]any{"tags": map[string][]string{
			"srtest.Person.ssn":            {"PII"},
			"srtest.Person.phone":          {"PII"},
			"srtest.Person.Address.street": {"PII"},
		}},
		"ruleSet": map[string]any{"domainRules": []map[string]any{
			{"name": "mask", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD", "tags": []string{"PII"}, "expr": "'***'"},
			{"name": "mark", "kind": "TRANSFORM", "mode": "READ", "type": "CEL_FIELD", "tags": []string{"PII"}, "expr": "value + '!'"},
		}},
	}
	for _, enhanced := range []string{"false", "true"} {
		t.Run("enhanced="+enhanced, func(t *testing.T) {
			topic := "people-" + enhanced
			registerWithContract(t, url, topic+"-value", "PROTOBUF", protoPersonText, contract)
			cfg := map[string]string{RegistryURLConfig: url, AutoRegisterConfig: "false", UseLatestVersionConfig: "true",
				EnhancedProtobufSchemaSupportConfig: enhanced}
			w := NewProtobufConverter()
			require.NoError(t, w.Configure(cfg, false))
			cd, err := w.fmt.parse(protoPersonText)
			require.NoError(t, err)
			s := cd.connectSchema()
			require.NotNil(t, s)
			wantName := map[string]string{"false": "Person", "true": "srtest.Person"}[enhanced]
			require.Equal(t, wantName, s.Name)

			address := func(as *connect.Schema, street string) *connect.Struct {
				return connect.NewStruct(as).MustPut("street", street).MustPut("city", "Springfield")
			}
			union := s.Field("contact_0").Schema
			v := connect.NewStruct(s).MustPut("name", "ann").MustPut("ssn", "123-45-6789").
				MustPut("home", address(s.Field("home").Schema, "1 Main St")).
				MustPut("others", []any{address(s.Field("others").Schema.ValueSchema, "2 Side St")}).
				MustPut("contact_0", connect.NewStruct(union).MustPut("phone", "555-0100"))
			data, err := w.FromConnect(topic, nil, s, v)
			require.NoError(t, err)
			for _, secret := range []string{"123-45-6789", "1 Main St", "2 Side St", "555-0100"} {
				assert.NotContains(t, string(data), secret, "masked on write")
			}
			assert.Contains(t, string(data), "Springfield", "untagged field kept")

			r := NewProtobufConverter()
			require.NoError(t, r.Configure(map[string]string{RegistryURLConfig: url, EnhancedProtobufSchemaSupportConfig: enhanced}, false))
			rs, rv, err := r.ToConnect(topic, nil, data)
			require.NoError(t, err)
			assert.Equal(t, wantName, rs.Name, "the Connect schema keeps its name")
			st := rv.(*connect.Struct)
			assert.Equal(t, "ann", st.GetWithoutDefault("name"))
			assert.Equal(t, "***!", st.GetWithoutDefault("ssn"), "READ rule on a top-level field")
			home := st.GetWithoutDefault("home").(*connect.Struct)
			assert.Equal(t, "***!", home.GetWithoutDefault("street"), "READ rule on a nested message's field")
			assert.Equal(t, "Springfield", home.GetWithoutDefault("city"))
			others := st.GetWithoutDefault("others").([]any)
			assert.Equal(t, "***!", others[0].(*connect.Struct).GetWithoutDefault("street"), "READ rule in a repeated message")
			contact := st.GetWithoutDefault("contact_0").(*connect.Struct)
			assert.Equal(t, "***!", contact.GetWithoutDefault("phone"), "READ rule on a oneof member")
		})
	}
}
