package kit

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

var testS3Keys = ConfluentS3Keys("S3")

// s3Client parses props with the shared S3 keys and builds the client.
func s3Client(t *testing.T, props map[string]string) (*s3.Client, connect.Config) {
	t.Helper()
	cfg, err := testS3Keys.Def().Parse(props)
	require.NoError(t, err)
	c, err := testS3Keys.Client(context.Background(), cfg)
	require.NoError(t, err)
	return c, cfg
}

// serverProps are the properties that reach srv's bucket.
func serverProps(srv *testenv.S3, bucket string) map[string]string {
	return map[string]string{
		"s3.bucket.name": bucket, "s3.region": srv.Region, "store.url": srv.Endpoint,
		"aws.access.key.id": srv.AccessKey, "aws.secret.access.key": srv.SecretKey,
	}
}

func TestS3KeysDefaults(t *testing.T) {
	_, err := testS3Keys.Def().Parse(map[string]string{})
	require.ErrorContains(t, err, "s3.bucket.name")
	c, cfg := s3Client(t, map[string]string{"s3.bucket.name": "b"})
	require.Equal(t, "us-west-2", c.Options().Region)
	require.True(t, c.Options().UsePathStyle)
	require.Nil(t, c.Options().BaseEndpoint)
	require.Equal(t, 4, c.Options().Retryer.MaxAttempts())
	require.Equal(t, 200*time.Millisecond, testS3Keys.RetryBackoff.Get(cfg))

	c, _ = s3Client(t, map[string]string{"s3.bucket.name": "b", "s3.path.style.access.enabled": "false",
		"s3.part.retries": "0", "store.url": "https://s3.example.test", "s3.region": "eu-west-1"})
	require.False(t, c.Options().UsePathStyle)
	require.Equal(t, 1, c.Options().Retryer.MaxAttempts())
	require.Equal(t, "https://s3.example.test", aws.ToString(c.Options().BaseEndpoint))
	require.Equal(t, "eu-west-1", c.Options().Region)
}

// s3.wan.mode turns on Transfer Acceleration; the AWS SDKs' default
// credential chains are accepted as the Go SDK's, other classes refused.
func TestS3KeysWanModeAndCredentialsProvider(t *testing.T) {
	c, cfg := s3Client(t, map[string]string{"s3.bucket.name": "b"})
	require.False(t, c.Options().UseAccelerate)
	require.Equal(t, "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider", testS3Keys.CredentialsProvider.Get(cfg))
	c, _ = s3Client(t, map[string]string{"s3.bucket.name": "b", "s3.wan.mode": "true",
		"s3.credentials.provider.class": "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"})
	require.True(t, c.Options().UseAccelerate)

	cfg, err := testS3Keys.Def().Parse(map[string]string{"s3.bucket.name": "b", "s3.wan.mode": "true", "store.url": "http://127.0.0.1:9000"})
	require.NoError(t, err)
	_, err = testS3Keys.Client(context.Background(), cfg)
	require.ErrorContains(t, err, "s3.wan.mode=true uses AWS's accelerate endpoint and cannot go with store.url")
	var ce *connect.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "s3.wan.mode", ce.Key)

	_, err = testS3Keys.Def().Parse(map[string]string{"s3.bucket.name": "b",
		"s3.credentials.provider.class": "com.amazonaws.auth.profile.ProfileCredentialsProvider"})
	require.ErrorContains(t, err, "s3.credentials.provider.class")
}

