package httpsink

import (
	"context"
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBatchShapes checks the bodies both front-ends send, by default and
// with each batching key.
func TestBatchShapes(t *testing.T) {
	obj := map[string]any{"a": int64(1), "b": "x"}
	cases := []struct {
		name   string
		class  string
		config map[string]string
		values []any
		bodies []string
		ctype  string // Content-Type expected on every request
	}{
		{"confluent defaults: one record per request, as a JSON array", Class, nil,
			[]any{"a", "b"}, []string{"[a]", "[b]"}, ""},
		{"confluent json array", ConfluentClass, map[string]string{"request.body.format": "json", "batch.max.size": "3"},
			[]any{"a", obj, int64(7)}, []string{`["a",{"a":1,"b":"x"},7]`}, "application/json"},
		{"confluent prefix/separator/suffix", Class, map[string]string{"batch.json.as.array": "false", "batch.max.size": "2",
			"batch.prefix": "<", "batch.separator": ";", "batch.suffix": ">"},
			[]any{"a", "b", "c"}, []string{"<a;b>", "<c>"}, ""},
		{"confluent old misspelled separator", Class, map[string]string{"batch.json.as.array": "false", "batch.max.size": "5", "batch.seperator": "|"},
			[]any{"a", "b"}, []string{"a|b"}, ""},
		{"confluent regex rewrite", Class, map[string]string{"batch.max.size": "5", "regex.patterns": "secret=\\w+~x", "regex.replacements": "secret=***~${topic}"},
			[]any{"x secret=abc"}, []string{"[logs secret=***]"}, ""},
		{"aiven defaults: one POST per record, newline-terminated, no Content-Type", AivenClass, map[string]string{},
			[]any{"a", obj}, []string{"a\n", "{\"a\":1,\"b\":\"x\"}\n"}, ""},
		{"aiven batching: NDJSON with a trailing newline", AivenClass, map[string]string{"batching.enabled": "true"},
			[]any{"a", "b", obj}, []string{"a\nb\n{\"a\":1,\"b\":\"x\"}\n"}, ""},
		{"aiven batch texts with escapes and a content type", AivenClass, map[string]string{"batching.enabled": "true", "batch.max.size": "2",
			"batch.prefix": "[", "batch.separator": ",\\n", "batch.suffix": "]", "http.headers.content.type": "application/json"},
			[]any{"1", "2", "3"}, []string{"[1,\n2]", "[3]"}, "application/json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := startEndpoint(t)
			config := map[string]string{"connector.class": c.class}
			if c.class == AivenClass {
				config["http.url"] = e.URL + "/in"
				config["http.authorization.type"] = "none"
			} else {
				config["http.api.url"] = e.URL + "/in"
			}
			for k, v := range c.config {
				config[k] = v
			}
			task, _ := startTask(t, config)
			off, err := putFlush(t, task, recs("logs", c.values...))
			require.NoError(t, err)
			assert.Equal(t, int64(len(c.values)), off[connect.TopicPartition{Topic: "logs"}])
			assert.Equal(t, c.bodies, e.bodies())
			for _, r := range e.requests() {
				assert.Equal(t, http.MethodPost, r.Method)
				assert.Equal(t, c.ctype, r.Header.Get("Content-Type"))
			}
		})
	}
}

// TestBatchByBytes sends a batch once batch.max.bytes is reached.
func TestBatchByBytes(t *testing.T) {
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "batch.max.size": "100", "batch.max.bytes": "8",
		"batch.json.as.array": "false", "batch.separator": ","})
	require.NoError(t, task.Put(context.Background(), recs("t", "aaa", "bbb", "ccc")))
	assert.Equal(t, []string{"aaa,bbb"}, e.bodies(), "the second record reached 8 bytes (with separators): sent in Put")
	_, err := task.Flush(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"aaa,bbb", "ccc"}, e.bodies())
}

// TestTemplating fills ${topic} and ${key} in the URL, escaped, and
// batches only records with the same batch key and Kafka headers.
func TestTemplating(t *testing.T) {
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{
		"http.api.url": e.URL + "/t/${topic}/k/${key}?id=${key}", "batch.max.size": "10",
		"request.method": "PUT", "headers": "X-A:1|X-B: two",
	})
	rs := recs("orders", "a", "b", "c")
	rs[0].Key, rs[1].Key, rs[2].Key = "a/b c?&", "a/b c?&", "k2"
	_, err := putFlush(t, task, rs)
	require.NoError(t, err)
	got := e.requests()
	require.Len(t, got, 2)
	assert.Equal(t, "/t/orders/k/a%2Fb%20c%3F%26", got[0].Path)
	assert.Equal(t, "id=a%2Fb%20c%3F%26", got[0].Query)
	assert.Equal(t, "[a,b]", got[0].Body)
	assert.Equal(t, "/t/orders/k/k2", got[1].Path)
	for _, r := range got {
		assert.Equal(t, http.MethodPut, r.Method)
		assert.Equal(t, "1", r.Header.Get("X-A"))
		assert.Equal(t, "two", r.Header.Get("X-B"))
	}
}

// TestBatchKeyAndHeaders keeps records with different batch.key.pattern
// values or different Kafka header values in different requests.
func TestBatchKeyAndHeaders(t *testing.T) {
	e := startEndpoint(t)
	task, _ := startTask(t, map[string]string{"http.api.url": e.URL, "batch.max.size": "10", "batch.key.pattern": "${key}"})
	rs := recs("t", "1", "2", "3", "4")
	rs[0].Key, rs[1].Key, rs[2].Key, rs[3].Key = "x", "y", "x", "x"
	rs[3].Headers = connect.Headers{{Key: "tenant", Value: "blue"}}
	_, err := putFlush(t, task, rs)
	require.NoError(t, err)
	assert.Equal(t, []string{"[1,3]", "[2]", "[4]"}, e.bodies())
}
