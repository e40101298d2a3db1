package httpsource

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
)

// TestEventOverMaxEventBytes: an event whose record would exceed
// max.event.bytes is refused with a 413 naming the key before the
// producer sees it — the broker's MESSAGE_TOO_LARGE would fail the task,
// and a shipper's retries would fail it again — and nothing of its
// request is written; the task keeps serving.
func TestEventOverMaxEventBytes(t *testing.T) {
	w, url, name, topic := startConnector(t, map[string]string{"max.request.bytes": "4194304", "request.timeout.ms": "2000"})
	body := `{"log":"small"}` + "\n" + `{"log":"` + strings.Repeat("x", 1_500_000) + `"}` + "\n"
	status, answer, _ := post(t, url+"/", []byte(body))
	assert.Equal(t, 413, status, answer)
	assert.Contains(t, answer, "event 2")
	assert.Contains(t, answer, "max.event.bytes (1000000 bytes)")

	status, answer, _ = post(t, url+"/", []byte(`{"log":"after"}`))
	require.Equal(t, 200, status, answer)
	recs := connecttest.ConsumeAll(t, w.Broker, topic)
	require.Len(t, recs, 1, "only the later request's event")
	w.WaitState(name, 1, "RUNNING")
}
