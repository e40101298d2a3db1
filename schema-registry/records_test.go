package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecordFormats pins the _schemas key and value bytes to Confluent's.
func TestRecordFormats(t *testing.T) {
	tests := []struct {
		name      string
		key       recordKey
		value     any
		wantKey   string
		wantValue string
	}{
		{"schema", schemaKey("s", 2), &schemaValue{Subject: "s", Version: 2, ID: 5, Schema: `"string"`},
			`{"keytype":"SCHEMA","subject":"s","version":2,"magic":1}`,
			`{"subject":"s","version":2,"id":5,"schema":"\"string\"","deleted":false}`},
		{"json schema with references", schemaKey("s", 1), &schemaValue{Subject: "s", Version: 1, ID: 1, SchemaType: TypeJSON,
			References: []Reference{{Name: "r", Subject: "o", Version: 3}}, Schema: `{}`, Deleted: true},
			`{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`,
			`{"subject":"s","version":1,"id":1,"schemaType":"JSON","references":[{"name":"r","subject":"o","version":3}],"schema":"{}","deleted":true}`},
		{"schema with metadata and rules", schemaKey("s", 1), &schemaValue{Subject: "s", Version: 1, ID: 2, SchemaType: TypeJSON,
			contract: contract{Metadata: &Metadata{Tags: map[string][]string{"$.ssn": {"PII"}}, Properties: map[string]string{"owner": "a"}, Sensitive: []string{"k"}},
				RuleSet: &RuleSet{DomainRules: []Rule{{Name: "r", Kind: KindCondition, Mode: ModeWrite, Type: "CEL", Expr: "message.ssn != ''",
					Params: map[string]string{"p": "v"}, OnFailure: "DLQ"}}}},
			Schema: `{}`},
			`{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`,
			`{"subject":"s","version":1,"id":2,"schemaType":"JSON","metadata":{"tags":{"$.ssn":["PII"]},"properties":{"owner":"a"},"sensitive":["k"]},` +
				`"ruleSet":{"domainRules":[{"name":"r","kind":"CONDITION","mode":"WRITE","type":"CEL","params":{"p":"v"},"expr":"message.ssn != ''","onFailure":"DLQ","disabled":false}]},` +
				`"schema":"{}","deleted":false}`},
		{"config with contract defaults", scopeKey(keyConfig, "s"), &configValue{CompatibilityLevel: LevelBackward, CompatibilityGroup: "major",
			DefaultMetadata: &Metadata{Properties: map[string]string{"owner": "a"}}, OverrideRuleSet: &RuleSet{MigrationRules: []Rule{{Name: "m", Kind: KindTransform,
				Mode: ModeUpgrade, Type: "JSONATA", Expr: "$"}}}},
			`{"keytype":"CONFIG","subject":"s","magic":0}`,
			`{"compatibilityLevel":"BACKWARD","compatibilityGroup":"major","defaultMetadata":{"properties":{"owner":"a"}},` +
				`"overrideRuleSet":{"migrationRules":[{"name":"m","kind":"TRANSFORM","mode":"UPGRADE","type":"JSONATA","expr":"$","disabled":false}]}}`},
		{"global config", scopeKey(keyConfig, ""), &configValue{CompatibilityLevel: LevelFull},
			`{"keytype":"CONFIG","subject":null,"magic":0}`, `{"compatibilityLevel":"FULL"}`},
		{"subject mode", scopeKey(keyMode, "s"), &modeValue{Mode: ModeReadOnly},
			`{"keytype":"MODE","subject":"s","magic":0}`, `{"mode":"READONLY"}`},
		{"delete subject", scopeKey(keyDeleteSubject, "s"), &deleteSubjectValue{Subject: "s", Version: 3},
			`{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}`, `{"subject":"s","version":3}`},
		{"tombstone", schemaKey("s", 1), nil, `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, v, err := encodeRecord(tt.key, tt.value)
			require.NoError(t, err)
			assert.Equal(t, tt.wantKey, string(k))
			assert.Equal(t, tt.wantValue, string(v))
		})
	}
}

// TestStateAppliesConfluentRecords applies records as Confluent and
// Karapace write them, including CLEAR_SUBJECT and an undecodable one.
func TestStateAppliesConfluentRecords(t *testing.T) {
	st := newState(discardLogger())
	st.apply([]byte(`{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`),
		[]byte(`{"subject":"s","version":1,"id":7,"schema":"\"int\"","deleted":false}`))
	st.apply([]byte(`{"keytype":"SCHEMA","subject":"s","version":2,"magic":1}`),
		[]byte(`{"subject":"s","version":2,"id":8,"schemaType":"JSON","schema":"{}","deleted":false}`))
	st.apply([]byte(`not json`), []byte(`x`))
	st.apply([]byte(`{"keytype":"NOOP","magic":0}`), nil)
	require.Len(t, st.versions("s", false), 2)
	assert.Equal(t, TypeJSON, st.versions("s", false)[1].Type)
	assert.Equal(t, 8, st.maxID)

	st.apply([]byte(`{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}`), []byte(`{"subject":"s","version":1}`))
	assert.Len(t, st.versions("s", false), 1)
	assert.Len(t, st.versions("s", true), 2)

	st.apply([]byte(`{"keytype":"CLEAR_SUBJECT","subject":"s","magic":0}`), []byte(`{"subject":"s","version":1}`))
	assert.Len(t, st.versions("s", true), 1)
	_, ok := st.byID(7)
	assert.False(t, ok)

	st.apply([]byte(`{"keytype":"CONFIG","subject":null,"magic":0}`), []byte(`{"compatibilityLevel":"NONE"}`))
	c, _ := st.configFor("s", true)
	assert.Equal(t, LevelNone, c.CompatibilityLevel)
	st.apply([]byte(`{"keytype":"CONFIG","subject":null,"magic":0}`), nil)
	c, _ = st.configFor("s", true)
	assert.Equal(t, LevelBackward, c.CompatibilityLevel)
}

// TestStateAppliesConfluentContractRecords applies SCHEMA and CONFIG
// records as Confluent writes them with data contracts (an md5, unsorted
// sets, a config without a level): the contract is kept, normalized, and
// is part of the schema's identity.
func TestStateAppliesConfluentContractRecords(t *testing.T) {
	st := newState(discardLogger())
	st.apply([]byte(`{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}`),
		[]byte(`{"subject":"s","version":1,"id":3,"md5":"8b0H1Ez1a0yGrVOWG6Cs7w==","schemaType":"AVRO",`+
			`"metadata":{"tags":{"User.name":["PII","NAME"]},"properties":{"owner":"a"},"sensitive":["z","a"]},`+
			`"ruleSet":{"domainRules":[{"name":"r","kind":"CONDITION","mode":"WRITE","type":"CEL","tags":["b","a"],"expr":"true","disabled":false}]},`+
			`"schema":"\"int\"","deleted":false,"ts":1700000000000}`))
	st.apply([]byte(`{"keytype":"CONFIG","subject":"s","magic":0}`),
		[]byte(`{"subject":"s","compatibilityGroup":"owner","defaultMetadata":{"properties":{"x":"y"}}}`))
	vs := st.versions("s", false)
	require.Len(t, vs, 1)
	v := vs[0]
	assert.Equal(t, []string{"NAME", "PII"}, v.Metadata.Tags["User.name"])
	assert.Equal(t, []string{"a", "z"}, v.Metadata.Sensitive)
	assert.Equal(t, []string{"a", "b"}, v.RuleSet.DomainRules[0].Tags)
	assert.Equal(t, digestOf(TypeAvro, `"int"`, nil, v.contract), v.digest)
	assert.NotEqual(t, digestOf(TypeAvro, `"int"`, nil, contract{}), v.digest, "the contract is part of the identity")
	e, ok := st.byID(3)
	require.True(t, ok)
	assert.Equal(t, "a", e.Metadata.Properties["owner"])

	cfg, ok := st.configFor("s", true)
	require.True(t, ok)
	assert.Equal(t, LevelBackward, cfg.CompatibilityLevel, "a config without a level falls back")
	assert.Equal(t, "owner", cfg.CompatibilityGroup)
	assert.Equal(t, "y", cfg.DefaultMetadata.Properties["x"])
}