func TestS3KeysErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		props map[string]string
		want  string
	}{
		"key id without secret": {map[string]string{"aws.access.key.id": "AK"}, "aws.secret.access.key"},
		"secret without key id": {map[string]string{"aws.secret.access.key": "S"}, "aws.access.key.id"},
		"endpoint not a URL":    {map[string]string{"store.url": "localhost:9000"}, "store.url"},
		"empty bucket":          {map[string]string{"s3.bucket.name": ""}, "s3.bucket.name is empty"},
		"proxy not a URL":       {map[string]string{"s3.proxy.url": "::"}, "s3.proxy.url"},
	} {
		t.Run(name, func(t *testing.T) {
			props := map[string]string{"s3.bucket.name": "b"}
			if _, ok := tc.props["s3.bucket.name"]; ok {
				props = map[string]string{}
			}
			for k, v := range tc.props {
				props[k] = v
			}
			cfg, err := testS3Keys.Def().Parse(props)
			require.NoError(t, err)
			_, err = testS3Keys.Client(context.Background(), cfg)
			require.ErrorIs(t, err, connect.ErrConfig)
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := testS3Keys.Def().Parse(map[string]string{"s3.bucket.name": "b", "s3.part.retries": "-1"})
	require.ErrorContains(t, err, "s3.part.retries")
}

func TestS3Backoff(t *testing.T) {
	require.Equal(t, 200*time.Millisecond, s3Backoff(200*time.Millisecond, 1))
	require.Equal(t, 800*time.Millisecond, s3Backoff(200*time.Millisecond, 3))
	require.Equal(t, time.Minute, s3Backoff(200*time.Millisecond, 40))
	require.Equal(t, time.Duration(0), s3Backoff(0, 5))
}

// TestCheckBucket checks each way of not reaching a bucket against a real
// versitygw, and that the error names the cause and the key to fix.
func TestCheckBucket(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, "present")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, _ := s3Client(t, serverProps(srv, "present"))
	require.NoError(t, CheckBucket(ctx, c, "present"))

	err := CheckBucket(ctx, c, "missing")
	require.ErrorContains(t, err, `S3 bucket "missing" does not exist (s3.bucket.name)`)

	props := serverProps(srv, "present")
	props["aws.access.key.id"] = "nobody"
	c, _ = s3Client(t, props)
	err = CheckBucket(ctx, c, "present")
	require.ErrorContains(t, err, "access key id is unknown")
	require.ErrorContains(t, err, "aws.access.key.id")

	props = serverProps(srv, "present")
	props["aws.secret.access.key"] = "wrong-secret"
	c, _ = s3Client(t, props)
	err = CheckBucket(ctx, c, "present")
	require.ErrorContains(t, err, "secret access key does not match")
	require.ErrorContains(t, err, "aws.secret.access.key")

	props = serverProps(srv, "present")
	props["store.url"] = testenv.ClosedEndpoint(t)
	props["s3.part.retries"] = "0"
	c, _ = s3Client(t, props)
	err = CheckBucket(ctx, c, "present")
	require.ErrorContains(t, err, "S3 endpoint unreachable")
	require.ErrorContains(t, err, "store.url")

	props = serverProps(srv, "present")
	props["s3.region"] = "eu-central-1"
	c, _ = s3Client(t, props)
	// versitygw refuses a signature for another region with
	// AuthorizationHeaderMalformed, as AWS does.
	err = CheckBucket(ctx, c, "present")
	require.ErrorContains(t, err, `S3 bucket "present" is not in region eu-central-1 (s3.region)`)
}

// TestS3ProxyURL checks that requests go through s3.proxy.url with the
// proxy's user and password.
func TestS3ProxyURL(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" "+r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
	}))
	defer proxy.Close()
	c, _ := s3Client(t, map[string]string{"s3.bucket.name": "b", "store.url": "http://s3.example.test",
		"aws.access.key.id": "AK", "aws.secret.access.key": "SK", "s3.part.retries": "0",
		"s3.proxy.url": proxy.URL, "s3.proxy.user": "pu", "s3.proxy.password": "pp"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Error(t, CheckBucket(ctx, c, "b"))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen)
	require.Equal(t, "http://s3.example.test/b "+"Basic "+base64.StdEncoding.EncodeToString([]byte("pu:pp")), seen[0])
}

// TestS3DefaultCredentialChain checks that without aws.access.key.id the
// SDK's default chain supplies the credentials (here the environment).
func TestS3DefaultCredentialChain(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, "present")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	props := serverProps(srv, "present")
	delete(props, "aws.access.key.id")
	delete(props, "aws.secret.access.key")
	c, _ := s3Client(t, props)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, CheckBucket(ctx, c, "present"))

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	c, _ = s3Client(t, props)
	require.ErrorContains(t, CheckBucket(ctx, c, "present"), "secret access key does not match")
}
