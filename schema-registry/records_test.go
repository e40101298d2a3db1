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
