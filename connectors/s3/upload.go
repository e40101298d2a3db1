package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// uploader starts the objects files are written to.
type uploader interface {
	// open starts the object key; nothing exists in the bucket until the
	// stream commits.
	open(ctx context.Context, key string) (objectStream, error)
}

// objectStream receives the bytes of one object as its file is written.
type objectStream interface {
	// Write takes the next bytes of the object. An error (an *uploadError)
	// means the stream is broken: it can only be aborted.
	Write(p []byte) (int, error)
	// commit makes the object exist with every byte written. After an
	// error the stream can only be aborted; a *fileExistsError means a
	// conditional write found the name taken.
	commit(ctx context.Context) error
	// abort drops the object: what was written is released and nothing is
	// left in the bucket. It is safe after commit and more than once.
	abort()
	// size is the number of bytes written so far.
	size() int64
}

// uploadError is a failed request of an object's upload: the partition's
// files are dropped and its records read again (see sinkTask.fail).
type uploadError struct {
	bucket, key string
	err         error
}

func (e *uploadError) Error() string {
	return "upload s3://" + e.bucket + "/" + e.key + ": " + e.err.Error()
}
func (e *uploadError) Unwrap() error { return e.err }

// fileExistsError is a conditional write (If-None-Match: *) that found an
// object of the same name: Confluent's FileExistsException.
type fileExistsError struct{ bucket, key string }

func (e *fileExistsError) Error() string {
	return "s3://" + e.bucket + "/" + e.key + " already exists (enable.conditional.writes)"
}

// Bounds of the parts in flight: per stream, so that a Write seldom waits
// for the network, and per task, so that memory stays near s3.part.size ×
// open files.
const (
	partsInFlightPerStream = 4
	partsInFlightPerTask   = 4
	abortTimeout           = 10 * time.Second
)

// streamUploader streams each object to S3 as its file is written, as
// Confluent's S3OutputStream does: bytes gather in a buffer of
// s3.part.size; when it fills, a multipart upload starts and the part is
// uploaded in the background while the next one fills. An object smaller
// than a part is one PutObject at commit.
type streamUploader struct {
	c      *s3.Client
	bucket string
	part   int
	u      uploadSettings
	// slots bounds the parts in flight across the task's streams.
	slots chan struct{}
	// free holds part buffers back from upload, for reuse.
	free chan []byte
}

func newStreamUploader(c *s3.Client, s *settings) *streamUploader {
	return &streamUploader{
		c: c, bucket: s.bucket, part: int(s.partSize), u: s.uploadSettings,
		slots: make(chan struct{}, partsInFlightPerTask),
		free:  make(chan []byte, partsInFlightPerTask),
	}
}

func (u *streamUploader) open(_ context.Context, key string) (objectStream, error) {
	return &streamObject{u: u, key: key, perStream: make(chan struct{}, partsInFlightPerStream)}, nil
}

// buffer returns an empty buffer for the first bytes of a part: a reused
// full-size one, or with the elastic buffer a small one that grows.
func (u *streamUploader) buffer() []byte {
	select {
	case b := <-u.free:
		return b[:0]
	default:
	}
	if u.u.elastic {
		return make([]byte, 0, min(u.u.elasticInit, u.part))
	}
	return make([]byte, 0, u.part)
}

// release keeps a full-size buffer for reuse.
func (u *streamUploader) release(b []byte) {
	if cap(b) < u.part {
		return
	}
	select {
	case u.free <- b:
	default:
	}
}

// exists reports whether key is in the bucket.
func (u *streamUploader) exists(ctx context.Context, key string) (bool, error) {
	_, err := u.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &u.bucket, Key: &key})
	if err == nil {
		return true, nil
	}
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return false, nil
	}
	return false, &uploadError{u.bucket, key, fmt.Errorf("check whether the object exists: %w", err)}
}

// tag sets the tags of key.
func (u *streamUploader) tag(ctx context.Context, key string, tags [][2]string) error {
	set := make([]types.Tag, 0, len(tags))
	for _, t := range tags {
		set = append(set, types.Tag{Key: aws.String(t[0]), Value: aws.String(t[1])})
	}
	_, err := u.c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &u.bucket, Key: &key, Tagging: &types.Tagging{TagSet: set}})
	if err != nil {
		return fmt.Errorf("tag s3://%s/%s: %w", u.bucket, key, err)
	}
	return nil
}

