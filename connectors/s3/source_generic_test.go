package s3

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

func genericConfig(srv *srcServer) map[string]string {
	cfg := srv.config(ByteArrayFormatClass)
	cfg["mode"] = "GENERIC"
	cfg["topics.dir"] = "logs"
	cfg["topic.regex.list"] = `web:.*\.log,api:.*/api/.*`
	return cfg
}

func TestGenericLinesInKeyOrderResumeAndNewObjects(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "logs/b.log", []byte("b1\nb2\n"))
	srv.put(t, "logs/a.log", []byte("a1\na2\na3")) // no final newline
	srv.put(t, "logs/api/x.txt", []byte("x1\n"))
	srv.put(t, "logs/skip.bin", []byte("matches no pair\n"))
	srv.put(t, "other/c.log", []byte("outside the prefix\n"))
	cfg := genericConfig(srv)
	cfg["record.batch.max.size"] = "2"
	ctx := connecttest.NewSourceContext(t, cfg)
	task := srcStart(t, cfg, ctx)
	recs, err := task.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, []any{[]byte("a1"), []byte("a2")}, values(recs))
	assert.Equal(t, "web", recs[0].Topic)
	assert.Equal(t, connect.AnyPartition, recs[0].Partition)
	assert.Nil(t, recs[0].Key)
	assert.Equal(t, map[string]any{"folder": "logs"}, recs[1].SourcePartition)
	assert.Equal(t, map[string]any{"key": "logs/a.log", "position": int64(6)}, recs[1].SourceOffset)
	require.NoError(t, ctx.Commit(task, recs))
	require.NoError(t, task.Stop())

	// A restart reads on from byte 6 of a.log.
	restarted := ctx.Restarted()
	task = srcStart(t, cfg, restarted)
	got := pollN(t, task, restarted, 4)
	assert.Equal(t, []any{[]byte("a3"), []byte("x1"), []byte("b1"), []byte("b2")}, values(got))
	assert.Equal(t, []string{"web", "api", "web", "web"}, []string{got[0].Topic, got[1].Topic, got[2].Topic, got[3].Topic})
	assert.Equal(t, map[string]any{"key": "logs/a.log", "position": int64(8)}, got[0].SourceOffset)

	// A new object after the last key is picked up by polling.
	srv.put(t, "logs/c.log", []byte("c1\n"))
	got = pollN(t, task, restarted, 1)
	assert.Equal(t, []any{[]byte("c1")}, values(got))
}

func TestGenericPerObjectStringValuesAndObjectKeys(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "logs/a.log", gz(t, []byte("line 1\nline 2\n")))
	srv.put(t, "logs/b.log", gz(t, []byte("one")))
	cfg := genericConfig(srv)
	cfg["s3.compression.type"] = "gzip"
	cfg["topic.regex.list"] = `web:.*\.log`
	cfg["generic.record.per"] = "object"
	cfg["generic.record.key"] = "object.key"
	cfg["value.converter"] = "org.apache.kafka.connect.storage.StringConverter"
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 2)
	assert.Equal(t, []any{"line 1\nline 2\n", "one"}, values(recs))
	assert.Equal(t, "logs/a.log", recs[0].Key)
	assert.Equal(t, connect.OptionalStringSchema, recs[0].ValueSchema)
	assert.Equal(t, map[string]any{"key": "logs/b.log", "position": int64(3)}, recs[1].SourceOffset)
}

func TestGenericGzipResumeSkipsUncompressedBytes(t *testing.T) {
	srv := srcFake(t)
	srv.put(t, "logs/a.log", gz(t, []byte("1\n2\n3\n")))
	cfg := genericConfig(srv)
	cfg["s3.compression.type"] = "gzip"
	cfg["format.class"] = JSONFormatClass
	ctx := connecttest.NewSourceContext(t, cfg)
	require.NoError(t, ctx.Offsets.Put(map[string]any{"folder": "logs"}, map[string]any{"key": "logs/a.log", "position": int64(2)}))
	task := srcStart(t, cfg, ctx)
	recs := pollN(t, task, nil, 2)
	assert.Equal(t, []any{int64(2), int64(3)}, values(recs), "JSON lines as the JsonConverter reads them")
}

