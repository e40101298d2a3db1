package httpsink

import (
	"context"
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTombstones applies behavior.on.null.values; Aiven's sink fails with
// a hint.
func TestTombstones(t *testing.T) {
	t.Run("ignore", func(t *testing.T) {
		e := startEndpoint(t)
		task, ctx := startTask(t, map[string]string{"http.api.url": e.URL})
		off, err := putFlush(t, task, recs("t", "a", nil))
		require.NoError(t, err)
		assert.Equal(t, int64(2), off[connect.TopicPartition{Topic: "t"}])
		assert.Equal(t, []string{"[a]"}, e.bodies())
		assert.Empty(t, ctx.ReportedRecords())
	})
	t.Run("delete", func(t *testing.T) {
		e := startEndpoint(t)
		task, _ := startTask(t, map[string]string{"http.api.url": e.URL + "/items/${key}", "behavior.on.null.values": "delete", "batch.max.size": "5"})
		rs := recs("t", "a", nil)
		rs[0].Key, rs[1].Key = "k1", "k 2"
		_, err := putFlush(t, task, rs)
		require.NoError(t, err)
		got := e.requests()
		require.Len(t, got, 2)
		assert.Equal(t, http.MethodDelete, got[0].Method, "a DELETE goes at once, before the batch")
		assert.Equal(t, "/items/k%202", got[0].Path)
		assert.Empty(t, got[0].Body)
		assert.Equal(t, http.MethodPost, got[1].Method)
	})
	t.Run("delete in order", func(t *testing.T) {
		e := startEndpoint(t)
		task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "behavior.on.null.values": "delete", "deletes.send.in.order": "true", "batch.max.size": "5"})
		_, err := putFlush(t, task, recs("t", "a", nil))
		require.NoError(t, err)
		got := e.requests()
		require.Len(t, got, 2)
		assert.Equal(t, http.MethodPost, got[0].Method)
		assert.Equal(t, http.MethodDelete, got[1].Method)
	})
	t.Run("fail", func(t *testing.T) {
		e := startEndpoint(t)
		task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "behavior.on.null.values": "fail"})
		err := task.Put(context.Background(), recs("t", nil))
		require.Error(t, err)
		assert.ErrorIs(t, err, connect.ErrData)
	})
	t.Run("aiven", func(t *testing.T) {
		e := startEndpoint(t)
		task, ctx := startTask(t, map[string]string{"connector.class": AivenClass, "http.url": e.URL, "http.authorization.type": "none"})
		err := task.Put(context.Background(), recs("t", nil))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "RecordIsTombstone")
		ctx.Tolerate = true
		require.NoError(t, task.Put(context.Background(), recs("t", nil)), "to the DLQ under errors.tolerance=all")
		assert.Len(t, ctx.ReportedRecords(), 2)
		assert.Empty(t, e.requests())
	})
}

// TestAivenRefusesBytes: Aiven's sink sends strings and JSON, not bytes.
func TestAivenRefusesBytes(t *testing.T) {
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{"connector.class": AivenClass, "http.url": e.URL, "http.authorization.type": "none"})
	err := task.Put(context.Background(), recs("t", []byte{1, 2}))
	require.ErrorIs(t, err, connect.ErrData)
	assert.Contains(t, err.Error(), "bytes")
}
