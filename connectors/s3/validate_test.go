package s3

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// validate runs the connector's /config/validate checks on cfg, as the
// worker does: the declared keys first, then the connector's.
func validate(ctx context.Context, cfg map[string]string) []connect.ConfigValue {
	return (&sinkConnector{}).Validate(ctx, cfg, Plugin.Config.Validate(cfg))
}

// problems returns the errors of the results, by key.
func problems(results []connect.ConfigValue) map[string]string {
	out := map[string]string{}
	for _, r := range results {
		if len(r.Errors) > 0 {
			out[r.Name] = strings.Join(r.Errors, "; ")
		}
	}
	return out
}

// TestValidateReachesTheBucket: /config/validate reaches the bucket and
// puts each way of failing on the key that fixes it, saying what is
// wrong, against a real S3 server.
func TestValidateReachesTheBucket(t *testing.T) {
	good, _ := versityConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	assert.Empty(t, problems(validate(ctx, good)))

	for name, tc := range map[string]struct {
		set      map[string]string
		key      string
		contains string
	}{
		"missing bucket": {map[string]string{"s3.bucket.name": "nope"}, "s3.bucket.name", `S3 bucket "nope" does not exist`},
		"unknown key id": {map[string]string{"aws.access.key.id": "nobody"}, "aws.access.key.id", "access key id is unknown"},
		"wrong secret":   {map[string]string{"aws.secret.access.key": "wrong"}, "aws.secret.access.key", "secret access key does not match"},
		"wrong region":   {map[string]string{"s3.region": "eu-central-1"}, "s3.region", "is not in region eu-central-1"},
		"unreachable":    {map[string]string{"store.url": testenv.ClosedEndpoint(t), "s3.part.retries": "0"}, "store.url", "S3 endpoint unreachable"},
		"secret alone":   {map[string]string{"aws.access.key.id": ""}, "aws.access.key.id", "go together"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := clone(good)
			for k, v := range tc.set {
				if v == "" {
					delete(cfg, k)
				} else {
					cfg[k] = v
				}
			}
			got := problems(validate(ctx, cfg))
			require.Len(t, got, 1, "%v", got)
			assert.Contains(t, got[tc.key], tc.contains)
			t.Logf("%s: %s", tc.key, got[tc.key])
		})
	}
}

// TestValidateWithoutCredentials: with no keys in the config and none in
// the default chain, the answer says where credentials come from.
func TestValidateWithoutCredentials(t *testing.T) {
	cfg, _ := versityConfig(t)
	delete(cfg, "aws.access.key.id")
	delete(cfg, "aws.secret.access.key")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := problems(validate(ctx, cfg))
	require.Len(t, got, 1, "%v", got)
	assert.Contains(t, got["aws.access.key.id"], "no AWS credentials")
}

// TestValidateIsBounded: an endpoint that accepts connections and never
// answers gives an answer on store.url when the caller's time is up.
func TestValidateIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, unanswered, until the test ends
		}
	}()
	cfg := baseConfig("http://" + l.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	began := time.Now()
	got := problems(validate(ctx, cfg))
	assert.Less(t, time.Since(began), 10*time.Second)
	require.Len(t, got, 1, "%v", got)
	assert.Contains(t, got["store.url"], "did not answer in time")
}

// TestValidateKeepsKeyErrors: a connection key already wrong on its own
// is not checked against the store.
func TestValidateKeepsKeyErrors(t *testing.T) {
	cfg := baseConfig("http://127.0.0.1:1")
	cfg["s3.part.retries"] = "-1"
	got := problems(validate(context.Background(), cfg))
	require.Len(t, got, 1, "%v", got)
	assert.Contains(t, got["s3.part.retries"], "s3.part.retries")
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
