package s3

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// uploader starts the objects files are written to.
type uploader interface {
	// open starts the object key; nothing exists in the bucket until the
	// stream commits.
	open(ctx context.Context, key string) (objectStream, error)
}

// objectStream receives the bytes of one object as its file is written.
type objectStream interface {
	// Write takes the next bytes of the object. An error means the stream
	// is broken: it can only be aborted.
	Write(p []byte) (int, error)
	// commit makes the object exist with every byte written. After an
	// error it may be called again.
	commit(ctx context.Context) error
	// abort drops the object: what was written is released and nothing is
	// left in the bucket. It is safe after commit and more than once.
	abort()
	// size is the number of bytes written so far.
	size() int64
}

// managerUploader buffers each object in memory and uploads it on commit
// with the SDK's transfer manager (the successor of its upload manager):
// one PutObject for a file smaller than s3.part.size, a multipart upload
// of s3.part.size parts otherwise, which the manager aborts when a part
// fails.
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

func (m *managerUploader) open(_ context.Context, key string) (objectStream, error) {
	return &bufferedObject{m: m, key: key}, nil
}

// bufferedObject is an object held in memory until it commits.
type bufferedObject struct {
	m    *managerUploader
	key  string
	data bytes.Buffer
}

func (b *bufferedObject) Write(p []byte) (int, error) { return b.data.Write(p) }
func (b *bufferedObject) size() int64                 { return int64(b.data.Len()) }
func (b *bufferedObject) abort()                      { b.data = bytes.Buffer{} }

func (b *bufferedObject) commit(ctx context.Context) error {
	_, err := b.m.tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: aws.String(b.m.bucket), Key: aws.String(b.key), Body: bytes.NewReader(b.data.Bytes()),
	})
	if err != nil {
		return fmt.Errorf("upload s3://%s/%s (%d bytes): %w", b.m.bucket, b.key, b.data.Len(), err)
	}
	return nil
}