// streamObject is one object being streamed. Write, commit and abort are
// called by one goroutine (the task's); part uploads run in goroutines
// the stream waits for in commit and abort.
type streamObject struct {
	u         *streamUploader
	key       string
	buf       []byte // the part being filled
	written   int64
	uploadID  string // "" until the first part is full
	nextPart  int32
	perStream chan struct{}
	wg        sync.WaitGroup
	cancel    context.CancelFunc // of the part uploads
	partCtx   context.Context
	done      bool // committed or aborted

	mu    sync.Mutex // guards parts and err, set by part uploads
	parts []types.CompletedPart
	err   error
}

func (o *streamObject) size() int64 { return o.written }

func (o *streamObject) failed() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

func (o *streamObject) setErr(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		o.err = err
	}
}

func (o *streamObject) Write(p []byte) (int, error) {
	if err := o.failed(); err != nil {
		return 0, err
	}
	if o.done {
		return 0, &uploadError{o.u.bucket, o.key, errors.New("write after commit or abort")}
	}
	n := 0
	for len(p) > 0 {
		if o.buf == nil {
			o.buf = o.u.buffer()
		}
		k := min(o.u.part-len(o.buf), len(p))
		o.grow(k)
		o.buf = append(o.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(o.buf) == o.u.part {
			if err := o.sendPart(); err != nil {
				o.written += int64(n)
				return n, err
			}
		}
	}
	o.written += int64(n)
	return n, nil
}

// grow makes room for k more bytes, doubling an elastic buffer up to the
// part size.
func (o *streamObject) grow(k int) {
	need := len(o.buf) + k
	if need <= cap(o.buf) {
		return
	}
	c := max(cap(o.buf)*2, need)
	nb := make([]byte, len(o.buf), min(c, o.u.part))
	copy(nb, o.buf)
	o.buf = nb
}

// sendPart starts the upload of the full buffer as the next part,
// starting the multipart upload first when this is the first part. It
// waits while the stream or the task has its most parts in flight.
func (o *streamObject) sendPart() error {
	if o.uploadID == "" {
		if err := o.create(); err != nil {
			return err
		}
	}
	o.perStream <- struct{}{}
	o.u.slots <- struct{}{}
	o.nextPart++
	num, body := o.nextPart, o.buf
	o.buf = nil
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer func() { <-o.u.slots; <-o.perStream }()
		defer o.u.release(body)
		if err := o.uploadPart(num, body); err != nil {
			o.setErr(err)
		}
	}()
	return o.failed()
}

func (o *streamObject) create() error {
	o.partCtx, o.cancel = context.WithCancel(context.Background())
	in := &s3.CreateMultipartUploadInput{Bucket: &o.u.bucket, Key: &o.key}
	o.u.applyCreate(in)
	out, err := o.u.c.CreateMultipartUpload(o.partCtx, in)
	if err != nil {
		err = &uploadError{o.u.bucket, o.key, fmt.Errorf("start multipart upload: %w", err)}
		o.setErr(err)
		return err
	}
	o.uploadID = aws.ToString(out.UploadId)
	return nil
}

func (o *streamObject) uploadPart(num int32, body []byte) error {
	in := &s3.UploadPartInput{
		Bucket: &o.u.bucket, Key: &o.key, UploadId: &o.uploadID, PartNumber: aws.Int32(num),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	}
	if o.u.u.digest {
		in.ContentMD5 = aws.String(contentMD5(body))
	}
	if o.u.u.sseCKey != "" {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), &o.u.u.sseCKey, &o.u.u.sseCKeyMD5
	}
	out, err := o.u.c.UploadPart(o.partCtx, in)
	if err != nil {
		return &uploadError{o.u.bucket, o.key, fmt.Errorf("part %d (%d bytes): %w", num, len(body), err)}
	}
	o.mu.Lock()
	o.parts = append(o.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
	o.mu.Unlock()
	return nil
}

