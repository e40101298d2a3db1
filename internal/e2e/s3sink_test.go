package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// s3Sink is `sluice up` with a versitygw bucket for the S3 sink to write
// to.
type s3Sink struct {
	srv    *testenv.S3
	bucket string
	args   []string
	log    *procLog
	p      *proc
	broker string
	base   string // the REST API
}

// startS3Sink starts versitygw with an empty bucket and `sluice up`.
func startS3Sink(t *testing.T) *s3Sink {
	t.Helper()
	e := &s3Sink{srv: testenv.StartS3(t), bucket: "lake", log: &procLog{}}
	e.srv.CreateBucket(t, e.bucket)
	dir := t.TempDir()
	restAddr := freeAddr(t)
	e.broker, e.base = freeAddr(t), "http://"+restAddr
	workerProps := filepath.Join(dir, "worker.properties")
	require.NoError(t, os.WriteFile(workerProps, []byte("offset.flush.interval.ms=500\n"), 0o644))
	dumpOnFailure(t, "sluice up", e.log)
	e.args = []string{"up", "--data-dir", filepath.Join(dir, "data"), "--broker-addr", e.broker, "--rest-addr", restAddr,
		"--registry-addr", freeAddr(t), "--worker-config", workerProps}
	e.p = startProcUntil(t, e.log, workerReady, e.args...)
	return e
}

// config is an S3 sink config writing schemaless JSON values of topic to
// the bucket.
func (e *s3Sink) config(topic string) map[string]string {
	return map[string]string{
		"connector.class": "io.confluent.connect.s3.S3SinkConnector",
		"topics":          topic,
		"storage.class":   "io.confluent.connect.s3.storage.S3Storage",
		"format.class":    "io.confluent.connect.s3.format.json.JsonFormat",
		"s3.bucket.name":  e.bucket, "s3.region": e.srv.Region, "store.url": e.srv.Endpoint,
		"aws.access.key.id": e.srv.AccessKey, "aws.secret.access.key": e.srv.SecretKey,
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		"key.converter": "org.apache.kafka.connect.storage.StringConverter",
	}
}

// createTopic creates topic with partitions partitions.
func (e *s3Sink) createTopic(t *testing.T, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	require.NoError(t, err)
}

// objects reads back every object under prefix.
func (e *s3Sink) objects(t *testing.T, prefix string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, k := range e.srv.List(t, e.bucket, prefix) {
		out[k] = e.srv.Get(t, e.bucket, k)
	}
	return out
}

// uploads returns the bucket's incomplete multipart uploads: key by
// upload id.
func (e *s3Sink) uploads(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, u := range e.srv.ListMultipartUploads(t, e.bucket) {
		out[*u.UploadId] = *u.Key
	}
	return out
}

// eosValue is the value of record i of partition p in the exactly-once
// test, with padding that makes a file of flush.size records larger than
// a part. Built by hand: the test runs with -race in CI, where
// encoding/json on 200k records takes seconds.
func eosValue(p int32, i int, pad string) []byte {
	b := make([]byte, 0, len(pad)+40)
	b = append(b, `{"p":`...)
	b = strconv.AppendInt(b, int64(p), 10)
	b = append(b, `,"i":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"pad":"`...)
	b = append(b, pad...)
	return append(b, `"}`...)
}

// checkEOSLine checks that line is the JSON sink's rendering of
// eosValue(p, i, pad): the same fields, in any order.
func checkEOSLine(line []byte, p int32, i int, pad string) error {
	if len(line) != len(eosValue(p, i, pad)) || line[0] != '{' || line[len(line)-1] != '}' ||
		!bytes.Contains(line, []byte(`"pad":"`+pad+`"`)) || !hasField(line, "p", int(p)) || !hasField(line, "i", i) {
		return fmt.Errorf("line %.60q… is not record %d of partition %d", line, i, p)
	}
	return nil
}

// hasField reports whether line, a JSON object, has the field name with
// the integer value v.
func hasField(line []byte, name string, v int) bool {
	f := strconv.AppendInt([]byte(`"`+name+`":`), int64(v), 10)
	at := bytes.Index(line, f)
	return at >= 0 && at+len(f) < len(line) && (line[at+len(f)] == ',' || line[at+len(f)] == '}')
}

