package s3

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// uploader writes one finished object.
type uploader interface {
	upload(ctx context.Context, key string, data []byte) error
}

// managerUploader uploads with the SDK's transfer manager (the successor
// of its upload manager): one PutObject for a file smaller than
// s3.part.size, a multipart upload of s3.part.size parts otherwise, which
// the manager aborts when a part fails.
type managerUploader struct {
	bucket string
	tm     *transfermanager.Client
}

func newManagerUploader(c *s3.Client, s *settings) *managerUploader {
	return &managerUploader{bucket: s.bucket, tm: transfermanager.New(c, func(o *transfermanager.Options) {
		o.PartSizeBytes = s.partSize
		o.MultipartUploadThreshold = s.partSize
	})}
}

func (m *managerUploader) upload(ctx context.Context, key string, data []byte) error {
	_, err := m.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(m.bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s (%d bytes): %w", m.bucket, key, len(data), err)
	}
	return nil
}