// TestSourceWrongCredentialsVersityGW: against a real S3 server, wrong
// keys fail the task's start and /config/validate naming the key.
func TestSourceWrongCredentialsVersityGW(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, srcBucket)
	cfg := map[string]string{
		"format.class": JSONFormatClass, "s3.bucket.name": srcBucket, "s3.region": srv.Region,
		"store.url": srv.Endpoint, "aws.access.key.id": srv.AccessKey, "aws.secret.access.key": "wrong-secret",
	}
	err := newSourceTask().Start(connecttest.NewSourceContext(t, cfg), cfg)
	assert.ErrorContains(t, err, "aws.secret.access.key")
	v := SourcePlugin.NewConnector().(connect.ConnectorValidator)
	got := srcErrors(v.Validate(context.Background(), cfg, SourcePlugin.Config.Validate(cfg)))
	assert.Contains(t, got["aws.secret.access.key"], "secret access key does not match")

	cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = "nobody", "x"
	got = srcErrors(v.Validate(context.Background(), cfg, SourcePlugin.Config.Validate(cfg)))
	assert.Contains(t, got["aws.access.key.id"], "access key id is unknown")

	// With the right keys, a restore reads what is there.
	cfg["aws.access.key.id"], cfg["aws.secret.access.key"] = srv.AccessKey, srv.SecretKey
	put := &srcServer{url: srv.Endpoint, c: srv.Client(t)}
	put.put(t, "topics/t/partition=0/t+0+0000000000.json", jsonLines(`{"a":1}`))
	task := srcStart(t, cfg, connecttest.NewSourceContext(t, cfg))
	recs := pollN(t, task, nil, 1)
	assert.Equal(t, map[string]any{"a": int64(1)}, recs[0].Value)
}

// TestSourceAcceptance runs the connector suite against gofakes3:
// records written as the sink's JSON files reach the topic exactly once
// across a worker restart.
func TestSourceAcceptance(t *testing.T) { srcAcceptance(t, srcFake) }

// TestSourceAcceptanceVersityGW runs the suite against a real S3 server.
func TestSourceAcceptanceVersityGW(t *testing.T) {
	srcAcceptance(t, func(t *testing.T) *srcServer {
		gw := testenv.StartS3(t)
		gw.CreateBucket(t, srcBucket)
		c := s3.New(s3.Options{
			Region: gw.Region, BaseEndpoint: aws.String(gw.Endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(gw.AccessKey, gw.SecretKey, ""),
			HTTPClient:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		})
		return &srcServer{url: gw.Endpoint, c: c, region: gw.Region, access: gw.AccessKey, secret: gw.SecretKey}
	})
}

func srcAcceptance(t *testing.T, server func(t *testing.T) *srcServer) {
	var n atomic.Int32
	connecttest.Acceptance(t, connecttest.Spec{
		Plugin: SourcePlugin,
		Config: func(t *testing.T) map[string]string {
			srv := server(t)
			cfg := srv.config(JSONFormatClass)
			cfg["topics.dir"] = "acc-" + strconv.Itoa(int(n.Add(1)))
			srcAccServers.Store(cfg["topics.dir"], srv)
			return cfg
		},
		Topic: func(config map[string]string) string { return config["topics.dir"] + "-topic" },
		ID: func(v any) (int, error) {
			m, ok := v.(map[string]any)
			if !ok {
				return 0, fmt.Errorf("%v is not an object", v)
			}
			f, ok := m["i"].(float64)
			if !ok {
				return 0, fmt.Errorf("%v has no index", v)
			}
			return int(f), nil
		},
		// Records first…first+n-1 as one file of partition 0, named by
		// its start offset.
		Produce: func(t *testing.T, config map[string]string, first, n int) {
			srv := srcAccServer(t, config)
			topic := config["topics.dir"] + "-topic"
			var ls []string
			for i := first; i < first+n; i++ {
				b, _ := json.Marshal(map[string]any{"i": i})
				ls = append(ls, string(b))
			}
			srv.put(t, fmt.Sprintf("%s/%s/partition=0/%s+0+%010d.json", config["topics.dir"], topic, topic, first), jsonLines(ls...))
		},
	})
}

// srcAccServers maps an acceptance config's topics.dir to its server.
var srcAccServers sync.Map

func srcAccServer(t *testing.T, config map[string]string) *srcServer {
	t.Helper()
	srv, ok := srcAccServers.Load(config["topics.dir"])
	require.True(t, ok, "no server for %s", config["topics.dir"])
	return srv.(*srcServer)
}
