package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/internal/testenv/registrytest"
	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert/schemaconv"
	"github.com/sluicehq/sluice/runtime/worker"
)

// registryCall sends a JSON body to the schema registry and fails the test
// on a status other than 200.
func registryCall(t *testing.T, method, url string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var msg map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&msg)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %v", method, url, msg)
}

// TestDataContractRulesThroughWorker: a data steward puts a contract on the
// users-value subject (a CEL condition on seq, the PII userid masked); a
// datagen source writing with the AvroConverter auto-registers its schema,
// which inherits the contract. Records breaking the condition go to the
// dead letter queue with the rule named in the error headers; the others
// reach the topic with userid masked.
func TestDataContractRulesThroughWorker(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	url := registrytest.Start(t, b.Addr)
	putUsersContract(t, url)

	w := startWorker(t, b, nil, nil)
	_, err := w.CreateConnector(context.Background(), "gen", map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": "users", "quickstart": "users",
		"max.interval": "0", "iterations": "9", "random.seed": "7",
		"key.converter":                                 "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":                               "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url":           url,
		"errors.tolerance":                              "all",
		"errors.deadletterqueue.topic.name":             "users-dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	}, "")
	require.NoError(t, err)

	dlq := collect(t, b.Addr, "users-dlq", 3)
	for _, r := range dlq {
		h := headerMap(r)
		assert.Equal(t, "VALUE_CONVERTER", h["__connect.errors.stage"])
		assert.Equal(t, "io.confluent.connect.avro.AvroConverter", h["__connect.errors.class.name"])
		assert.Equal(t, "org.apache.kafka.connect.errors.DataException", h["__connect.errors.exception.class.name"])
		assert.Contains(t, h["__connect.errors.exception.message"], "seqNotMultipleOf3")
		assert.Contains(t, h["__connect.errors.exception.message"], "message.seq % 3 != 0")
		// Confluent's DLQ headers of a rule, with which a reader of the DLQ
		// skips the rule that sent the record there.
		assert.Equal(t, "seqNotMultipleOf3", h["__rule.name"])
		assert.Equal(t, "WRITE", h["__rule.mode"])
		assert.Equal(t, "users-value", h["__rule.subject"])
		assert.Equal(t, "users", h["__rule.topic"])
		assert.Contains(t, h["__rule.exception"], "seqNotMultipleOf3")
	}

	recs := collect(t, b.Addr, "users", 6)
	reader := schemaconv.NewAvroConverter()
	require.NoError(t, reader.Configure(map[string]string{schemaconv.RegistryURLConfig: url}, false))
	var seqs []int64
	for _, r := range recs {
		_, v, err := reader.ToConnect("users", nil, r.Value)
		require.NoError(t, err)
		st := v.(*connect.Struct)
		assert.Equal(t, "***", st.GetWithoutDefault("userid"), "masked before it was written")
		seqs = append(seqs, st.GetWithoutDefault("seq").(int64))
	}
	assert.ElementsMatch(t, []int64{1, 2, 4, 5, 7, 8}, seqs)
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, collect(t, b.Addr, "users-dlq", 3), 3, "no more records in the DLQ")
}

// putUsersContract puts the data contract on users-value: seq not a
// multiple of 3 (action DLQ), userid tagged PII and masked.
func putUsersContract(t *testing.T, url string) {
	t.Helper()
	registryCall(t, http.MethodPut, url+"/config/users-value", map[string]string{"compatibility": "NONE"})
	registryCall(t, http.MethodPost, url+"/subjects/users-value/versions", map[string]any{
		"schema":   `"string"`,
		"metadata": map[string]any{"tags": map[string][]string{"**.userid": {"PII"}}},
		"ruleSet": map[string]any{"domainRules": []map[string]any{
			{"name": "seqNotMultipleOf3", "kind": "CONDITION", "mode": "WRITE", "type": "CEL",
				"expr": "message.seq % 3 != 0", "onFailure": "DLQ"},
			{"name": "maskUser", "kind": "TRANSFORM", "mode": "WRITE", "type": "CEL_FIELD",
				"tags": []string{"PII"}, "expr": "'***'"},
		}},
	})
}

// Without errors.tolerance=all, a record breaking the condition fails the
// task, its trace naming the rule.
func TestDataContractRuleFailsTaskWithoutTolerance(t *testing.T) {
	b := testenv.StartBroker(t, nil)
	url := registrytest.Start(t, b.Addr)
	putUsersContract(t, url)
	w := startWorker(t, b, nil, nil)
	_, err := w.CreateConnector(context.Background(), "gen", map[string]string{
		"connector.class": "DatagenConnector", "kafka.topic": "users", "quickstart": "users",
		"max.interval": "0", "iterations": "3", "random.seed": "7",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": url,
	}, "")
	require.NoError(t, err)
	st := waitState(t, w.Herder, "gen", 1, worker.StateFailed)
	assert.Contains(t, st.Tasks[0].Trace, "seqNotMultipleOf3")
	assert.Contains(t, st.Tasks[0].Trace, "errors.deadletterqueue.topic.name", "the DLQ action says how to route it")
}