// TestS3SinkExactlyOnceUnderSIGKILL is issue 17's proof: 200k records
// across 4 partitions go through the S3 sink of `sluice up` into
// versitygw, in files larger than s3.part.size (so each is a multipart
// upload), while the process is SIGKILLed several times with a multipart
// upload in flight and restarted. Afterwards the bucket holds exactly the
// objects a clean run writes (files start at offsets 0, F, 2F, … of every
// partition), each holding its records in offset order, so every record
// is in exactly one object; no incomplete multipart upload is left (the
// restarted task aborts those of the killed one when it is given the
// partitions); and the group's offsets are at the end of every partition.
func TestS3SinkExactlyOnceUnderSIGKILL(t *testing.T) {
	const (
		topic      = "eos"
		partitions = 4
		perPart    = 50_000
		flushSize  = 5_000
		padding    = 1_100 // 5,000 lines of ~1,130 bytes: 5.6 MB, two 5 MiB parts
		kills      = 3
	)
	pad := strings.Repeat("x", padding)
	require.NoError(t, checkEOSLine([]byte(`{"pad":"`+pad+`","i":50,"p":1}`), 1, 50, pad))
	require.Error(t, checkEOSLine(eosValue(1, 50, pad), 1, 5, pad))
	require.Error(t, checkEOSLine(eosValue(1, 50, pad), 2, 50, pad))
	e := startS3Sink(t)
	e.createTopic(t, topic, partitions)

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(5*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	began := time.Now()
	batch := make([]*kgo.Record, 0, 2000)
	for i := range perPart {
		for p := range int32(partitions) {
			batch = append(batch, &kgo.Record{Topic: topic, Partition: p, Value: eosValue(p, i, pad)})
		}
		if len(batch) == cap(batch) || i == perPart-1 {
			require.NoError(t, cl.ProduceSync(ctx, batch...).FirstErr())
			batch = batch[:0]
		}
	}
	t.Logf("produced %d records in %s", partitions*perPart, time.Since(began).Round(time.Millisecond))

	cfg := e.config(topic)
	cfg["flush.size"] = fmt.Sprint(flushSize)
	cfg["s3.part.size"] = fmt.Sprint(5 << 20)
	var resp map[string]any
	require.Equal(t, 201, rest(t, "POST", e.base+"/connectors", map[string]any{"name": "lake", "config": cfg}, &resp), "%v", resp)

	// Each kill waits for more objects than the last, so the run makes
	// progress between kills, and for a multipart upload of the running
	// process in flight. The uploads a kill leaves are gone by the next
	// kill: the restarted task aborted them when it got the partitions.
	prefix := "topics/" + topic + "/"
	left := map[string]string{} // upload id → key, left by the last kill
	leftBehind := 0
	for k := range kills {
		objects := (k + 1) * partitions * perPart / flushSize / (kills + 1)
		require.Eventually(t, func() bool {
			if len(e.srv.List(t, e.bucket, prefix)) < objects {
				return false
			}
			for id := range e.uploads(t) {
				if _, old := left[id]; !old {
					return true
				}
			}
			return false
		}, 2*time.Minute, 3*time.Millisecond, "kill %d: %d objects and a multipart upload in flight", k+1, objects)
		for id, key := range e.uploads(t) {
			_, old := left[id]
			assert.False(t, old, "kill %d: upload %s of %s left by the previous kill was not aborted", k+1, id, key)
		}
		e.p.kill()
		left = e.uploads(t)
		leftBehind += len(left)
		t.Logf("kill %d at %d objects, %d incomplete multipart uploads left: %v", k+1, len(e.srv.List(t, e.bucket, prefix)), len(left), slices.Collect(maps.Values(left)))
		e.p = startProcUntil(t, e.log, workerReady, e.args...)
	}
	assert.Positive(t, leftBehind, "no kill left a multipart upload behind: the test proves nothing about cleanup")

	var want []string
	for p := range partitions {
		for start := 0; start < perPart; start += flushSize {
			want = append(want, fmt.Sprintf("%spartition=%d/%s+%d+%010d.json", prefix, p, topic, p, start))
		}
	}
	slices.Sort(want)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if slices.Equal(want, e.srv.List(t, e.bucket, prefix)) && len(e.uploads(t)) == 0 {
			break
		}
	}
	require.Equal(t, want, e.srv.List(t, e.bucket, prefix), "the objects of a clean run")
	require.Empty(t, e.uploads(t), "incomplete multipart uploads")

	// Every object holds exactly its records, in offset order.
	seen := 0
	for key, body := range e.objects(t, prefix) {
		var p, start int
		_, err := fmt.Sscanf(key[strings.LastIndex(key, "/")+1:], topic+"+%d+%d.json", &p, &start)
		require.NoError(t, err, key)
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 1<<20)
		i := start
		for sc.Scan() {
			require.NoError(t, checkEOSLine(sc.Bytes(), int32(p), i, pad), "%s line %d", key, i-start)
			i++
		}
		require.NoError(t, sc.Err())
		require.Equal(t, start+flushSize, i, "%s: records", key)
		seen += i - start
	}
	assert.Equal(t, partitions*perPart, seen)

	// The group committed the end of every partition, and nothing is
	// left to upload after the last commit.
	adm := kadm.NewClient(cl)
	require.Eventually(t, func() bool {
		offs, err := adm.FetchOffsets(ctx, "connect-lake")
		if err != nil {
			return false
		}
		for p := range int32(partitions) {
			o, ok := offs.Lookup(topic, p)
			if !ok || o.At != perPart {
				return false
			}
		}
		return true
	}, time.Minute, 100*time.Millisecond, "committed offsets at the end of every partition")
	assert.Empty(t, e.uploads(t))
	t.Logf("%d records in %d objects, each once, after %d kills in %s", seen, len(want), kills, time.Since(began).Round(time.Millisecond))
}

