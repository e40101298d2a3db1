package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

// sentHeaders records the headers of every request as the SDK sends it
// (after signing), by operation.
type sentHeaders struct {
	mu  sync.Mutex
	ops map[string][]http.Header
}

func (h *sentHeaders) option(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("recordHeaders",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					h.mu.Lock()
					if h.ops == nil {
						h.ops = map[string][]http.Header{}
					}
					op := awsmiddleware.GetOperationName(ctx)
					hd := req.Header.Clone()
					hd.Set("X-Recorded-Length", strconv.FormatInt(req.ContentLength, 10))
					h.ops[op] = append(h.ops[op], hd)
					h.mu.Unlock()
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

// headerRun writes one small and one two-part file with cfg and returns
// the headers sent, by operation.
func headerRun(t *testing.T, set map[string]string) map[string][]http.Header {
	cfg := baseConfig(fakeS3(t))
	cfg["format.class"] = ByteArrayFormatClass
	cfg["flush.size"] = "2"
	cfg["s3.part.size"] = "5242880"
	for k, v := range set {
		cfg[k] = v
	}
	rec := &sentHeaders{}
	task := newSinkTask()
	real := task.newUploader
	task.newUploader = func(ctx context.Context, s *settings) (uploader, error) {
		up, err := real(ctx, s)
		if err != nil {
			return nil, err
		}
		su := up.(*streamUploader)
		su.c = s3.New(su.c.Options(), rec.option)
		return su, nil
	}
	require.NoError(t, task.Start(connecttest.NewSinkContext(t, cfg), cfg))
	require.NoError(t, task.Open([]connect.TopicPartition{{Topic: "raw"}}))
	big := bytes.Repeat([]byte("x"), 3<<20)
	require.NoError(t, task.Put(context.Background(), []*connect.Record{
		{Topic: "raw", Offset: 0, Value: []byte("a")}, {Topic: "raw", Offset: 1, Value: []byte("b")},
		{Topic: "raw", Offset: 2, Value: big}, {Topic: "raw", Offset: 3, Value: big},
	}))
	waitCommits(t, task)
	assert.Len(t, objects(t, cfg), 2)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.ops["PutObject"], 1)
	require.Len(t, rec.ops["CreateMultipartUpload"], 1)
	require.Len(t, rec.ops["UploadPart"], 2)
	require.Len(t, rec.ops["CompleteMultipartUpload"], 1)
	// The parts in number order: the first is the full one.
	parts := rec.ops["UploadPart"]
	sort.Slice(parts, func(i, j int) bool {
		a, _ := strconv.Atoi(parts[i].Get("X-Recorded-Length"))
		b, _ := strconv.Atoi(parts[j].Get("X-Recorded-Length"))
		return a > b
	})
	require.Equal(t, "5242880", parts[0].Get("X-Recorded-Length"))
	return rec.ops
}

// TestRequestHeaders: the encryption, ACL, digest and 100-continue keys
// put their headers on the requests that take them, as S3 documents.
func TestRequestHeaders(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		ops := headerRun(t, nil)
		for _, op := range []string{"PutObject", "CreateMultipartUpload"} {
			assert.Empty(t, ops[op][0].Get("X-Amz-Server-Side-Encryption"), op)
			assert.Empty(t, ops[op][0].Get("X-Amz-Acl"), op)
		}
		for _, h := range ops["UploadPart"] {
			assert.Empty(t, h.Get("Content-Md5"))
		}
		// Parts over 2 MB wait for 100 Continue (s3.http.send.expect.continue=true).
		assert.Equal(t, "100-continue", ops["UploadPart"][0].Get("Expect"))
		// Names are deterministic without scheduled rotation: no
		// conditional write.
		assert.Empty(t, ops["PutObject"][0].Get("If-None-Match"))
		assert.Empty(t, ops["CompleteMultipartUpload"][0].Get("If-None-Match"))
	})
	t.Run("sse-s3, acl, digest, no expect", func(t *testing.T) {
		ops := headerRun(t, map[string]string{"s3.ssea.name": "AES256", "s3.acl.canned": "bucket-owner-full-control",
			"s3.send.digest": "true", "s3.http.send.expect.continue": "false"})
		for _, op := range []string{"PutObject", "CreateMultipartUpload"} {
			assert.Equal(t, "AES256", ops[op][0].Get("X-Amz-Server-Side-Encryption"), op)
			assert.Equal(t, "bucket-owner-full-control", ops[op][0].Get("X-Amz-Acl"), op)
		}
		big := bytes.Repeat([]byte("x"), 3<<20)
		file := slices.Concat(big, []byte("\n"), big, []byte("\n"))
		for i, part := range [][]byte{file[:5<<20], file[5<<20:]} {
			sum := md5.Sum(part)
			assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), ops["UploadPart"][i].Get("Content-Md5"), "part %d", i+1)
		}
		sum := md5.Sum([]byte("a\nb\n"))
		assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), ops["PutObject"][0].Get("Content-Md5"))
		assert.Empty(t, ops["UploadPart"][0].Get("Expect"))
	})
	t.Run("kms", func(t *testing.T) {
		ops := headerRun(t, map[string]string{"s3.ssea.name": "aws:kms", "s3.sse.kms.key.id": "arn:aws:kms:us-east-1:1:key/k"})
		for _, op := range []string{"PutObject", "CreateMultipartUpload"} {
			assert.Equal(t, "aws:kms", ops[op][0].Get("X-Amz-Server-Side-Encryption"), op)
			assert.Equal(t, "arn:aws:kms:us-east-1:1:key/k", ops[op][0].Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"), op)
		}
	})
	t.Run("sse-c", func(t *testing.T) {
		key := bytes.Repeat([]byte{7}, 32)
		b64 := base64.StdEncoding.EncodeToString(key)
		sum := md5.Sum(key)
		ops := headerRun(t, map[string]string{"s3.ssea.name": "AES256", "s3.sse.customer.key": b64})
		// SSE-C goes on every request that writes data, and not as SSE-S3.
		for _, op := range []string{"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"} {
			h := ops[op][0]
			assert.Equal(t, "AES256", h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm"), op)
			assert.Equal(t, b64, h.Get("X-Amz-Server-Side-Encryption-Customer-Key"), op)
			assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), h.Get("X-Amz-Server-Side-Encryption-Customer-Key-Md5"), op)
			assert.Empty(t, h.Get("X-Amz-Server-Side-Encryption"), op)
		}
	})
}