func (o *streamObject) commit(ctx context.Context) error {
	if o.done {
		return nil
	}
	if err := o.failed(); err != nil {
		return err
	}
	if o.uploadID == "" {
		err := o.put(ctx)
		if err == nil {
			o.done = true
			o.u.release(o.buf)
			o.buf = nil
		}
		return err
	}
	if len(o.buf) > 0 {
		if err := o.sendPart(); err != nil {
			return err
		}
	}
	if err := o.wait(ctx); err != nil {
		return err
	}
	o.mu.Lock()
	parts := o.parts
	o.mu.Unlock()
	sort.Slice(parts, func(i, j int) bool { return *parts[i].PartNumber < *parts[j].PartNumber })
	in := &s3.CompleteMultipartUploadInput{Bucket: &o.u.bucket, Key: &o.key, UploadId: &o.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
	if o.u.u.conditional {
		in.IfNoneMatch = aws.String("*")
	}
	if o.u.u.sseCKey != "" {
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), &o.u.u.sseCKey, &o.u.u.sseCKeyMD5
	}
	_, err := o.u.c.CompleteMultipartUpload(ctx, in)
	if err != nil {
		return o.commitError(ctx, fmt.Errorf("complete multipart upload of %d parts: %w", len(parts), err))
	}
	o.done = true
	o.cancel()
	return nil
}

// wait waits for the parts in flight, or ctx.
func (o *streamObject) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
		return o.failed()
	case <-ctx.Done():
		return &uploadError{o.u.bucket, o.key, fmt.Errorf("wait for the parts: %w", ctx.Err())}
	}
}

// put uploads an object smaller than a part in one request.
func (o *streamObject) put(ctx context.Context) error {
	in := &s3.PutObjectInput{Bucket: &o.u.bucket, Key: &o.key, Body: bytes.NewReader(o.buf), ContentLength: aws.Int64(int64(len(o.buf)))}
	if o.u.u.conditional {
		in.IfNoneMatch = aws.String("*")
	}
	if o.u.u.digest {
		in.ContentMD5 = aws.String(contentMD5(o.buf))
	}
	o.u.applyPut(in)
	if _, err := o.u.c.PutObject(ctx, in); err != nil {
		return o.commitError(ctx, fmt.Errorf("put %d bytes: %w", len(o.buf), err))
	}
	return nil
}

// commitError words a failed commit; a precondition failure of a
// conditional write is a *fileExistsError once the object is seen, as
// Confluent checks that it exists before skipping it.
func (o *streamObject) commitError(ctx context.Context, err error) error {
	var api smithy.APIError
	if o.u.u.conditional && errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "412") {
		if ok, herr := o.u.exists(ctx, o.key); herr == nil && ok {
			return &fileExistsError{o.u.bucket, o.key}
		}
	}
	return &uploadError{o.u.bucket, o.key, err}
}

// abort stops the part uploads and aborts the multipart upload, best
// effort and bounded in time: an upload left behind is aborted when the
// partition is opened again, or by the bucket's lifecycle rule.
func (o *streamObject) abort() {
	if o.done {
		return
	}
	o.done = true
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
	o.u.release(o.buf)
	o.buf = nil
	if o.uploadID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	_, _ = o.u.c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &o.u.bucket, Key: &o.key, UploadId: &o.uploadID})
}

// applyCreate and applyPut set the encryption and ACL of a new object.
func (u *streamUploader) applyCreate(in *s3.CreateMultipartUploadInput) {
	in.ACL = u.u.acl
	switch {
	case u.u.sseCKey != "":
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), &u.u.sseCKey, &u.u.sseCKeyMD5
	case u.u.sse != "":
		in.ServerSideEncryption = u.u.sse
		if u.u.kmsKeyID != "" {
			in.SSEKMSKeyId = &u.u.kmsKeyID
		}
	}
}

func (u *streamUploader) applyPut(in *s3.PutObjectInput) {
	in.ACL = u.u.acl
	switch {
	case u.u.sseCKey != "":
		in.SSECustomerAlgorithm, in.SSECustomerKey, in.SSECustomerKeyMD5 = aws.String("AES256"), &u.u.sseCKey, &u.u.sseCKeyMD5
	case u.u.sse != "":
		in.ServerSideEncryption = u.u.sse
		if u.u.kmsKeyID != "" {
			in.SSEKMSKeyId = &u.u.kmsKeyID
		}
	}
}

func contentMD5(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
