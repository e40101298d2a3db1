package worker_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/worker"
)

// TestDataContractEnforcedOnSource: a source task whose records do not
// fit the subject's registered schema under its compatibility level fails,
// and the trace names the subject, the level and the incompatibility.
func TestDataContractEnforcedOnSource(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	url := registrytest.Start(t, b.Addr)
	resp, err := http.Post(url+"/subjects/contract-value/versions", "application/vnd.schemaregistry.v1+json",
		strings.NewReader(`{"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	w := startWorker(t, b, nil, nil)
	in := filepath.Join(t.TempDir(), "in.txt")
	writeLines(t, in, 0, 3)
	_, err = w.CreateConnector(context.Background(), "src", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "contract",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": url,
	}, "")
	require.NoError(t, err)
	st := waitState(t, w.Herder, "src", 1, worker.StateFailed)
	trace := st.Tasks[0].Trace
	assert.Contains(t, trace, "contract-value")
	assert.Contains(t, trace, "BACKWARD")
	assert.Contains(t, trace, "VALUE_CONVERTER")

	// The same connector with a compatible subject runs, and its records
	// are in the Confluent wire format.
	_, err = w.CreateConnector(context.Background(), "ok", map[string]string{
		"connector.class": "FileStreamSource", "file": in, "topic": "fine",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": url,
	}, "")
	require.NoError(t, err)
	recs := collect(t, b.Addr, "fine", 3)
	require.GreaterOrEqual(t, len(recs[0].Value), 5)
	assert.Equal(t, byte(0), recs[0].Value[0], "magic byte")
}
