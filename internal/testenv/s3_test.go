package testenv

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

// TestStartS3 puts objects and a multipart upload through a real
// versitygw and reads them back with the helpers.
func TestStartS3(t *testing.T) {
	s := StartS3(t)
	s.CreateBucket(t, "sluice-bucket")
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range []string{"topics/a/1.json", "topics/a/0.json", "other/x"} {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sluice-bucket"), Key: aws.String(k),
			Body: bytes.NewReader([]byte("body of " + k))})
		require.NoError(t, err)
	}
	require.Equal(t, []string{"topics/a/0.json", "topics/a/1.json"}, s.List(t, "sluice-bucket", "topics/"))
	require.Equal(t, "body of other/x", string(s.Get(t, "sluice-bucket", "other/x")))

	require.Empty(t, s.ListMultipartUploads(t, "sluice-bucket"))
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sluice-bucket"), Key: aws.String("big")})
	require.NoError(t, err)
	ups := s.ListMultipartUploads(t, "sluice-bucket")
	require.Len(t, ups, 1)
	require.Equal(t, "big", aws.ToString(ups[0].Key))
	require.Equal(t, aws.ToString(up.UploadId), aws.ToString(ups[0].UploadId))
}

// TestS3InstancesAreIndependent checks that two servers keep apart.
func TestS3InstancesAreIndependent(t *testing.T) {
	a, b := StartS3(t), StartS3(t)
	require.NotEqual(t, a.Endpoint, b.Endpoint)
	a.CreateBucket(t, "only-in-a")
	b.CreateBucket(t, "only-in-b")
	out, err := b.Client(t).ListBuckets(context.Background(), &s3.ListBucketsInput{})
	require.NoError(t, err)
	require.Len(t, out.Buckets, 1)
	require.Equal(t, "only-in-b", aws.ToString(out.Buckets[0].Name))
}
