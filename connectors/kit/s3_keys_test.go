package kit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/testenv"
	"github.com/sluicehq/sluice/runtime/connect"
)

// TestCheckBucketNamesTheKey: each way of not reaching a bucket is a
// *BucketError naming the key to fix, for a validate answer to put it on.
func TestCheckBucketNamesTheKey(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, "present")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, tc := range map[string]struct {
		set    map[string]string
		bucket string
		key    string
	}{
		"missing bucket":    {nil, "missing", "s3.bucket.name"},
		"unknown key id":    {map[string]string{"aws.access.key.id": "nobody"}, "present", "aws.access.key.id"},
		"wrong secret":      {map[string]string{"aws.secret.access.key": "wrong"}, "present", "aws.secret.access.key"},
		"wrong region":      {map[string]string{"s3.region": "eu-central-1"}, "present", "s3.region"},
		"unreachable store": {map[string]string{"store.url": testenv.ClosedEndpoint(t), "s3.part.retries": "0"}, "present", "store.url"},
	} {
		t.Run(name, func(t *testing.T) {
			props := serverProps(srv, tc.bucket)
			for k, v := range tc.set {
				if v == "" {
					delete(props, k)
				} else {
					props[k] = v
				}
			}
			c, _ := s3Client(t, props)
			err := CheckBucket(ctx, c, tc.bucket)
			var be *BucketError
			require.True(t, errors.As(err, &be), "%v", err)
			assert.Equal(t, tc.key, be.Key, "%v", err)
			assert.Contains(t, err.Error(), "("+tc.key)
		})
	}
}

// TestUnreachableAWSEndpointIsTheRegion: without store.url the endpoint is
// AWS's for s3.region, so an unreachable one is put on s3.region.
func TestUnreachableAWSEndpointIsTheRegion(t *testing.T) {
	c, _ := s3Client(t, map[string]string{"s3.bucket.name": "b", "s3.region": "nowhere-1"})
	err := bucketError(c, "b", fmt.Errorf("send: %w", &net.DNSError{Err: "no such host", Name: "s3.nowhere-1.amazonaws.com"}))
	var be *BucketError
	require.True(t, errors.As(err, &be), "%v", err)
	assert.Equal(t, "s3.region", be.Key)
	assert.Contains(t, err.Error(), "S3 endpoint unreachable")
}

// TestCheckBucketWithoutCredentials: no keys and none in the default chain
// is put on aws.access.key.id, not taken for an unreachable endpoint.
func TestCheckBucketWithoutCredentials(t *testing.T) {
	srv := testenv.StartS3(t)
	srv.CreateBucket(t, "present")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	props := serverProps(srv, "present")
	delete(props, "aws.access.key.id")
	delete(props, "aws.secret.access.key")
	c, _ := s3Client(t, props)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := CheckBucket(ctx, c, "present")
	var be *BucketError
	require.True(t, errors.As(err, &be), "%v", err)
	assert.Equal(t, "aws.access.key.id", be.Key)
	assert.Contains(t, err.Error(), "no AWS credentials")
}

// TestS3KeysErrorsNameTheKey: the settings errors of Client are
// configuration errors naming their key.
func TestS3KeysErrorsNameTheKey(t *testing.T) {
	for key, props := range map[string]map[string]string{
		"s3.bucket.name":        {"s3.bucket.name": ""},
		"aws.secret.access.key": {"s3.bucket.name": "b", "aws.access.key.id": "AK"},
		"aws.access.key.id":     {"s3.bucket.name": "b", "aws.secret.access.key": "S"},
		"store.url":             {"s3.bucket.name": "b", "store.url": "localhost:9000"},
		"s3.proxy.url":          {"s3.bucket.name": "b", "s3.proxy.url": "::"},
	} {
		cfg, err := testS3Keys.Def().Parse(props)
		require.NoError(t, err)
		_, err = testS3Keys.Client(context.Background(), cfg)
		require.ErrorIs(t, err, connect.ErrConfig)
		var ce *connect.ConfigError
		require.True(t, errors.As(err, &ce), "%v", err)
		assert.Equal(t, key, ce.Key)
		assert.Contains(t, err.Error(), "invalid configuration: ")
	}
}
