package httpsource

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/convert"
)

// rawLines are NDJSON lines of every shape the fast path and the
// decoding path take.
var rawLines = []string{
	`{"log":"plain","id":1}`,
	`{"id":2,"log":"members out of HashMap order"}`,
	`{ "id" : 3 , "log" : "spaces" }`,
	`{"id":4,"log":"escapes \/ \u00e9 \u0001 \t \" \\ é ✓ 𝄞","nested":{"z":[1,2.50,-0,1e3],"a":null,"b":true}}`,
	`{"id":5,"date":1714979289.25,"big":123456789012345678901234,"f":0.1}`,
	`{"id":6,"id":7,"log":"a name twice: the last wins"}`,
	`[1,2,3]`,
	`"a plain string"`,
	`{"id":"8","k\u0065y":"an escaped name"}`,
}

// TestRawJSONRecordsAreTheConvertersBytes: whatever the line, the record
// in the topic is byte for byte what the JsonConverter writes for the
// decoded line (the path every line took before objects travelled as
// connect.RawJSON), key and timestamp included, with and without
// schemas.enable.
func TestRawJSONRecordsAreTheConvertersBytes(t *testing.T) {
	for _, schemas := range []string{"false", "true"} {
		t.Run("schemas.enable="+schemas, func(t *testing.T) {
			w, url, _, topic := startConnector(t, map[string]string{
				"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": schemas,
				"key.field": "id", "json.timestamp.field": "date",
			})
			status, answer, _ := post(t, url+"/", []byte(strings.Join(rawLines, "\n")+"\n"))
			require.Equal(t, 200, status, answer)
			conv := convert.NewJSONConverter()
			require.NoError(t, conv.Configure(map[string]string{"schemas.enable": schemas}, false))
			recs := connecttest.ConsumeAll(t, w.Broker, topic)
			require.Len(t, recs, len(rawLines))
			for i, line := range rawLines {
				_, v, err := kafkaJSON.ToConnect("", nil, []byte(line))
				require.NoError(t, err)
				want, err := conv.FromConnect(topic, nil, nil, normalize(v))
				require.NoError(t, err)
				assert.Equal(t, string(want), string(recs[i].Value), "line %d: %s", i+1, line)
			}
			assert.Contains(t, string(recs[1].Key), "2", "the key field of an object kept as JSON text")
			assert.Equal(t, int64(1714979289250), recs[4].Timestamp.UnixMilli(), "the time field of an object kept as JSON text")
		})
	}
}

// TestRawJSONWithMetadataInTheValue: metadata.location=value adds the
// metadata object to an object kept as JSON text too.
func TestRawJSONWithMetadataInTheValue(t *testing.T) {
	w, url, _, topic := startConnector(t, map[string]string{"metadata.location": "value",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false"})
	status, answer, _ := post(t, url+"/", []byte(`{"log":"x","id":1}`+"\n"+`{"log":"y","id":2}`))
	require.Equal(t, 200, status, answer)
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 2)
	assert.JSONEq(t, `{"log":"y","id":2,"@metadata":{"protocol":"json"}}`, string(recs[1].Value))
}