// validateAnswer is the part of a /config/validate answer the tests read.
type validateAnswer struct {
	ErrorCount int `json:"error_count"`
	Configs    []struct {
		Value struct {
			Name   string
			Errors []string
		}
	}
}

// errorsByKey returns the keys with errors and their messages.
func (a validateAnswer) errorsByKey() map[string]string {
	out := map[string]string{}
	for _, c := range a.Configs {
		if len(c.Value.Errors) > 0 {
			out[c.Value.Name] = strings.Join(c.Value.Errors, "; ")
		}
	}
	return out
}

// TestS3SinkBadInput: through the REST API of `sluice up`, validating a
// config puts a missing bucket, wrong credentials, a wrong region and an
// unreachable endpoint each on the key to fix; a connector created with a
// missing bucket has a FAILED task whose trace says so; and records
// without the field the FieldPartitioner needs go to the dead letter queue
// with the error headers while the others are written.
func TestS3SinkBadInput(t *testing.T) {
	e := startS3Sink(t)
	class := "io.confluent.connect.s3.S3SinkConnector"
	good := e.config("orders")
	good["flush.size"] = "3"
	validate := func(set map[string]string) validateAnswer {
		cfg := withKeys(good, set)
		cfg["name"] = "check"
		var a validateAnswer
		require.Equal(t, 200, rest(t, "PUT", e.base+"/connector-plugins/"+url.PathEscape(class)+"/config/validate", cfg, &a))
		return a
	}
	assert.Empty(t, validate(nil).errorsByKey())
	for name, tc := range map[string]struct {
		set      map[string]string
		key      string
		contains string
	}{
		"missing bucket": {map[string]string{"s3.bucket.name": "absent"}, "s3.bucket.name", `S3 bucket "absent" does not exist`},
		"unknown key id": {map[string]string{"aws.access.key.id": "nobody"}, "aws.access.key.id", "access key id is unknown"},
		"wrong secret":   {map[string]string{"aws.secret.access.key": "wrong"}, "aws.secret.access.key", "secret access key does not match"},
		"wrong region":   {map[string]string{"s3.region": "eu-central-1"}, "s3.region", "not in region eu-central-1"},
		"unreachable":    {map[string]string{"store.url": testenv.ClosedEndpoint(t)}, "store.url", "S3 endpoint unreachable"},
	} {
		a := validate(tc.set)
		got := a.errorsByKey()
		assert.Equal(t, 1, a.ErrorCount, "%s: %v", name, got)
		assert.Contains(t, got[tc.key], tc.contains, "%s: %v", name, got)
	}

	// Creating a connector on a missing bucket is refused, naming the key.
	var resp map[string]any
	require.Equal(t, 400, rest(t, "POST", e.base+"/connectors", map[string]any{"name": "absent",
		"config": withKeys(good, map[string]string{"s3.bucket.name": "absent"})}, &resp), "%v", resp)
	assert.Contains(t, resp["message"], `S3 bucket "absent" does not exist (s3.bucket.name)`)

	// A task restarted after its bucket went away fails saying so.
	e.srv.CreateBucket(t, "brief")
	require.Equal(t, 201, rest(t, "POST", e.base+"/connectors", map[string]any{"name": "brief",
		"config": withKeys(good, map[string]string{"s3.bucket.name": "brief", "topics": "quiet"})}, &resp), "%v", resp)
	waitRunning(t, e.base, "brief", 1)
	_, err := e.srv.Client(t).DeleteBucket(context.Background(), &s3.DeleteBucketInput{Bucket: aws.String("brief")})
	require.NoError(t, err)
	require.Equal(t, 204, rest(t, "POST", e.base+"/connectors/brief/tasks/0/restart", nil, nil))
	var st connectorStatus
	require.Eventually(t, func() bool {
		st = connectorStatus{}
		return rest(t, "GET", e.base+"/connectors/brief/status", nil, &st) == 200 && len(st.Tasks) == 1 && st.Tasks[0].State == "FAILED"
	}, 30*time.Second, 50*time.Millisecond, "the task on a deleted bucket fails")
	assert.Contains(t, st.Tasks[0].Trace, `S3 bucket "brief" does not exist (s3.bucket.name)`)

	// Records without the partition field go to the dead letter queue.
	e.createTopic(t, "orders", 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker), kgo.DefaultProduceTopic("orders"))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	values := []string{`{"id":0,"region":"eu"}`, `{"id":1,"region":"us"}`, `{"id":2}`, `{"id":3,"region":"eu"}`,
		`{"id":4,"region":"eu"}`, `{"id":5,"zone":"eu"}`, `{"id":6,"region":"us"}`, `{"id":7}`, `{"id":8,"region":"eu"}`}
	for _, v := range values {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr())
	}
	cfg := withKeys(good, map[string]string{
		"partitioner.class":    "io.confluent.connect.storage.partitioner.FieldPartitioner",
		"partition.field.name": "region",
		"errors.tolerance":     "all", "errors.deadletterqueue.topic.name": "orders-dlq",
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true",
	})
	require.Equal(t, 201, rest(t, "POST", e.base+"/connectors", map[string]any{"name": "orders", "config": cfg}, &resp), "%v", resp)

	// Written records count toward flush.size, reported ones do not: the
	// files rotate after records 0, 1, 3 and after 4, 6, 8.
	want := map[string]string{
		"topics/orders/region=eu/orders+0+0000000000.json": `{"id":0,"region":"eu"}` + "\n" + `{"id":3,"region":"eu"}` + "\n",
		"topics/orders/region=us/orders+0+0000000001.json": `{"id":1,"region":"us"}` + "\n",
		"topics/orders/region=eu/orders+0+0000000004.json": `{"id":4,"region":"eu"}` + "\n" + `{"id":8,"region":"eu"}` + "\n",
		"topics/orders/region=us/orders+0+0000000006.json": `{"id":6,"region":"us"}` + "\n",
	}
	got := map[string]string{}
	require.Eventually(t, func() bool {
		got = map[string]string{}
		for k, v := range e.objects(t, "topics/orders/") {
			got[k] = string(v)
		}
		return len(got) >= len(want)
	}, 30*time.Second, 50*time.Millisecond, "files written")
	assert.Equal(t, want, got)

	dlq, err := kgo.NewClient(kgo.SeedBrokers(e.broker), kgo.ConsumeTopics("orders-dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer dlq.Close()
	var dead []*kgo.Record
	for len(dead) < 3 && ctx.Err() == nil {
		dead = append(dead, dlq.PollFetches(ctx).Records()...)
	}
	require.Len(t, dead, 3)
	for i, off := range []int{2, 5, 7} {
		r := dead[i]
		assert.Equal(t, values[off], string(r.Value))
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		assert.Equal(t, "orders", h["__connect.errors.topic"])
		assert.Equal(t, "0", h["__connect.errors.partition"])
		assert.Equal(t, fmt.Sprint(off), h["__connect.errors.offset"])
		assert.Equal(t, "orders", h["__connect.errors.connector.name"])
		assert.Equal(t, "TASK_PUT", h["__connect.errors.stage"])
		assert.Contains(t, h["__connect.errors.exception.message"], `the record value has no field "region" (partition.field.name)`)
		assert.Contains(t, h["__connect.errors.exception.message"], fmt.Sprintf("orders-0@%d", off))
	}
	waitRunning(t, e.base, "orders", 1)
}

// withKeys returns base with set applied.
func withKeys(base, set map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(set))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	return out
}
