package httpsource

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHECVectorFixture plays Vector's splunk_hec_logs (testdata/
// hec-fixtures.md): health check, the batch with a channel, and the ack
// poll for the ackId it got — delivered once the poll says true. With
// acks off on the server no ackId comes back, which Vector counts as
// delivered on the 200.
func TestHECVectorFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/hec-vector.json")
	require.NoError(t, err)
	c := &captureEndpoint{token: "hec-token", settings: Settings{HECAck: true}}
	url := serveCapture(t, c, routesHEC)
	auth := []string{"Authorization", "Splunk hec-token", "X-Splunk-Request-Channel", testChannel}

	code, _, r := hecDo(t, "GET", url+"/services/collector/health/1.0", "")
	require.Equal(t, 200, code)
	require.Equal(t, 17, r.Code)

	code, _, r = hecDo(t, "POST", url+"/services/collector/event", string(body), auth...)
	require.Equal(t, 200, code, r.raw)
	require.Equal(t, 0, r.Code)
	require.NotNil(t, r.AckID, "acks on: an ackId to poll")
	_, _, resp := esDo(t, "POST", url+"/services/collector/ack", "application/json",
		fmt.Sprintf(`{"acks":[%d]}`, *r.AckID), auth...)
	assert.JSONEq(t, fmt.Sprintf(`{"acks":{"%d":true}}`, *r.AckID), resp)

	ev := c.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, "vector line 1", ev[0].Value)
	assert.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC), ev[0].Time)
	assert.Equal(t, []Field{{"host", "web-1"}, {"source", "/var/log/app.log"}, {"sourcetype", "app"}, {"index", "main"},
		{"fields.env", "prod"}, {"channel", testChannel}}, ev[0].Meta)
	assert.Equal(t, "warn", ev[1].Value.(map[string]any)["level"])

	c.settings.HECAck = false
	code, _, r = hecDo(t, "POST", url+"/services/collector/event", string(body), auth...)
	require.Equal(t, 200, code)
	assert.Nil(t, r.AckID, "acks off: no ackId, so Vector counts the 200 as delivered")
	assert.Len(t, c.Events(), 4)
}

// TestHECFluentBitFixture plays Fluent Bit's splunk output, which counts
// only exactly 200 as delivered.
func TestHECFluentBitFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/hec-fluentbit.json")
	require.NoError(t, err)
	c := &captureEndpoint{token: "hec-token"}
	url := serveCapture(t, c, routesHEC)
	code, _, r := hecDo(t, "POST", url+"/services/collector/event", string(body), "Authorization", "Splunk hec-token")
	require.Equal(t, 200, code, "exactly 200: Fluent Bit retries 201/204")
	assert.Equal(t, `{"text":"Success","code":0}`, r.raw)
	ev := c.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, "fluent bit line 1", ev[0].Value.(map[string]any)["log"])
	assert.Equal(t, time.Date(2024, 5, 1, 10, 0, 0, 123456e3, time.UTC), ev[0].Time)
	assert.Equal(t, time.Date(2024, 5, 1, 10, 0, 1, 5e8, time.UTC), ev[1].Time)
	cl, _ := ev[1].Get("fields.cluster")
	assert.Equal(t, "k1", cl)
}
